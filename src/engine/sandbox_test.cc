#include "engine/sandbox.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <thread>

#include "query/random_model_testutil.h"

namespace quantatom {
namespace {

using testing_util::Describe;
using testing_util::RandomApp;
using testing_util::SameValue;

// Account: Total = a + b - c; Region: World = North + South.
std::unique_ptr<Cube> SmallCube() {
  DimensionBuilder account("Account", DimensionType::kGeneric);
  for (const char* m : {"Total", "a", "b", "c"}) EXPECT_TRUE(account.AddMember(m).ok());
  EXPECT_TRUE(account.AddEdge("a", "Total").ok());
  EXPECT_TRUE(account.AddEdge("b", "Total").ok());
  EXPECT_TRUE(account.AddEdge("c", "Total", -1).ok());
  DimensionBuilder region("Region", DimensionType::kGeneric);
  for (const char* m : {"World", "North", "South"}) EXPECT_TRUE(region.AddMember(m).ok());
  EXPECT_TRUE(region.AddEdge("North", "World").ok());
  EXPECT_TRUE(region.AddEdge("South", "World").ok());
  AppModel model;
  model.name = "small";
  model.dimensions.push_back(*std::move(account).Build());
  model.dimensions.push_back(*std::move(region).Build());
  auto cube = *Cube::Create(std::move(model));
  // a/North 10, b/North 20, c/North 5, a/South 1: Total/World = 10 + 20 - 5 + 1 = 26.
  EXPECT_TRUE(cube->Write({{*cube->model().ParseCoordinate("Account=a,Region=North"), CellValue::Number(10)},
                           {*cube->model().ParseCoordinate("Account=b,Region=North"), CellValue::Number(20)},
                           {*cube->model().ParseCoordinate("Account=c,Region=North"), CellValue::Number(5)},
                           {*cube->model().ParseCoordinate("Account=a,Region=South"), CellValue::Number(1)}},
                          "loader")
                  .ok());
  return cube;
}

Coordinate At(const Cube& cube, const std::string& text) { return *cube.model().ParseCoordinate(text); }
CellValue Num(double v) { return CellValue::Number(v); }

double NumberAt(const Cube& cube, const std::string& text) {
  auto v = cube.ReadCell(At(cube, text));
  EXPECT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->is_number()) << text << " is " << Describe(*v);
  return v->number;
}
CellValue ValueAt(const Sandbox& sb, const Cube& cube, const std::string& text) {
  auto v = sb.ReadCell(At(cube, text));
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *v : CellValue::Empty();
}

TEST(SandboxTest, ReadsSeeSandboxCellsOverTheAppAtLeafAndTotal) {
  auto cube = SmallCube();
  Sandbox sb(cube.get(), "ann");
  ASSERT_TRUE(sb.Write({{At(*cube, "Account=a,Region=North"), Num(15)}, {At(*cube, "Account=c,Region=South"), Num(3)}}).ok());
  EXPECT_EQ(ValueAt(sb, *cube, "Account=a,Region=North"), Num(15));
  EXPECT_EQ(ValueAt(sb, *cube, "Account=b,Region=North"), Num(20));  // not in the sandbox
  EXPECT_EQ(ValueAt(sb, *cube, "Account=Total,Region=North"), Num(15 + 20 - 5));
  EXPECT_EQ(ValueAt(sb, *cube, "Account=Total,Region=World"), Num(15 + 20 - 5 + 1 - 3));
  EXPECT_EQ(ValueAt(sb, *cube, "Account=c,Region=World"), Num(5 + 3));
  // A grid with leaves and totals on both axes, cached and not.
  GridQuery q;
  q.rows = CrossJoin({0}, {{*cube->model().dimensions[0].Find("Total"), *cube->model().dimensions[0].Find("a")}});
  q.cols = CrossJoin({1}, {{*cube->model().dimensions[1].Find("World"), *cube->model().dimensions[1].Find("South")}});
  for (bool cached : {false, true, true}) {
    Cube::ReadOptions ro;
    ro.use_cache = cached;
    auto g = sb.Query(q, ro);
    ASSERT_TRUE(g.ok()) << g.status();
    EXPECT_EQ(g->at(0, 0), Num(28));
    EXPECT_EQ(g->at(0, 1), Num(1 - 3));
    EXPECT_EQ(g->at(1, 0), Num(15 + 1));
    EXPECT_EQ(g->at(1, 1), Num(1));
  }
}

TEST(SandboxTest, AppIsUnchangedUntilCommit) {
  auto cube = SmallCube();
  const size_t sets = cube->History().size();
  Sandbox sb(cube.get(), "ann");
  ASSERT_TRUE(sb.Write({{At(*cube, "Account=a,Region=North"), Num(15)}}).ok());
  ASSERT_TRUE(sb.Spread(At(*cube, "Account=Total,Region=World"), {SpreadMethod::kProportional, 52}).ok());
  EXPECT_EQ(NumberAt(*cube, "Account=a,Region=North"), 10);
  EXPECT_EQ(NumberAt(*cube, "Account=Total,Region=World"), 26);
  EXPECT_EQ(cube->History().size(), sets);
  EXPECT_EQ(ValueAt(sb, *cube, "Account=Total,Region=World"), Num(52));
}

TEST(SandboxTest, AppChangeToAnUntouchedCellShowsThrough) {
  auto cube = SmallCube();
  Sandbox sb(cube.get(), "ann");
  ASSERT_TRUE(sb.Write({{At(*cube, "Account=a,Region=North"), Num(15)}}).ok());
  EXPECT_EQ(ValueAt(sb, *cube, "Account=Total,Region=North"), Num(30));  // fills the app's cache
  ASSERT_TRUE(cube->Write({{At(*cube, "Account=b,Region=North"), Num(100)}}, "bob").ok());
  EXPECT_EQ(ValueAt(sb, *cube, "Account=b,Region=North"), Num(100));
  EXPECT_EQ(ValueAt(sb, *cube, "Account=Total,Region=North"), Num(15 + 100 - 5));
  // The app's later change to the sandbox's own cell does not show through.
  ASSERT_TRUE(cube->Write({{At(*cube, "Account=a,Region=North"), Num(7)}}, "bob").ok());
  EXPECT_EQ(ValueAt(sb, *cube, "Account=a,Region=North"), Num(15));
  EXPECT_EQ(ValueAt(sb, *cube, "Account=Total,Region=North"), Num(15 + 100 - 5));
}

TEST(SandboxTest, ClearedAndTextCellsHideTheAppsNumbers) {
  auto cube = SmallCube();
  Sandbox sb(cube.get(), "ann");
  // South holds only a/South: clearing it empties South's totals; text does not count.
  ASSERT_TRUE(sb.Write({{At(*cube, "Account=a,Region=South"), CellValue::Empty()},
                        {At(*cube, "Account=b,Region=South"), CellValue::Text("note")}})
                  .ok());
  EXPECT_EQ(ValueAt(sb, *cube, "Account=a,Region=South"), CellValue::Empty());
  EXPECT_EQ(ValueAt(sb, *cube, "Account=b,Region=South"), CellValue::Text("note"));
  EXPECT_EQ(ValueAt(sb, *cube, "Account=Total,Region=South"), CellValue::Empty());
  EXPECT_EQ(ValueAt(sb, *cube, "Account=a,Region=World"), Num(10));
  // Replacing a number with text where other numbers remain keeps the total a number.
  ASSERT_TRUE(sb.Write({{At(*cube, "Account=a,Region=North"), CellValue::Text("tbd")}}).ok());
  EXPECT_EQ(ValueAt(sb, *cube, "Account=Total,Region=North"), Num(20 - 5));
  // Clearing every number of North empties it.
  ASSERT_TRUE(sb.Write({{At(*cube, "Account=b,Region=North"), CellValue::Empty()},
                        {At(*cube, "Account=c,Region=North"), CellValue::Empty()}})
                  .ok());
  EXPECT_EQ(ValueAt(sb, *cube, "Account=Total,Region=North"), CellValue::Empty());
  EXPECT_EQ(ValueAt(sb, *cube, "Account=Total,Region=World"), CellValue::Empty());
  EXPECT_EQ(NumberAt(*cube, "Account=Total,Region=World"), 26);
}

TEST(SandboxTest, SpreadChangesOnlyTheSandboxWithHolds) {
  auto cube = SmallCube();
  Sandbox sb(cube.get(), "ann");
  // Total/North = 10 + 20 - 5 = 25 -> 50, a held: b and c scale by (50 - 10) / 15.
  auto changed = sb.Spread(At(*cube, "Account=Total,Region=North"), {SpreadMethod::kProportional, 50},
                           {At(*cube, "Account=a,Region=World")});
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(*changed, 2u);
  EXPECT_EQ(ValueAt(sb, *cube, "Account=a,Region=North"), Num(10));
  EXPECT_NEAR(ValueAt(sb, *cube, "Account=b,Region=North").number, 20 * 40.0 / 15, 1e-12);
  EXPECT_NEAR(ValueAt(sb, *cube, "Account=c,Region=North").number, 5 * 40.0 / 15, 1e-12);
  EXPECT_NEAR(ValueAt(sb, *cube, "Account=Total,Region=North").number, 50, 1e-12);
  // Equal fills the empty leaves of the sandbox's view: South has a/S 1, b and c empty.
  ASSERT_TRUE(sb.Spread(At(*cube, "Account=Total,Region=South"), {SpreadMethod::kEqual, 9}).ok());
  EXPECT_EQ(ValueAt(sb, *cube, "Account=a,Region=South"), Num(9));  // (a + b - c) w = 1 + 1 - 1
  EXPECT_EQ(ValueAt(sb, *cube, "Account=c,Region=South"), Num(9));
  EXPECT_EQ(ValueAt(sb, *cube, "Account=Total,Region=South"), Num(9));
  EXPECT_EQ(NumberAt(*cube, "Account=Total,Region=World"), 26);
}

TEST(SandboxTest, ErrorsAreTheCubesAndChangeNothing) {
  auto cube = SmallCube();
  Sandbox sb(cube.get(), "ann");
  const std::vector<std::vector<CellWrite>> bad = {
      {{At(*cube, "Account=a,Region=North"), Num(1)}, {At(*cube, "Account=Total,Region=North"), Num(1)}},
      {{Coordinate{1}, Num(1)}},
      {{At(*cube, "Account=a,Region=North"), Num(std::nan(""))}},
  };
  for (const auto& batch : bad) {
    absl::Status want = cube->Write(batch);
    absl::Status got = sb.Write(batch);
    ASSERT_FALSE(want.ok());
    EXPECT_EQ(got, want);
  }
  // A member out of range: Cube::Write would format it; the sandbox names the write only.
  EXPECT_EQ(sb.Write({{Coordinate{1, 99}, Num(1)}}).code(), absl::StatusCode::kInvalidArgument);
  const Coordinate total = At(*cube, "Account=Total,Region=World");
  struct Case {
    Coordinate target;
    SpreadRequest request;
    std::vector<Coordinate> holds;
    size_t max_leaves;
  };
  const std::vector<Case> spreads = {
      {Coordinate{0, 77}, {SpreadMethod::kEqual, 1}, {}, 100},
      {total, {SpreadMethod::kEqual, 1}, {Coordinate{0}}, 100},
      {total, {SpreadMethod::kEqual, 1}, {total}, 100},                         // every leaf held
      {total, {SpreadMethod::kRepeat, 1}, {}, 5},                               // 6 leaves > 5
      {total, {SpreadMethod::kProportional, std::numeric_limits<double>::infinity()}, {}, 100},
      {At(*cube, "Account=Total,Region=South"), {SpreadMethod::kPercentChange, 5}, {At(*cube, "Account=a,Region=South")}, 100},
  };
  for (const Case& c : spreads) {
    auto got = sb.Spread(c.target, c.request, c.holds, c.max_leaves);
    auto want = cube->Spread(c.target, c.request, c.holds, "", c.max_leaves);
    ASSERT_FALSE(want.ok());
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status(), want.status());
  }
  EXPECT_EQ(sb.size(), 0u);
  EXPECT_EQ(NumberAt(*cube, "Account=Total,Region=World"), 26);
}

