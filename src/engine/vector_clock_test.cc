// Vector clocks across sandboxes (docs/durability.md, "Vector clocks"): the worked example of
// the doc with its exact vectors, and random fork / write / merge / commit sequences against a
// brute-force model that keeps each value's causal history as an explicit set of events.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>
#include <set>

#include "base/strings.h"
#include "engine/sandbox.h"

namespace quantatom {
namespace {

// Account a, b, c under Total; Region North, South under World.
std::unique_ptr<Cube> SmallCube() {
  DimensionBuilder account("Account", DimensionType::kGeneric);
  for (const char* m : {"Total", "a", "b", "c"}) EXPECT_TRUE(account.AddMember(m).ok());
  for (const char* m : {"a", "b", "c"}) EXPECT_TRUE(account.AddEdge(m, "Total").ok());
  DimensionBuilder region("Region", DimensionType::kGeneric);
  for (const char* m : {"World", "North", "South"}) EXPECT_TRUE(region.AddMember(m).ok());
  EXPECT_TRUE(region.AddEdge("North", "World").ok());
  EXPECT_TRUE(region.AddEdge("South", "World").ok());
  AppModel model;
  model.name = "small";
  model.dimensions.push_back(*std::move(account).Build());
  model.dimensions.push_back(*std::move(region).Build());
  return *Cube::Create(std::move(model));
}

Coordinate At(const Cube& cube, const std::string& text) { return *cube.model().ParseCoordinate(text); }
CellValue Num(double v) { return CellValue::Number(v); }
std::string Vec(const std::optional<VersionVector>& v) { return v ? v->ToString() : "none"; }

// docs/durability.md, "Vector clocks", step by step.
TEST(VectorClockTest, WorkedExampleOfTheDoc) {
  auto cube = SmallCube();
  const Coordinate x = At(*cube, "Account=a,Region=North"), y = At(*cube, "Account=b,Region=North"),
                   z = At(*cube, "Account=c,Region=North");
  const uint64_t kx = cube->PackLeaf(x), ky = cube->PackLeaf(y), kz = cube->PackLeaf(z);
  // 1. The import: x = 10, y = 20, z = 5 is the app's first change.
  ASSERT_TRUE(cube->Write({{x, Num(10)}, {y, Num(20)}, {z, Num(5)}}, "loader").ok());
  ASSERT_EQ(cube->CurrentSeq(), 1u);
  EXPECT_EQ(cube->ClockAt(1).ToString(), "{app:1}");
  // 2. Ann opens sandbox A (replica 1), Bob sandbox B (replica 2).
  Sandbox a(cube.get(), "ann", 1), b(cube.get(), "bob", 2);
  EXPECT_EQ(a.forked_at().ToString(), "{app:1}");
  EXPECT_EQ(b.forked_at().ToString(), "{app:1}");
  // 3. Ann writes x = 11 in A.
  ASSERT_TRUE(a.Write({{x, Num(11)}}).ok());
  EXPECT_EQ(Vec(a.CellVector(kx)), "{app:1, 1:1}");
  // 4. Carol writes y = 21 in the app.
  ASSERT_TRUE(cube->Write({{y, Num(21)}}, "carol").ok());
  EXPECT_EQ(cube->ClockAt(cube->CurrentSeq()).ToString(), "{app:2}");
  // 5. Bob writes y = 22, then z = 6, in B; Ann writes y = 23 in A.
  ASSERT_TRUE(b.Write({{y, Num(22)}}).ok());
  ASSERT_TRUE(b.Write({{z, Num(6)}}).ok());
  ASSERT_TRUE(a.Write({{y, Num(23)}}).ok());
  EXPECT_EQ(Vec(b.CellVector(ky)), "{app:2, 2:1}");
  EXPECT_EQ(Vec(b.CellVector(kz)), "{app:2, 2:2}");
  EXPECT_EQ(Vec(a.CellVector(ky)), "{app:2, 1:2}");
  EXPECT_EQ(a.Clock().ToString(), "{app:2, 1:2}");
  // 6. Ann merges B into A. y: {app:2, 2:1} vs {app:2, 1:2} are concurrent; z: B's
  // {app:2, 2:2} is after the app's {app:1}.
  auto refused = a.MergeFrom(b, ConflictPolicy::kAbort);
  ASSERT_TRUE(absl::IsAborted(refused.status())) << refused.status();
  EXPECT_EQ(std::string(refused.status().message()),
            "cannot merge the sandbox of user 'bob' into that of user 'ann': 1 cell(s) changed concurrently in both, "
            "nothing merged: Account=b,Region=North: here 23, from 'bob' 22");
  EXPECT_EQ(a.Clock().ToString(), "{app:2, 1:2}");  // unchanged
  auto merged = a.MergeFrom(b, ConflictPolicy::kKeepTheirs);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->written, 1u);
  ASSERT_EQ(merged->conflicts.size(), 1u);
  EXPECT_EQ(merged->conflicts[0].key, ky);
  EXPECT_EQ(a.Clock().ToString(), "{app:2, 1:3, 2:2}");
  EXPECT_EQ(Vec(a.CellVector(ky)), "{app:2, 1:3, 2:1}");  // saw both sides: the resolution
  EXPECT_EQ(Vec(a.CellVector(kz)), "{app:2, 2:2}");       // fast-forwarded: B's vector
  EXPECT_EQ(a.ReadCell(y)->number, 23);
  EXPECT_EQ(a.ReadCell(z)->number, 6);
  // 7. Bob writes x = 12 in B, after the merge.
  ASSERT_TRUE(b.Write({{x, Num(12)}}).ok());
  EXPECT_EQ(Vec(b.CellVector(kx)), "{app:2, 2:3}");
  // 8. Ann commits A: every cell's app part covers the app's newest change of it.
  auto ca = a.Commit(ConflictPolicy::kAbort);
  ASSERT_TRUE(ca.ok()) << ca.status();
  EXPECT_EQ(ca->written, 3u);
  EXPECT_EQ(ca->superseded, 0u);
  EXPECT_EQ(cube->CurrentSeq(), 3u);
  EXPECT_EQ(cube->ClockAt(3).ToString(), "{app:3, 1:3, 2:2}");
  EXPECT_EQ(cube->ClockAt(2).ToString(), "{app:2}");
  // 9. Bob commits B. y {app:2, 2:1} and z {app:2, 2:2} were seen by A's commit (superseded,
  // not conflicts: comparing app seqs alone would call them conflicts); x {app:2, 2:3} is
  // concurrent with A's commit {app:3, 1:3, 2:2}.
  auto cb = b.Commit(ConflictPolicy::kAbort);
  ASSERT_TRUE(absl::IsAborted(cb.status())) << cb.status();
  EXPECT_EQ(std::string(cb.status().message()),
            "cannot commit the sandbox of user 'bob': 1 cell(s) changed since you read them, nothing written: "
            "Account=a,Region=North: now 11, yours 12 (changed by user 'ann' in change set 3 (sandbox commit))");
  auto preview = b.Conflicts();
  ASSERT_TRUE(preview.ok());
  ASSERT_EQ(preview->size(), 1u);
  EXPECT_EQ((*preview)[0].key, kx);
  cb = b.Commit(ConflictPolicy::kKeepMine);
  ASSERT_TRUE(cb.ok()) << cb.status();
  EXPECT_EQ(cb->written, 1u);
  EXPECT_EQ(cb->superseded, 2u);
  EXPECT_EQ(cb->conflicts.size(), 1u);
  EXPECT_EQ(cube->ClockAt(cube->CurrentSeq()).ToString(), "{app:4, 1:3, 2:3}");
  EXPECT_EQ(cube->ReadCell(x)->number, 12);
  EXPECT_EQ(cube->ReadCell(y)->number, 23);
  EXPECT_EQ(cube->ReadCell(z)->number, 6);
}

// ---- The brute-force model ----
//
// An event is (replica, counter); a history is the explicit set of events a value or a replica
// has seen. a happened before b exactly when a's set is a subset of b's. No vectors here.
using Event = std::pair<uint64_t, uint64_t>;
using Hist = std::set<Event>;
bool Subset(const Hist& a, const Hist& b) {
  for (const Event& e : a)
    if (!b.contains(e)) return false;
  return true;
}
VersionVector ToVector(const Hist& h) {  // per replica its newest event (the set is prefix-closed)
  VersionVector v;
  for (const auto& [r, c] : h) v.Set(r, std::max(v.Get(r), c));
  return v;
}
void Add(Hist* h, const Hist& more) { h->insert(more.begin(), more.end()); }

struct ModelCell {
  double value = 0;
  Hist hist;
};
struct ModelSandbox {
  uint64_t replica = 0;
  Hist seen;
  uint64_t ops = 0;
  std::map<uint64_t, ModelCell> cells;
  std::unique_ptr<Sandbox> real;
};
struct ModelApp {
  Hist seen;
  uint64_t seq = 0;
  std::map<uint64_t, ModelCell> cells;  // the cells ever changed: value and the app's history then
  void Tick() {
    seen.insert({kAppReplica, ++seq});
  }
};
Hist OwnUpTo(uint64_t replica, uint64_t k) {
  Hist h;
  for (uint64_t i = 1; i <= k; ++i) h.insert({replica, i});
  return h;
}

enum class Outcome { kApply, kSuperseded, kConflict };
// `theirs` arriving where the receiver's value has history `here`.
Outcome Decide(const Hist& theirs, const Hist& here) {
  if (Subset(here, theirs)) return Subset(theirs, here) ? Outcome::kSuperseded : Outcome::kApply;
  if (Subset(theirs, here)) return Outcome::kSuperseded;
  return Outcome::kConflict;
}

TEST(VectorClockTest, RandomSequencesMatchABruteForceHappensBeforeModel) {
  int commits = 0, merges = 0, superseded = 0, conflicts = 0;
  for (int seed = 1; seed <= 60; ++seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    std::mt19937_64 rng(seed);
    auto cube = SmallCube();
    std::vector<Coordinate> leaves;
    for (const char* acc : {"a", "b", "c"})
      for (const char* reg : {"North", "South"}) leaves.push_back(At(*cube, StrCat("Account=", acc, ",Region=", reg)));
    ModelApp app;
    std::vector<ModelSandbox> boxes;
    uint64_t next_replica = 1;
    auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
    for (int step = 0; step < 80; ++step) {
      const int what = static_cast<int>(rng() % 10);
      if (what <= 1 || boxes.empty()) {  // fork
        if (boxes.size() >= 4) continue;
        ModelSandbox s;
        s.replica = next_replica++;
        s.seen = app.seen;
        s.real = std::make_unique<Sandbox>(cube.get(), "u", s.replica);
        ASSERT_EQ(s.real->forked_at(), ToVector(app.seen));
        boxes.push_back(std::move(s));
      } else if (what == 2) {  // the app is written directly
        const size_t c = pick(leaves.size());
        const double v = static_cast<double>(rng() % 100);
        ASSERT_TRUE(cube->Write({{leaves[c], Num(v)}}, "carol").ok());
        app.Tick();
        app.cells[cube->PackLeaf(leaves[c])] = {v, app.seen};
      } else if (what <= 5) {  // a sandbox writes one or two cells
        ModelSandbox& s = boxes[pick(boxes.size())];
        std::vector<CellWrite> batch;
        const size_t n = 1 + pick(2);
        for (size_t i = 0; i < n; ++i) batch.push_back({leaves[pick(leaves.size())], Num(static_cast<double>(rng() % 100))});
        ASSERT_TRUE(s.real->Write(batch).ok());
        Add(&s.seen, app.seen);  // a sandbox's change reads the app as it is now
        s.seen.insert({s.replica, ++s.ops});
        for (const CellWrite& w : batch) {
          const uint64_t key = cube->PackLeaf(w.coord);
          auto [it, fresh] = s.cells.try_emplace(key, ModelCell{w.value.number, s.seen});
          if (!fresh) {
            it->second.value = w.value.number;
            Add(&it->second.hist, OwnUpTo(s.replica, s.ops));
          }
        }
      } else if (what <= 7 && boxes.size() >= 2) {  // merge one sandbox into another
        const size_t ti = pick(boxes.size());
        size_t si = pick(boxes.size() - 1);
        if (si >= ti) ++si;
        ModelSandbox& t = boxes[ti];
        ModelSandbox& s = boxes[si];
        const ConflictPolicy policy = static_cast<ConflictPolicy>(pick(3));
        std::map<uint64_t, Outcome> decided;
        size_t want_conflicts = 0, want_superseded = 0, want_written = 0;
        for (const auto& [key, cell] : s.cells) {
          Hist here;
          if (auto it = t.cells.find(key); it != t.cells.end()) here = it->second.hist;
          else if (auto a = app.cells.find(key); a != app.cells.end()) here = a->second.hist;
          decided[key] = Decide(cell.hist, here);
          want_conflicts += decided[key] == Outcome::kConflict;
          want_superseded += decided[key] == Outcome::kSuperseded;
          want_written += decided[key] == Outcome::kApply ||
                          (decided[key] == Outcome::kConflict && policy == ConflictPolicy::kKeepMine);
        }
        auto got = t.real->MergeFrom(*s.real, policy);
        if (want_conflicts > 0 && policy == ConflictPolicy::kAbort) {
          ASSERT_TRUE(absl::IsAborted(got.status())) << got.status();
          continue;
        }
        ASSERT_TRUE(got.ok()) << got.status();
        ++merges;
        EXPECT_EQ(got->conflicts.size(), want_conflicts);
        EXPECT_EQ(got->superseded, want_superseded);
        EXPECT_EQ(got->written, want_written);
        superseded += static_cast<int>(want_superseded);
        conflicts += static_cast<int>(want_conflicts);
        const uint64_t op = t.ops + 1;
        for (const auto& [key, cell] : s.cells) {
          Hist here;
          auto mine = t.cells.find(key);
          if (mine != t.cells.end()) here = mine->second.hist;
          else if (auto a = app.cells.find(key); a != app.cells.end()) here = a->second.hist;
          if (decided[key] == Outcome::kApply) {
            t.cells[key] = cell;
          } else if (decided[key] == Outcome::kConflict) {
            Hist both = cell.hist;
            Add(&both, here);
            Add(&both, OwnUpTo(t.replica, op));
            if (policy == ConflictPolicy::kKeepMine) t.cells[key] = {cell.value, both};
            else if (mine != t.cells.end()) mine->second.hist = both;
          }
        }
        Add(&t.seen, s.seen);
        t.seen.insert({t.replica, t.ops = op});
      } else {  // commit a sandbox into the app
        const size_t si = pick(boxes.size());
        ModelSandbox& s = boxes[si];
        const ConflictPolicy policy = static_cast<ConflictPolicy>(pick(3));
        std::map<uint64_t, Outcome> decided;
        size_t want_conflicts = 0, want_superseded = 0, want_written = 0;
        for (const auto& [key, cell] : s.cells) {
          auto a = app.cells.find(key);
          decided[key] = a == app.cells.end() ? Outcome::kApply : Decide(cell.hist, a->second.hist);
          if (a != app.cells.end() && Subset(a->second.hist, cell.hist)) decided[key] = Outcome::kApply;
          want_conflicts += decided[key] == Outcome::kConflict;
          want_superseded += decided[key] == Outcome::kSuperseded;
          want_written += decided[key] == Outcome::kApply ||
                          (decided[key] == Outcome::kConflict && policy == ConflictPolicy::kKeepMine);
        }
        auto got = s.real->Commit(policy);
        if (want_conflicts > 0 && policy == ConflictPolicy::kAbort) {
          ASSERT_TRUE(absl::IsAborted(got.status())) << got.status();
          continue;
        }
        ASSERT_TRUE(got.ok()) << got.status();
        ++commits;
        EXPECT_EQ(got->conflicts.size(), want_conflicts);
        EXPECT_EQ(got->superseded, want_superseded);
        EXPECT_EQ(got->written, want_written);
        superseded += static_cast<int>(want_superseded);
        conflicts += static_cast<int>(want_conflicts);
        Add(&app.seen, s.seen);
        app.Tick();
        for (const auto& [key, cell] : s.cells)
          if (decided[key] == Outcome::kApply || (decided[key] == Outcome::kConflict && policy == ConflictPolicy::kKeepMine))
            app.cells[key] = {cell.value, app.seen};
        boxes.erase(boxes.begin() + static_cast<ptrdiff_t>(si));
      }
      // After every step: the app's values, clock, and every sandbox cell's vector.
      ASSERT_EQ(cube->CurrentSeq(), app.seq);
      ASSERT_EQ(cube->ClockAt(app.seq), ToVector(app.seen));
      for (const auto& [key, cell] : app.cells) {
        const CellValue got = cube->WithStoreAt([&](const CellStore& st, uint64_t) { return st.Get(key); });
        ASSERT_TRUE(got.is_number());
        ASSERT_EQ(got.number, cell.value);
      }
      for (const ModelSandbox& s : boxes) {
        ASSERT_EQ(s.real->Clock(), ToVector(s.seen));
        ASSERT_EQ(s.real->size(), s.cells.size());
        for (const auto& [key, cell] : s.cells) {
          ASSERT_EQ(Vec(s.real->CellVector(key)), ToVector(cell.hist).ToString()) << "replica " << s.replica << " key " << key;
        }
      }
    }
  }
  // The seeds reach every case often, not once.
  EXPECT_GT(commits, 100);
  EXPECT_GT(merges, 100);
  EXPECT_GT(superseded, 30);
  EXPECT_GT(conflicts, 30);
  std::printf("%d commits, %d merges, %d cells superseded, %d conflicts\n", commits, merges, superseded, conflicts);
}

}  // namespace
}  // namespace quantatom
