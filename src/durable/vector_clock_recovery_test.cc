// Vector clocks survive a restart (docs/durability.md, "Vector clocks"): a sandbox commit's
// merged vector comes back from the log and from a checkpoint, and a sandbox kept as a section
// keeps its cell vectors, so that committing it after the restart decides exactly as before.
#include <gtest/gtest.h>

#include "durable/durable_app.h"
#include "durable/durable_testutil.h"
#include "engine/sandbox.h"
#include "model/cell_value_codec.h"

namespace quantatom::durable {
namespace {

using testing_util::Cells;
using testing_util::FreshDir;
using testing_util::Leaf;
using testing_util::SmallApp;

absl::Status CommitSandbox(DurableApp& app, Sandbox& box, ConflictPolicy policy, SandboxCommit* out) {
  return app.Mutate(box.user(), "sandbox commit", [&](Cube&, Layers& layers) -> absl::Status {
    QA_ASSIGN_OR_RETURN(*out, box.Commit(policy));
    layers.Remove(StrCat("sandbox:", box.user()));
    return absl::OkStatus();
  });
}

TEST(VectorClockRecoveryTest, CommitVectorsAndSandboxVectorsSurviveLogReplayAndCheckpoint) {
  const std::string dir = FreshDir("vector_clocks");
  uint64_t s0 = 0;
  {
    auto app = DurableApp::Create(DataFolder(dir), SmallApp("t"), "admin", false);
    ASSERT_TRUE(app.ok()) << app.status();
    DurableApp& d = **app;
    Cube* cube = d.mutable_cube();
    const Coordinate x = Leaf(*cube, 0, 0), y = Leaf(*cube, 1, 0), z = Leaf(*cube, 2, 0);
    s0 = cube->CurrentSeq();
    ASSERT_TRUE(d.Write({{x, CellValue::Number(1)}}, "carol").ok());  // app seq s0 + 1
    Sandbox a(cube, "ann", 11), b(cube, "bob", 22);
    ASSERT_TRUE(a.Write({{x, CellValue::Number(10)}}).ok());                               // A: {app:s0+1, 11:1}
    ASSERT_TRUE(b.Write({{y, CellValue::Number(20)}}).ok());                               // B: {app:s0+1, 22:1}
    ASSERT_TRUE(b.Write({{z, CellValue::Number(30)}}).ok());                               // B: {app:s0+1, 22:2}
    auto merged = a.MergeFrom(b);                                                          // A: {app:s0+1, 11:2, 22:2}
    ASSERT_TRUE(merged.ok()) << merged.status();
    EXPECT_EQ(merged->written, 2u);
    ASSERT_TRUE(b.Write({{x, CellValue::Number(40)}}).ok());                               // B: {app:s0+1, 22:3}
    ASSERT_TRUE(d.SetSection("sandbox:bob", b.Encode(), "bob", "sandbox write").ok());
    SandboxCommit commit;
    ASSERT_TRUE(CommitSandbox(d, a, ConflictPolicy::kAbort, &commit).ok());
    EXPECT_EQ(commit.written, 3u);
    EXPECT_EQ(cube->ClockAt(cube->CurrentSeq()).ToString(), StrCat("{app:", s0 + 2, ", 11:2, 22:2}"));
  }
  // Round 0 from the log alone, round 1 from the checkpoint, round 2 commits Bob's sandbox and
  // round 3 reads that back from the log.
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE(testing::Message() << "round " << round);
    auto app = DurableApp::Open(DataFolder(dir), "t");
    ASSERT_TRUE(app.ok()) << app.status();
    DurableApp& d = **app;
    Cube* cube = d.mutable_cube();
    const uint64_t kx = cube->PackLeaf(Leaf(*cube, 0, 0));
    EXPECT_EQ(cube->ClockAt(s0 + 1).ToString(), StrCat("{app:", s0 + 1, "}"));
    EXPECT_EQ(cube->ClockAt(s0 + 2).ToString(), StrCat("{app:", s0 + 2, ", 11:2, 22:2}"));
    if (round == 3) {
      EXPECT_EQ(cube->ClockAt(cube->CurrentSeq()).ToString(), StrCat("{app:", s0 + 3, ", 11:2, 22:3}"));
      EXPECT_EQ(cube->ReadCell(Leaf(*cube, 0, 0))->number, 40);
      EXPECT_EQ(cube->ReadCell(Leaf(*cube, 1, 0))->number, 20);
      EXPECT_EQ(cube->ReadCell(Leaf(*cube, 2, 0))->number, 30);
      EXPECT_FALSE(d.Section("sandbox:bob").has_value());
      break;
    }
    auto bytes = d.Section("sandbox:bob");
    ASSERT_TRUE(bytes.has_value());
    auto b = Sandbox::Restore(cube, "bob", *bytes, "t");
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ((*b)->replica(), 22u);
    EXPECT_EQ((*b)->Clock().ToString(), StrCat("{app:", s0 + 1, ", 22:3}"));
    EXPECT_EQ((*b)->CellVector(kx)->ToString(), StrCat("{app:", s0 + 1, ", 22:3}"));
    // y and z reached the app through Ann's merge (superseded); x is concurrent.
    auto refused = (*b)->Commit(ConflictPolicy::kAbort);
    ASSERT_TRUE(absl::IsAborted(refused.status())) << refused.status();
    EXPECT_NE(std::string(refused.status().message()).find("1 cell(s) changed since you read them"), std::string::npos)
        << refused.status();
    EXPECT_NE(std::string(refused.status().message()).find("item=i0,slot=s0: now 10, yours 40"), std::string::npos)
        << refused.status();
    if (round == 0) {
      EXPECT_EQ(d.report().replayed, 3u);  // carol's write, Bob's section, Ann's commit
      ASSERT_TRUE(d.Checkpoint().ok());
    } else if (round == 1) {
      EXPECT_EQ(d.report().replayed, 0u);
    } else {
      SandboxCommit commit;
      ASSERT_TRUE(CommitSandbox(d, **b, ConflictPolicy::kKeepMine, &commit).ok());
      EXPECT_EQ(commit.written, 1u);
      EXPECT_EQ(commit.superseded, 2u);
    }
  }
}

// A sandbox saved before vector clocks (version 1: a seq per cell) still loads: each cell
// becomes {app: its seq, own: 1}, and commit decides as the seq comparison did.
TEST(VectorClockRecoveryTest, SandboxBytesWrittenBeforeVectorClocksStillLoad) {
  auto cube = SmallApp("t");
  ASSERT_NE(cube, nullptr);
  ASSERT_TRUE(cube->Write({{Leaf(*cube, 0, 0), CellValue::Number(1)}}, "carol").ok());
  const uint64_t seen = cube->CurrentSeq();
  ASSERT_TRUE(cube->Write({{Leaf(*cube, 1, 0), CellValue::Number(2)}}, "carol").ok());
  ByteWriter w;
  w.Put(uint64_t{1});  // version 1
  w.Put(uint64_t{2});  // two cells: key, seq, value
  for (int item : {0, 1}) {
    w.Put(cube->PackLeaf(Leaf(*cube, item, 0)));
    w.Put(seen);
    PutCellValueFull(w, CellValue::Number(100.0 + item));
  }
  auto box = Sandbox::Restore(cube.get(), "ann", w.Take(), "t");
  ASSERT_TRUE(box.ok()) << box.status();
  const uint64_t r = (*box)->replica();
  EXPECT_NE(r, kAppReplica);
  EXPECT_EQ((*box)->CellVector(cube->PackLeaf(Leaf(*cube, 0, 0)))->ToString(), StrCat("{app:", seen, ", ", r, ":1}"));
  // Item 1 changed after `seen`: the one conflict, as with seqs.
  auto conflicts = (*box)->Conflicts();
  ASSERT_TRUE(conflicts.ok());
  ASSERT_EQ(conflicts->size(), 1u);
  EXPECT_EQ((*conflicts)[0].key, cube->PackLeaf(Leaf(*cube, 1, 0)));
}

}  // namespace
}  // namespace quantatom::durable