TEST(SandboxTest, CommitIsOneChangeSetOfTheUserThatUndoes) {
  auto cube = SmallCube();
  Sandbox sb(cube.get(), "ann");
  ASSERT_TRUE(sb.Write({{At(*cube, "Account=a,Region=North"), Num(15)}, {At(*cube, "Account=b,Region=South"), Num(4)}}).ok());
  ASSERT_TRUE(sb.Spread(At(*cube, "Account=c,Region=World"), {SpreadMethod::kRepeat, 2}).ok());
  const size_t sets = cube->History().size();
  auto commit = sb.Commit();
  ASSERT_TRUE(commit.ok()) << commit.status();
  EXPECT_EQ(commit->written, 4u);
  EXPECT_TRUE(commit->conflicts.empty());
  auto history = cube->History();
  ASSERT_EQ(history.size(), sets + 1);
  EXPECT_EQ(history.back().id, commit->change_set);
  EXPECT_EQ(history.back().user, "ann");
  EXPECT_EQ(NumberAt(*cube, "Account=Total,Region=World"), 15 + 20 - 2 + 1 + 4 - 2);
  auto undone = cube->Undo("ann");
  ASSERT_TRUE(undone.ok()) << undone.status();
  EXPECT_EQ(*undone, commit->change_set);
  EXPECT_EQ(NumberAt(*cube, "Account=Total,Region=World"), 26);
  EXPECT_EQ(cube->ReadCell(At(*cube, "Account=b,Region=South"))->is_empty(), true);
}

