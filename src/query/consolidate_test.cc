#include "query/consolidate.h"

#include <gtest/gtest.h>

#include "query/grid.h"
#include "query/random_model_testutil.h"

namespace quantatom {
namespace {

using testing_util::Describe;
using testing_util::RandomApp;
using testing_util::SameValue;

// Builds a store holding the app's cells.
CellStore MakeStore(const RandomApp& app) {
  std::vector<uint32_t> counts;
  for (const Dimension& d : app.model.dimensions) counts.push_back(d.leaf_count());
  CellStore store(*KeyLayout::Make(counts));
  KeyValues numeric;
  std::vector<uint32_t> ords(app.raw.size());
  auto key = [&](const std::vector<int>& c) {
    for (size_t d = 0; d < c.size(); ++d)
      ords[d] = app.model.dimensions[d].leaf_ordinal(testing_util::Id(app, static_cast<int>(d), c[d]));
    return store.layout().Pack(ords.data());
  };
  for (auto& [c, v] : app.cells)
    if (v.is_number()) numeric.push_back({key(c), v.number});
  EXPECT_TRUE(store.Load(numeric).ok());
  for (auto& [c, v] : app.cells)
    if (v.is_text()) store.Set(key(c), v);
  return store;
}

void FillRandomCells(RandomApp& app, std::mt19937_64& rng, int n) {
  for (int i = 0; i < n; ++i) {
    auto c = testing_util::RandomLeafCoordinate(app, rng);
    int kind = static_cast<int>(rng() % 10);
    if (kind == 0) app.cells[c] = CellValue::Text("note");
    else app.cells[c] = CellValue::Number(static_cast<double>(static_cast<int>(rng() % 2001) - 1000));
  }
}

// Random axes: a few random members (any level, possibly a parent and its child together) per
// dimension, split between rows, columns and slicers.
GridQuery RandomQuery(const RandomApp& app, std::mt19937_64& rng, std::vector<std::vector<int>>* raw_members) {
  const int dims = static_cast<int>(app.raw.size());
  GridQuery q;
  std::vector<int> row_dims, col_dims;
  std::vector<std::vector<MemberId>> row_lists, col_lists;
  raw_members->assign(dims, {});
  for (int d = 0; d < dims; ++d) {
    int place = static_cast<int>(rng() % 3);
    int n = place == 2 ? 1 : 1 + static_cast<int>(rng() % 4);
    std::vector<MemberId> list;
    for (int i = 0; i < n; ++i) {
      int m = static_cast<int>(rng() % app.raw[d].members);
      MemberId id = testing_util::Id(app, d, m);
      if (std::find(list.begin(), list.end(), id) != list.end()) continue;
      list.push_back(id);
      (*raw_members)[d].push_back(m);
    }
    if (place == 2) q.slicers.emplace_back(d, list[0]);
    else if (place == 0) row_dims.push_back(d), row_lists.push_back(list);
    else col_dims.push_back(d), col_lists.push_back(list);
  }
  q.rows = CrossJoin(row_dims, row_lists);
  q.cols = CrossJoin(col_dims, col_lists);
  return q;
}

void ExpectGridMatchesBruteForce(const RandomApp& app, const CellStore& store, const GridQuery& q, bool parallel) {
  ConsolidateOptions options;
  options.parallel = parallel;
  auto grid = EvaluateGrid(app.model, store, q, options);
  ASSERT_TRUE(grid.ok()) << grid.status();
  ResolvedGrid rg = *ResolveGrid(app.model, q);
  for (size_t r = 0; r < grid->rows; ++r)
    for (size_t c = 0; c < grid->cols; ++c) {
      Coordinate coord = rg.CellCoordinate(q, r, c);
      std::vector<int> raw;
      for (size_t d = 0; d < coord.size(); ++d) {
        const std::string& code = app.model.dimensions[d].member(coord[d]).code;
        raw.push_back(std::stoi(code.substr(code.find('m') + 1)));
      }
      CellValue expected = app.Evaluate(raw);
      ASSERT_TRUE(SameValue(grid->at(r, c), expected))
          << app.model.FormatCoordinate(coord) << ": got " << Describe(grid->at(r, c)) << ", expected " << Describe(expected);
    }
}

TEST(ConsolidateTest, RandomModelsMatchBruteForce) {
  std::mt19937_64 rng(20261124);
  for (int model = 0; model < 150; ++model) {
    RandomApp app = testing_util::MakeRandomApp(rng, /*wide=*/model % 5 == 4);
    FillRandomCells(app, rng, 1 + static_cast<int>(rng() % 300));
    CellStore store = MakeStore(app);
    for (int query = 0; query < 10; ++query) {
      std::vector<std::vector<int>> raw;
      GridQuery q = RandomQuery(app, rng, &raw);
      SCOPED_TRACE("model " + std::to_string(model) + " query " + std::to_string(query));
      ExpectGridMatchesBruteForce(app, store, q, /*parallel=*/query % 2 == 0);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

// Large enough that the scan runs on several threads and several chunks.
TEST(ConsolidateTest, ParallelScanOfManyCellsMatchesBruteForce) {
  std::mt19937_64 rng(99);
  RandomApp app;
  do app = testing_util::MakeRandomApp(rng, /*wide=*/true);
  while (app.raw.size() < 3);
  FillRandomCells(app, rng, 150000);
  CellStore store = MakeStore(app);
  for (int query = 0; query < 3; ++query) {
    std::vector<std::vector<int>> raw;
    GridQuery q = RandomQuery(app, rng, &raw);
    ExpectGridMatchesBruteForce(app, store, q, /*parallel=*/true);
  }
}

TEST(ConsolidateTest, HandComputedTotalsWithNegativeAndFractionalWeights) {
  // NetIncome = Revenue - Costs; Costs = Salaries + Rent; Fixed = 0.5 * Rent.
  DimensionBuilder b("Account", DimensionType::kAccount);
  for (const char* c : {"NetIncome", "Revenue", "Costs", "Salaries", "Rent", "Fixed"}) ASSERT_TRUE(b.AddMember(c).ok());
  ASSERT_TRUE(b.AddEdge("Revenue", "NetIncome").ok());
  ASSERT_TRUE(b.AddEdge("Costs", "NetIncome", -1).ok());
  ASSERT_TRUE(b.AddEdge("Salaries", "Costs").ok());
  ASSERT_TRUE(b.AddEdge("Rent", "Costs").ok());
  ASSERT_TRUE(b.AddEdge("Rent", "Fixed", 0.5).ok());
  AppModel model;
  model.dimensions.push_back(*std::move(b).Build());
  const Dimension& acc = model.dimensions[0];
  CellStore store(*KeyLayout::Make({acc.leaf_count()}));
  auto key = [&](const char* code) {
    uint32_t o = acc.leaf_ordinal(*acc.Find(code));
    return store.layout().Pack(&o);
  };
  ASSERT_TRUE(store.Load({{key("Revenue"), 1000}, {key("Salaries"), 300}, {key("Rent"), 100}}).ok());
  auto totals = Consolidate(model, store, {{*acc.Find("NetIncome"), *acc.Find("Costs"), *acc.Find("Fixed"), *acc.Find("Rent")}});
  ASSERT_TRUE(totals.ok());
  EXPECT_EQ(totals->sum[0], 1000 - 300 - 100);
  EXPECT_EQ(totals->sum[1], 400);
  EXPECT_EQ(totals->sum[2], 50);
  EXPECT_EQ(totals->sum[3], 100);
}

TEST(ConsolidateTest, TotalOfCellsSummingToZeroIsZeroNotEmpty) {
  DimensionBuilder b("D", DimensionType::kGeneric);
  for (const char* c : {"T", "x", "y", "z"}) ASSERT_TRUE(b.AddMember(c).ok());
  ASSERT_TRUE(b.AddEdge("x", "T").ok());
  ASSERT_TRUE(b.AddEdge("y", "T").ok());
  AppModel model;
  model.dimensions.push_back(*std::move(b).Build());
  const Dimension& d = model.dimensions[0];
  CellStore store(*KeyLayout::Make({d.leaf_count()}));
  uint32_t ox = d.leaf_ordinal(*d.Find("x")), oy = d.leaf_ordinal(*d.Find("y"));
  ASSERT_TRUE(store.Load({{store.layout().Pack(&ox), 5}, {store.layout().Pack(&oy), -5}}).ok());
  GridQuery q;
  q.rows = CrossJoin({0}, {{*d.Find("T"), *d.Find("z")}});
  q.cols.tuples = {{}};
  auto g = EvaluateGrid(model, store, q);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->at(0, 0), CellValue::Number(0));
  EXPECT_TRUE(g->at(1, 0).is_empty());
}

// Totals keep no per-cell count when weights are positive: an empty total is told apart by
// its -0.0 start value, so cells holding 0 (even written as -0.0) must still count.
TEST(ConsolidateTest, CellsHoldingZeroMakeTotalsZeroNotEmpty) {
  DimensionBuilder b("D", DimensionType::kGeneric);
  for (const char* c : {"Pos", "Neg", "x", "y", "z"}) ASSERT_TRUE(b.AddMember(c).ok());
  ASSERT_TRUE(b.AddEdge("x", "Pos").ok());
  ASSERT_TRUE(b.AddEdge("y", "Neg", -1).ok());
  AppModel model;
  model.dimensions.push_back(*std::move(b).Build());
  const Dimension& d = model.dimensions[0];
  CellStore store(*KeyLayout::Make({d.leaf_count()}));
  uint32_t ox = d.leaf_ordinal(*d.Find("x")), oy = d.leaf_ordinal(*d.Find("y"));
  ASSERT_TRUE(store.Load({{store.layout().Pack(&ox), -0.0}}).ok());
  store.Set(store.layout().Pack(&oy), CellValue::Number(0.0));
  store.Compact();  // both in main, scanned by the kernel
  EXPECT_FALSE(std::signbit(store.Get(store.layout().Pack(&ox)).number));
  GridQuery q;
  q.rows = CrossJoin({0}, {{*d.Find("Pos"), *d.Find("Neg"), *d.Find("z")}});
  q.cols.tuples = {{}};
  auto g = EvaluateGrid(model, store, q);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->at(0, 0), CellValue::Number(0));
  EXPECT_EQ(g->at(1, 0), CellValue::Number(0));
  EXPECT_TRUE(g->at(2, 0).is_empty());
}

// 70,000 leaves in the inner dimension: the 32-bit ordinal path of the scan.
TEST(ConsolidateTest, WideInnerDimensionTotalsMatchADirectSum) {
  DimensionBuilder b("Item", DimensionType::kGeneric);
  ASSERT_TRUE(b.AddMember("All").ok());
  ASSERT_TRUE(b.AddMember("Odd").ok());
  for (int i = 0; i < 70000; ++i) {
    ASSERT_TRUE(b.AddMember("i" + std::to_string(i)).ok());
    ASSERT_TRUE(b.AddEdge("i" + std::to_string(i), "All").ok());
    if (i % 2) {
      ASSERT_TRUE(b.AddEdge("i" + std::to_string(i), "Odd", -1).ok());
    }
  }
  AppModel model;
  model.dimensions.push_back(*std::move(b).Build());
  const Dimension& d = model.dimensions[0];
  CellStore store(*KeyLayout::Make({d.leaf_count()}));
  KeyValues cells;
  double all = 0, odd = 0;
  for (int i = 0; i < 70000; i += 3) {
    uint32_t o = d.leaf_ordinal(*d.Find("i" + std::to_string(i)));
    cells.push_back({store.layout().Pack(&o), static_cast<double>(i)});
    all += i;
    if (i % 2) odd -= i;
  }
  ASSERT_TRUE(store.Load(cells).ok());
  auto totals = Consolidate(model, store, {{*d.Find("All"), *d.Find("Odd")}});
  ASSERT_TRUE(totals.ok());
  EXPECT_EQ(totals->sum[0], all);
  EXPECT_EQ(totals->sum[1], odd);
}

TEST(ConsolidateTest, OversizedRequestIsRefusedWithItsSize) {
  RandomApp app;
  std::mt19937_64 rng(5);
  app = testing_util::MakeRandomApp(rng, true);
  CellStore store = MakeStore(app);
  std::vector<std::vector<MemberId>> all;
  for (const Dimension& d : app.model.dimensions) {
    std::vector<MemberId> v;
    for (MemberId m = 0; m < d.member_count(); ++m) v.push_back(m);
    all.push_back(v);
  }
  ConsolidateOptions o;
  o.max_dense_cells = 10;
  auto r = Consolidate(app.model, store, all, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(SelectCellsUnderTest, SelectsExactlyTheCellsBelowWithTheirWeights) {
  std::mt19937_64 rng(11);
  for (int model = 0; model < 40; ++model) {
    RandomApp app = testing_util::MakeRandomApp(rng);
    FillRandomCells(app, rng, 200);
    CellStore store = MakeStore(app);
    std::vector<int> region;
    for (auto& raw : app.raw) region.push_back(static_cast<int>(rng() % raw.members));
    CellSelection sel = SelectCellsUnder(app.model, store, testing_util::ToCoordinate(app, region));
    double weighted = 0;
    for (size_t i = 0; i < sel.main_positions.size(); ++i) weighted += store.values()[sel.main_positions[i]] * sel.main_weights[i];
    CellValue expected = app.Evaluate(region);
    bool region_is_leaf = true;
    for (size_t d = 0; d < region.size(); ++d) region_is_leaf &= app.raw[d].IsLeaf(region[d]);
    if (region_is_leaf) continue;  // a leaf region: Evaluate returns the cell itself
    EXPECT_EQ(sel.size() > 0, expected.is_number());
    if (expected.is_number()) {
      EXPECT_NEAR(weighted, expected.number, 1e-9 * std::max(1.0, std::abs(expected.number)));
    }
  }
}

}  // namespace
}  // namespace quantatom
