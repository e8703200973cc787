#include "engine/cube.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "base/strings.h"
#include "model/model_json.h"
#include "query/random_model_testutil.h"

namespace quantatom {
namespace {

using testing_util::Describe;
using testing_util::RandomApp;
using testing_util::SameValue;

std::vector<int> RawCoordinate(const RandomApp& app, const Coordinate& coord) {
  std::vector<int> raw;
  for (size_t d = 0; d < coord.size(); ++d) {
    const std::string& code = app.model.dimensions[d].member(coord[d]).code;
    raw.push_back(std::stoi(code.substr(code.find('m') + 1)));
  }
  return raw;
}

// Every member of every dimension on the axes: rows = first dimension, the rest as slicers
// taken at random, so that reads exercise leaves and totals of all levels.
GridQuery QueryAll(const RandomApp& app, std::mt19937_64& rng) {
  GridQuery q;
  std::vector<MemberId> all;
  for (MemberId m = 0; m < app.model.dimensions[0].member_count(); ++m) all.push_back(m);
  q.rows = CrossJoin({0}, {all});
  if (app.model.dimensions.size() > 1) {
    std::vector<MemberId> all1;
    for (MemberId m = 0; m < app.model.dimensions[1].member_count(); ++m) all1.push_back(m);
    q.cols = CrossJoin({1}, {all1});
  } else {
    q.cols.tuples = {{}};
  }
  for (size_t d = 2; d < app.model.dimensions.size(); ++d)
    q.slicers.emplace_back(static_cast<int>(d), static_cast<MemberId>(rng() % app.model.dimensions[d].member_count()));
  return q;
}

void ExpectQueryMatches(const RandomApp& app, const Cube& cube, const GridQuery& q, bool use_cache) {
  Cube::ReadOptions ro;
  ro.use_cache = use_cache;
  auto g = cube.Query(q, ro);
  ASSERT_TRUE(g.ok()) << g.status();
  ResolvedGrid rg = *ResolveGrid(app.model, q);
  for (size_t r = 0; r < g->rows; ++r)
    for (size_t c = 0; c < g->cols; ++c) {
      Coordinate coord = rg.CellCoordinate(q, r, c);
      CellValue expected = app.Evaluate(RawCoordinate(app, coord));
      ASSERT_TRUE(SameValue(g->at(r, c), expected))
          << (use_cache ? "cached " : "uncached ") << app.model.FormatCoordinate(coord) << ": got "
          << Describe(g->at(r, c)) << ", expected " << Describe(expected);
    }
}

// Random write batches (numbers, text, clears) interleaved with cached and uncached reads: the
// cache must never serve a stale total.
TEST(CubeTest, ReadsAfterRandomWritesMatchBruteForceWithAndWithoutCache) {
  std::mt19937_64 rng(424242);
  for (int model = 0; model < 60; ++model) {
    RandomApp app = testing_util::MakeRandomApp(rng);
    auto cube = *Cube::Create(app.model);
    std::vector<GridQuery> queries;
    for (int i = 0; i < 3; ++i) queries.push_back(QueryAll(app, rng));
    for (int step = 0; step < 25; ++step) {
      std::vector<CellWrite> batch;
      int n = step % 7 == 6 ? 300 : 1 + static_cast<int>(rng() % 4);  // some batches take the bulk path
      for (int i = 0; i < n; ++i) {
        auto c = testing_util::RandomLeafCoordinate(app, rng);
        int kind = static_cast<int>(rng() % 10);
        CellValue v = kind < 6   ? CellValue::Number(static_cast<double>(static_cast<int>(rng() % 200) - 100))
                      : kind < 9 ? CellValue::Empty()
                                 : CellValue::Text("t");
        batch.push_back({testing_util::ToCoordinate(app, c), v});
      }
      ASSERT_TRUE(cube->Write(batch).ok());
      for (auto& w : batch) {  // later writes to the same cell win, as in the cube
        auto raw = RawCoordinate(app, w.coord);
        if (w.value.is_empty()) app.cells.erase(raw);
        else app.cells[raw] = w.value;
      }
      const GridQuery& q = queries[rng() % queries.size()];
      SCOPED_TRACE("model " + std::to_string(model) + " step " + std::to_string(step));
      ExpectQueryMatches(app, *cube, q, /*use_cache=*/true);
      ExpectQueryMatches(app, *cube, q, /*use_cache=*/false);
      if (HasFatalFailure()) return;
    }
  }
}

// Large batches of numbers and clears of distinct cells go into the store in one sorted pass
// (Cube::ApplySortedBatchLocked), others cell by cell. Either way: the cells, the root total,
// the recorded change list (in batch order, with each cell's value before) and the undo match
// a plain map kept beside, for a batch of 80,000 writes over cells that hold numbers, text or
// nothing, and for one that writes a cell twice (the per-cell path).
TEST(CubeTest, LargeBatchesMatchAMapCellByCellAndUndo) {
  const int na = 400, nb = 300;
  std::string json = R"({"app": "big", "dimensions": [{"name": "a", "members": [{"code": "A"})";
  for (int i = 0; i < na; ++i) json += StrCat(R"(, {"code": "a)", i, R"(", "parent": "A"})");
  json += R"(]}, {"name": "b", "members": [{"code": "B"})";
  for (int i = 0; i < nb; ++i) json += StrCat(R"(, {"code": "b)", i, R"(", "parent": "B"})");
  json += "]}]}";
  auto file = ParseModelJson("big.json", json);
  ASSERT_TRUE(file.ok()) << file.status();
  auto created = Cube::Create(std::move(file->model));
  ASSERT_TRUE(created.ok());
  Cube& cube = **created;
  auto leaf = [&](int i) { return Coordinate{static_cast<MemberId>(i / nb + 1), static_cast<MemberId>(i % nb + 1)}; };
  std::map<int, CellValue> ref;  // leaf index -> value (absent: empty)
  auto check = [&](const std::string& when) {
    double total = 0;
    for (int i = 0; i < na * nb; ++i) {
      auto it = ref.find(i);
      const CellValue want = it == ref.end() ? CellValue::Empty() : it->second;
      const CellValue got = *cube.ReadCell(leaf(i));
      ASSERT_EQ(got, want) << when << ": cell " << i;
      if (want.is_number()) total += want.number;
    }
    EXPECT_NEAR(cube.ReadCell(Coordinate{0, 0})->number, total, 1e-6 * (1 + std::abs(total))) << when;
  };
  std::mt19937_64 rng(11);
  std::vector<CellWrite> start;
  for (int i = 0; i < na * nb; i += 3) {
    CellValue v = i % 33 == 0 ? CellValue::Text(StrCat("t", i)) : CellValue::Number(static_cast<double>(rng() % 1000));
    start.push_back({leaf(i), v});
    ref[i] = v;
  }
  ASSERT_TRUE(cube.Write(start, "ann").ok());
  check("start");

  for (const bool twice : {false, true}) {
    const std::map<int, CellValue> before_batch = ref;
    std::vector<int> cells(na * nb);
    for (int i = 0; i < na * nb; ++i) cells[i] = i;
    std::shuffle(cells.begin(), cells.end(), rng);
    cells.resize(80'000);
    if (twice) cells.push_back(cells[17]);
    std::vector<CellWrite> batch;
    std::vector<RecordedChange> want;
    for (int i : cells) {
      const int kind = static_cast<int>(rng() % 10);
      CellValue v = kind < 2 ? CellValue::Empty() : CellValue::Number(kind == 2 ? -0.0 : static_cast<double>(rng() % 5000) - 2500);
      auto it = ref.find(i);
      want.push_back({cube.PackLeaf(leaf(i)), it == ref.end() ? CellValue::Empty() : it->second, v});
      if (v.is_empty()) ref.erase(i);
      else ref[i] = v;
      batch.push_back({leaf(i), v});
    }
    const std::string when = twice ? "batch with a cell twice" : "batch of distinct cells";
    ASSERT_TRUE(cube.Write(batch, "bob").ok()) << when;
    check(when);
    std::vector<RecordedChange> got = Cube::Flatten(cube.History().back());
    ASSERT_EQ(got.size(), want.size()) << when;
    for (size_t k = 0; k < got.size(); ++k) {
      ASSERT_EQ(got[k].key, want[k].key) << when << ": change " << k;
      ASSERT_EQ(got[k].before, want[k].before) << when << ": change " << k;
      ASSERT_EQ(got[k].after, want[k].after) << when << ": change " << k;
    }
    ASSERT_TRUE(cube.Undo("bob").ok()) << when;
    ref = before_batch;
    check(StrCat(when, ", undone"));
  }
}

TEST(CubeTest, BatchWithOneBadWriteChangesNothing) {
  std::mt19937_64 rng(3);
  RandomApp app;
  do app = testing_util::MakeRandomApp(rng);
  while (app.model.dimensions[0].leaf_count() == app.model.dimensions[0].member_count());
  auto cube = *Cube::Create(app.model);
  auto leaf = testing_util::ToCoordinate(app, testing_util::RandomLeafCoordinate(app, rng));
  Coordinate total = leaf;
  for (MemberId m = 0; m < app.model.dimensions[0].member_count(); ++m)
    if (!app.model.dimensions[0].is_leaf(m)) total[0] = m;
  absl::Status s = cube->Write({{leaf, CellValue::Number(5)}, {total, CellValue::Number(7)}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("write 2 of 2"), std::string::npos) << s;
  EXPECT_NE(std::string(s.message()).find("is consolidated"), std::string::npos) << s;
  EXPECT_TRUE(cube->ReadCell(leaf)->is_empty());
  EXPECT_EQ(cube->Write({{leaf, CellValue::Number(std::nan(""))}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cube->Write({{Coordinate{}, CellValue::Number(1)}}).code(), absl::StatusCode::kInvalidArgument);
}

TEST(CubeTest, ScaleLeavesMultipliesEveryCellBelowAndTotalsFollow) {
  std::mt19937_64 rng(8);
  for (int model = 0; model < 30; ++model) {
    RandomApp app = testing_util::MakeRandomApp(rng);
    auto cube = *Cube::Create(app.model);
    std::vector<CellWrite> batch;
    for (int i = 0; i < 100; ++i) {
      auto c = testing_util::RandomLeafCoordinate(app, rng);
      double v = static_cast<double>(1 + rng() % 100);
      app.cells[c] = CellValue::Number(v);
      batch.push_back({testing_util::ToCoordinate(app, c), CellValue::Number(v)});
    }
    ASSERT_TRUE(cube->Write(batch).ok());
    std::vector<int> region;
    for (auto& raw : app.raw) region.push_back(static_cast<int>(rng() % raw.members));
    GridQuery q = QueryAll(app, rng);
    ExpectQueryMatches(app, *cube, q, true);  // fills the cache
    auto changed = cube->ScaleLeaves(testing_util::ToCoordinate(app, region), 1.5);
    ASSERT_TRUE(changed.ok());
    size_t expected_changed = 0;
    for (auto& [c, v] : app.cells) {
      bool under = true;
      for (size_t d = 0; d < c.size(); ++d) under &= app.raw[d].Under(c[d], region[d]);
      if (under) v.number *= 1.5, ++expected_changed;
    }
    EXPECT_EQ(*changed, expected_changed);
    ExpectQueryMatches(app, *cube, q, true);
    ExpectQueryMatches(app, *cube, q, false);
  }
}

TEST(CubeTest, TextCellsShowAtTheirLeafAndAreNotSummed) {
  DimensionBuilder b("D", DimensionType::kGeneric);
  for (const char* c : {"T", "x", "y"}) ASSERT_TRUE(b.AddMember(c).ok());
  ASSERT_TRUE(b.AddEdge("x", "T").ok());
  ASSERT_TRUE(b.AddEdge("y", "T").ok());
  AppModel m;
  m.dimensions.push_back(*std::move(b).Build());
  auto cube = *Cube::Create(m);
  ASSERT_TRUE(cube->Write({{{1}, CellValue::Text("see note")}, {{2}, CellValue::Number(4)}}).ok());
  EXPECT_EQ(*cube->ReadCell({1}), CellValue::Text("see note"));
  EXPECT_EQ(*cube->ReadCell({0}), CellValue::Number(4));
  GridQuery q;
  q.rows = CrossJoin({0}, {{0, 1, 2}});
  q.cols.tuples = {{}};
  for (bool cached : {false, true, true}) {
    Cube::ReadOptions ro;
    ro.use_cache = cached;
    auto g = cube->Query(q, ro);
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(g->at(0, 0), CellValue::Number(4));
    EXPECT_EQ(g->at(1, 0), CellValue::Text("see note"));
  }
}

TEST(CubeTest, UnplacedDimensionWithSeveralTopsNeedsASlicer) {
  DimensionBuilder a("Scenario", DimensionType::kScenario);
  ASSERT_TRUE(a.AddMember("Actual").ok());
  ASSERT_TRUE(a.AddMember("Budget").ok());
  DimensionBuilder b("Account", DimensionType::kAccount);
  ASSERT_TRUE(b.AddMember("Cash").ok());
  AppModel m;
  m.dimensions.push_back(*std::move(a).Build());
  m.dimensions.push_back(*std::move(b).Build());
  auto cube = *Cube::Create(m);
  GridQuery q;
  q.rows = CrossJoin({1}, {{0}});
  q.cols.tuples = {{}};
  auto g = cube->Query(q);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(std::string(g.status().message()).find("'Scenario' has several top members (Actual, Budget)"), std::string::npos);
}

}  // namespace
}  // namespace quantatom