// Ann's sandbox changes a/North and b/North; then Bob changes a/North in the app.
struct ConflictFixture {
  std::unique_ptr<Cube> cube = SmallCube();
  std::unique_ptr<Sandbox> sb = std::make_unique<Sandbox>(cube.get(), "ann");
  ConflictFixture() {
    EXPECT_TRUE(sb->Write({{At(*cube, "Account=a,Region=North"), Num(15)}, {At(*cube, "Account=b,Region=North"), Num(25)}}).ok());
    EXPECT_TRUE(cube->Write({{At(*cube, "Account=a,Region=North"), Num(12)}}, "bob").ok());
  }
};

TEST(SandboxTest, CommitAbortsByDefaultNamingTheConflictingCells) {
  ConflictFixture f;
  auto preview = f.sb->Conflicts();
  ASSERT_TRUE(preview.ok());
  ASSERT_EQ(preview->size(), 1u);
  EXPECT_EQ((*preview)[0].current, Num(12));
  EXPECT_EQ((*preview)[0].mine, Num(15));
  EXPECT_EQ((*preview)[0].change.user, "bob");
  const size_t sets = f.cube->History().size();
  auto commit = f.sb->Commit();
  ASSERT_EQ(commit.status().code(), absl::StatusCode::kAborted);
  const std::string message(commit.status().message());
  EXPECT_NE(message.find("Account=a,Region=North: now 12, yours 15"), std::string::npos) << message;
  EXPECT_NE(message.find("user 'bob'"), std::string::npos) << message;
  EXPECT_EQ(message.find("Account=b"), std::string::npos) << message;
  EXPECT_EQ(f.cube->History().size(), sets);
  EXPECT_EQ(NumberAt(*f.cube, "Account=b,Region=North"), 20);
  // Still open: the user can choose another policy.
  EXPECT_EQ(ValueAt(*f.sb, *f.cube, "Account=a,Region=North"), Num(15));
}

TEST(SandboxTest, CommitKeepingTheirsSkipsConflictingCellsOnly) {
  ConflictFixture f;
  auto commit = f.sb->Commit(ConflictPolicy::kKeepTheirs);
  ASSERT_TRUE(commit.ok()) << commit.status();
  EXPECT_EQ(commit->written, 1u);
  ASSERT_EQ(commit->conflicts.size(), 1u);
  EXPECT_EQ(f.cube->model().FormatCoordinate(commit->conflicts[0].coord), "Account=a,Region=North");
  EXPECT_EQ(NumberAt(*f.cube, "Account=a,Region=North"), 12);
  EXPECT_EQ(NumberAt(*f.cube, "Account=b,Region=North"), 25);
}

TEST(SandboxTest, CommitKeepingMineOverwritesAndReportsIt) {
  ConflictFixture f;
  auto commit = f.sb->Commit(ConflictPolicy::kKeepMine);
  ASSERT_TRUE(commit.ok()) << commit.status();
  EXPECT_EQ(commit->written, 2u);
  ASSERT_EQ(commit->conflicts.size(), 1u);
  EXPECT_EQ(commit->conflicts[0].current, Num(12));
  EXPECT_EQ(NumberAt(*f.cube, "Account=a,Region=North"), 15);
  EXPECT_EQ(NumberAt(*f.cube, "Account=b,Region=North"), 25);
}

TEST(SandboxTest, AppSpreadUndoAndRescaleAfterTheSandboxsVersionConflict) {
  auto cube = SmallCube();
  {  // a proportional spread records its cells as one rescale
    Sandbox sb(cube.get(), "ann");
    ASSERT_TRUE(sb.Write({{At(*cube, "Account=b,Region=North"), Num(1)}, {At(*cube, "Account=a,Region=South"), Num(2)}}).ok());
    ASSERT_TRUE(cube->Spread(At(*cube, "Account=Total,Region=North"), {SpreadMethod::kProportional, 50}, {}, "bob").ok());
    auto conflicts = sb.Conflicts();
    ASSERT_TRUE(conflicts.ok());
    ASSERT_EQ(conflicts->size(), 1u);
    EXPECT_EQ(cube->model().FormatCoordinate((*conflicts)[0].coord), "Account=b,Region=North");
    EXPECT_EQ((*conflicts)[0].change.action, "spread");
    ASSERT_TRUE(cube->Undo("bob").ok());  // changes b/North once more: still a conflict
    conflicts = sb.Conflicts();
    ASSERT_EQ(conflicts->size(), 1u);
    EXPECT_EQ((*conflicts)[0].change.action, "undo of spread");
  }
  {
    Sandbox sb(cube.get(), "ann");
    ASSERT_TRUE(sb.Write({{At(*cube, "Account=c,Region=North"), Num(1)}}).ok());
    ASSERT_TRUE(cube->ScaleLeaves(At(*cube, "Account=c,Region=World"), 2).ok());
    auto conflicts = sb.Conflicts();
    ASSERT_EQ(conflicts->size(), 1u);
    EXPECT_EQ((*conflicts)[0].change.action, "scale");
  }
}

TEST(SandboxTest, ChangedSinceAnswersFromTheHistory) {
  auto cube = SmallCube();
  const uint64_t a = cube->PackLeaf(At(*cube, "Account=a,Region=North"));
  const uint64_t b = cube->PackLeaf(At(*cube, "Account=b,Region=North"));
  const uint64_t s0 = cube->CurrentSeq();
  EXPECT_TRUE(cube->ChangedSince(s0, std::vector<uint64_t>{a, b}).empty());
  ASSERT_TRUE(cube->Write({{At(*cube, "Account=a,Region=North"), Num(1)}}, "bob").ok());
  const uint64_t s1 = cube->CurrentSeq();
  EXPECT_GT(s1, s0);
  auto changed = cube->ChangedSince(s0, std::vector<uint64_t>{a, b});
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].key, a);
  EXPECT_EQ(changed[0].seq, s1);
  EXPECT_EQ(changed[0].user, "bob");
  EXPECT_TRUE(cube->ChangedSince(s1, std::vector<uint64_t>{a, b}).empty());
  // Undone, then the redo discarded by a new change: the apply and the undo stay visible.
  ASSERT_TRUE(cube->Undo("bob").ok());
  const uint64_t s2 = cube->CurrentSeq();
  ASSERT_TRUE(cube->Write({{At(*cube, "Account=c,Region=South"), Num(1)}}, "bob").ok());
  changed = cube->ChangedSince(s1, std::vector<uint64_t>{a});
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].seq, s2);
  ASSERT_TRUE(cube->Load({}).ok());  // a load changes every cell
  EXPECT_EQ(cube->ChangedSince(s2, std::vector<uint64_t>{a, b}).size(), 2u);
}

TEST(SandboxTest, CommittedOrDiscardedSandboxRefusesFurtherUse) {
  auto cube = SmallCube();
  Sandbox discarded(cube.get(), "ann");
  ASSERT_TRUE(discarded.Write({{At(*cube, "Account=a,Region=North"), Num(15)}}).ok());
  ASSERT_TRUE(discarded.Discard().ok());
  EXPECT_EQ(NumberAt(*cube, "Account=a,Region=North"), 10);
  Sandbox committed(cube.get(), "ann");
  ASSERT_TRUE(committed.Commit().ok());
  for (Sandbox* sb : {&discarded, &committed}) {
    const Coordinate leaf = At(*cube, "Account=a,Region=North");
    std::vector<absl::Status> errors = {sb->Write({{leaf, Num(1)}}), sb->ReadCell(leaf).status(),
                                        sb->Spread(leaf, {SpreadMethod::kRepeat, 1}).status(),
                                        sb->Query(GridQuery{}).status(), sb->Commit().status(), sb->Discard(),
                                        sb->Conflicts().status()};
    for (const absl::Status& s : errors) {
      EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
      EXPECT_NE(std::string(s.message()).find(sb == &discarded ? "was discarded" : "was committed"), std::string::npos) << s;
    }
  }
}

TEST(SandboxTest, SandboxesOfSeveralUsersRunAtOnce) {
  auto cube = SmallCube();
  const std::vector<std::string> users = {"ann", "bob", "cid", "dee"};
  std::vector<std::thread> threads;
  std::vector<absl::Status> results(users.size());
  for (size_t u = 0; u < users.size(); ++u)
    threads.emplace_back([&, u] {
      Sandbox sb(cube.get(), users[u]);
      // Each user owns one leaf of South (b or c) or North (b or c), and reads totals meanwhile.
      const std::string leaf = std::string("Account=") + (u % 2 ? "b" : "c") + ",Region=" + (u < 2 ? "North" : "South");
      for (int i = 0; i < 200; ++i) {
        absl::Status s = sb.Write({{At(*cube, leaf), Num(i)}});
        if (s.ok()) s = sb.ReadCell(At(*cube, "Account=Total,Region=World")).status();
        if (!s.ok()) {
          results[u] = s;
          return;
        }
      }
      results[u] = sb.Commit().status();
    });
  for (auto& t : threads) t.join();
  for (const absl::Status& s : results) EXPECT_TRUE(s.ok()) << s;
  // a/N 10 + b/N 199 - c/N 199 + a/S 1 + b/S 199 - c/S 199.
  EXPECT_EQ(NumberAt(*cube, "Account=Total,Region=World"), 11);
}

// ---- Random models: the sandbox against a brute force over (app cells overridden by the
// sandbox's cells), with the app changing underneath.

using Raw = std::vector<int>;

std::vector<Raw> AllLeaves(const RandomApp& app) {
  std::vector<Raw> out;
  Raw cur(app.raw.size());
  std::function<void(size_t)> walk = [&](size_t d) {
    if (d == cur.size()) return out.push_back(cur);
    for (int m = 0; m < app.raw[d].members; ++m)
      if (app.raw[d].IsLeaf(m)) cur[d] = m, walk(d + 1);
  };
  walk(0);
  return out;
}

Raw RandomMember(const RandomApp& app, std::mt19937_64& rng) {
  Raw c;
  for (auto& raw : app.raw) c.push_back(static_cast<int>(rng() % raw.members));
  return c;
}

CellValue RandomValue(std::mt19937_64& rng) {
  const int kind = static_cast<int>(rng() % 10);
  if (kind == 0) return CellValue::Text("t" + std::to_string(rng() % 3));
  if (kind == 1) return CellValue::Empty();
  return CellValue::Number(static_cast<double>(static_cast<int>(rng() % 200) - 50));
}

// The cells of a state: the app's, overridden by the sandbox's (empties remove).
std::map<Raw, CellValue> Merge(const std::map<Raw, CellValue>& app, const std::map<Raw, CellValue>& mine) {
  std::map<Raw, CellValue> out = app;
  for (const auto& [c, v] : mine) {
    if (v.is_empty()) out.erase(c);
    else out[c] = v;
  }
  return out;
}

TEST(SandboxTest, RandomInterleavingsMatchBruteForceOverTheMergedCells) {
  std::mt19937_64 rng(4242);
  const SpreadMethod methods[] = {SpreadMethod::kProportional, SpreadMethod::kEqual, SpreadMethod::kRepeat,
                                  SpreadMethod::kPercentChange, SpreadMethod::kAdd, SpreadMethod::kClear,
                                  SpreadMethod::kRelative};
  int spreads_ok = 0, spreads_failed = 0, conflicts_seen = 0;
  for (int model = 0; model < 60; ++model) {
    RandomApp app = testing_util::MakeRandomApp(rng);
    auto cube = *Cube::Create(app.model);
    const std::vector<Raw> leaves = AllLeaves(app);
    std::map<Raw, CellValue> mine;            // the sandbox's cells, empties included
    std::map<Raw, int> first_step;            // when the sandbox first changed each cell
    std::map<Raw, int> touched_step, changed_step;  // the app's newest touch / value change
    auto write_app = [&](const Raw& c, const CellValue& v, int step) {
      touched_step[c] = step;
      CellValue old = app.cells.count(c) ? app.cells[c] : CellValue::Empty();
      if (!(old == v)) changed_step[c] = step;
      if (v.is_empty()) app.cells.erase(c);
      else app.cells[c] = v;
    };
    std::vector<CellWrite> initial;
    for (int i = 0; i < 30; ++i) {
      Raw c = testing_util::RandomLeafCoordinate(app, rng);
      CellValue v = RandomValue(rng);
      initial.push_back({testing_util::ToCoordinate(app, c), v});
      write_app(c, v, 0);
    }
    ASSERT_TRUE(cube->Write(initial, "loader").ok());
    Sandbox sb(cube.get(), "ann");

    for (int step = 1; step <= 25; ++step) {
      const int action = static_cast<int>(rng() % 5);
      if (action == 0) {  // another user writes the app
        Raw c = testing_util::RandomLeafCoordinate(app, rng);
        CellValue v = RandomValue(rng);
        ASSERT_TRUE(cube->Write({{testing_util::ToCoordinate(app, c), v}}, "bob").ok());
        write_app(c, v, step);
      } else if (action == 1) {  // another user rescales part of the app
        Raw target = RandomMember(app, rng);
        auto before = app.cells;
        if (!cube->Spread(testing_util::ToCoordinate(app, target), {SpreadMethod::kPercentChange, 50}, {}, "bob").ok())
          continue;
        for (const Raw& c : leaves) {
          bool under = true;
          for (size_t d = 0; d < c.size(); ++d) under &= app.raw[d].Under(c[d], target[d]);
          if (!under) continue;
          auto it = app.cells.find(c);
          if (it != app.cells.end() && it->second.is_number()) write_app(c, CellValue::Number(it->second.number * 1.5), step);
        }
      } else if (action == 2) {  // the sandbox writes
        std::vector<CellWrite> batch;
        for (int i = 1 + static_cast<int>(rng() % 3); i > 0; --i) {
          Raw c = testing_util::RandomLeafCoordinate(app, rng);
          CellValue v = RandomValue(rng);
          batch.push_back({testing_util::ToCoordinate(app, c), v});
          mine[c] = v;
          first_step.try_emplace(c, step);
        }
        ASSERT_TRUE(sb.Write(batch).ok());
      } else {  // the sandbox spreads; a cube holding the merged cells says what must happen
        Raw target = RandomMember(app, rng);
        std::vector<Raw> holds;
        for (int h = static_cast<int>(rng() % 3); h > 0; --h) holds.push_back(RandomMember(app, rng));
        SpreadRequest request{methods[rng() % 7], static_cast<double>(static_cast<int>(rng() % 400) - 100)};
        if (request.method == SpreadMethod::kRelative) {  // shaped like another leaf of dimension 0
          target[0] = testing_util::RandomLeafCoordinate(app, rng)[0];
          request.basis = {{0, testing_util::Id(app, 0, testing_util::RandomLeafCoordinate(app, rng)[0])}};
        }
        std::vector<Coordinate> hold_coords;
        for (const Raw& h : holds) hold_coords.push_back(testing_util::ToCoordinate(app, h));
        auto reference = *Cube::Create(app.model);
        const std::map<Raw, CellValue> merged = Merge(app.cells, mine);
        std::vector<CellWrite> load;
        for (const auto& [c, v] : merged) load.push_back({testing_util::ToCoordinate(app, c), v});
        ASSERT_TRUE(reference->Write(load).ok());
        auto want = reference->Spread(testing_util::ToCoordinate(app, target), request, hold_coords, "", 5000);
        auto got = sb.Spread(testing_util::ToCoordinate(app, target), request, hold_coords, 5000);
        ASSERT_EQ(got.status().code(), want.status().code()) << got.status() << " vs " << want.status();
        if (!got.ok()) {
          ++spreads_failed;
          continue;
        }
        ++spreads_ok;
        // Every leaf as the reference has it; the cells whose value moved at all are the
        // sandbox's from now on.
        for (const Raw& c : leaves) {
          const Coordinate coord = testing_util::ToCoordinate(app, c);
          CellValue now = *sb.ReadCell(coord);
          CellValue ref = *reference->ReadCell(coord);
          ASSERT_TRUE(SameValue(now, ref)) << app.model.FormatCoordinate(coord) << ": sandbox " << Describe(now)
                                           << ", reference " << Describe(ref);
          auto it = merged.find(c);
          CellValue was = it == merged.end() ? CellValue::Empty() : it->second;
          if (now == was) continue;
          mine[c] = now;
          first_step.try_emplace(c, step);
        }
      }
      // Reads through the sandbox at random coordinates, and a whole grid.
      RandomApp expected = app;
      expected.cells = Merge(app.cells, mine);
      for (int r = 0; r < 12; ++r) {
        Raw c = rng() % 2 ? testing_util::RandomLeafCoordinate(app, rng) : RandomMember(app, rng);
        auto got = sb.ReadCell(testing_util::ToCoordinate(app, c));
        ASSERT_TRUE(got.ok()) << got.status();
        CellValue want = expected.Evaluate(c);
        ASSERT_TRUE(SameValue(*got, want)) << "model " << model << " step " << step << " at "
                                           << app.model.FormatCoordinate(testing_util::ToCoordinate(app, c))
                                           << ": sandbox " << Describe(*got) << ", expected " << Describe(want);
      }
      GridQuery q;
      std::vector<MemberId> all;
      for (MemberId m = 0; m < app.model.dimensions[0].member_count(); ++m) all.push_back(m);
      q.rows = CrossJoin({0}, {all});
      q.cols.tuples = {{}};
      Raw fixed = RandomMember(app, rng);
      for (size_t d = 1; d < app.raw.size(); ++d) q.slicers.emplace_back(static_cast<int>(d), testing_util::Id(app, static_cast<int>(d), fixed[d]));
      Cube::ReadOptions ro;
      ro.use_cache = rng() % 2;
      auto grid = sb.Query(q, ro);
      ASSERT_TRUE(grid.ok()) << grid.status();
      ResolvedGrid rg = *ResolveGrid(app.model, q);
      for (size_t r = 0; r < grid->rows; ++r) {
        Coordinate coord = rg.CellCoordinate(q, r, 0);
        Raw raw;
        for (size_t d = 0; d < coord.size(); ++d) {
          const std::string& code = app.model.dimensions[d].member(coord[d]).code;
          raw.push_back(std::stoi(code.substr(code.find('m') + 1)));
        }
        ASSERT_TRUE(SameValue(grid->at(r, 0), expected.Evaluate(raw))) << "grid row " << r << " step " << step;
      }
    }

    // Conflicts: every sandbox cell whose app value changed after the sandbox first changed
    // it, and only cells the app touched since.
    auto conflicts = sb.Conflicts();
    ASSERT_TRUE(conflicts.ok());
    std::set<Raw> reported;
    for (const WriteConflict& c : *conflicts) {
      Raw raw;
      for (size_t d = 0; d < c.coord.size(); ++d) {
        const std::string& code = app.model.dimensions[d].member(c.coord[d]).code;
        raw.push_back(std::stoi(code.substr(code.find('m') + 1)));
      }
      ASSERT_TRUE(first_step.count(raw) && touched_step.count(raw) && touched_step[raw] >= first_step[raw])
          << app.model.FormatCoordinate(c.coord) << " reported but not touched since";
      reported.insert(raw);
    }
    for (const auto& [c, first] : first_step) {
      if (changed_step.count(c) && changed_step[c] >= first) {
        ASSERT_TRUE(reported.count(c)) << app.model.FormatCoordinate(testing_util::ToCoordinate(app, c)) << " not reported";
      }
    }
    conflicts_seen += static_cast<int>(reported.size());

    const std::map<Raw, CellValue> merged = Merge(app.cells, mine);
    if (!reported.empty()) {
      ASSERT_EQ(sb.Commit().status().code(), absl::StatusCode::kAborted);
    }
    auto commit = sb.Commit(ConflictPolicy::kKeepMine);
    ASSERT_TRUE(commit.ok()) << commit.status();
    EXPECT_EQ(commit->conflicts.size(), reported.size());
    RandomApp expected = app;
    expected.cells = merged;
    for (const Raw& c : leaves)
      ASSERT_TRUE(SameValue(*cube->ReadCell(testing_util::ToCoordinate(app, c)), expected.Evaluate(c)))
          << "after commit, model " << model;
    for (int r = 0; r < 10; ++r) {
      Raw c = RandomMember(app, rng);
      ASSERT_TRUE(SameValue(*cube->ReadCell(testing_util::ToCoordinate(app, c)), expected.Evaluate(c)));
    }
  }
  // The generator must exercise both outcomes.
  EXPECT_GT(spreads_ok, 20);
  EXPECT_GT(spreads_failed, 0);
  EXPECT_GT(conflicts_seen, 5);
}

}  // namespace
}  // namespace quantatom
