// Undo and redo of a large change set (a bulk write) through the durable layer: the cells after
// each step against a plain std::map model kept by the test, after a reopen (replay of the log)
// and after a checkpoint; the undo's log record against bytes laid out by hand from
// docs/formats/change-record.md; undo interleaved with another user's writes.
#include <gtest/gtest.h>

#include <map>

#include "durable/durable_app.h"
#include "durable/durable_testutil.h"
#include "wal/log_reader.h"

namespace quantatom::durable {
namespace {

using testing_util::Cells;
using testing_util::FreshDir;
using testing_util::Leaf;
using testing_util::SmallApp;

using Model = std::map<uint64_t, double>;

// 20,000 items x 4 slots: a bulk write of every one of the 80,000 cells takes the cube's
// sorted path for large batches (64k cells or more) both ways.
constexpr int kItems = 20'000;

struct Fixture {
  std::string dir;
  std::unique_ptr<DurableApp> app;
  Model before, after;  // the cells before and after the bulk write
  std::vector<CellWrite> bulk;
};

absl::StatusOr<std::unique_ptr<DurableApp>> Reopen(const std::string& dir) { return DurableApp::Open(DataFolder(dir), "big"); }

// Some cells set by "admin" first (every 7th: the bulk write overwrites most and clears some),
// then ann's bulk write of every cell, in an order that is not the key order.
Fixture Make(const std::string& name) {
  Fixture f;
  f.dir = FreshDir(name);
  auto created = DurableApp::Create(DataFolder(f.dir), SmallApp("big", kItems), "admin", false);
  EXPECT_TRUE(created.ok()) << created.status();
  f.app = *std::move(created);
  const Cube& cube = f.app->cube();
  std::vector<CellWrite> first;
  for (int item = 0; item < kItems; ++item)
    for (int slot = 0; slot < 4; ++slot) {
      const int i = item * 4 + slot;
      if (i % 7 == 0) {
        first.push_back({Leaf(cube, item, slot), CellValue::Number(i * 0.5)});
        f.before[cube.PackLeaf(first.back().coord)] = i * 0.5;
      }
    }
  EXPECT_TRUE(f.app->Write(first, "admin").ok());
  f.after = f.before;
  for (int slot = 3; slot >= 0; --slot)
    for (int item = 0; item < kItems; ++item) {
      const int i = item * 4 + slot;
      const uint64_t key = cube.PackLeaf(Leaf(cube, item, slot));
      if (i % 7 == 0 && i % 3 == 0) {  // clears a cell admin set
        f.bulk.push_back({Leaf(cube, item, slot), CellValue::Empty()});
        f.after.erase(key);
      } else {
        f.bulk.push_back({Leaf(cube, item, slot), CellValue::Number(1000 + i)});
        f.after[key] = 1000 + i;
      }
    }
  return f;
}

TEST(BulkUndoTest, LargeWriteUndoRedoMatchesAMapThroughReplayAndCheckpoint) {
  Fixture f = Make("bulk_undo");
  ASSERT_NE(f.app, nullptr);
  ASSERT_EQ(f.bulk.size(), 80'000u);
  ASSERT_TRUE(f.app->Write(f.bulk, "ann").ok());
  EXPECT_EQ(Cells(f.app->cube()), f.after);

  absl::StatusOr<uint64_t> undone = f.app->Undo("ann");
  ASSERT_TRUE(undone.ok()) << undone.status();
  EXPECT_EQ(*undone, 2u);
  EXPECT_EQ(Cells(f.app->cube()), f.before);
  // A grid total sees the undo (the cache of totals was invalidated).
  EXPECT_EQ(*f.app->cube().ReadCell(*f.app->cube().model().ParseCoordinate("item=all,slot=tot")),
            CellValue::Number([&] {
              double s = 0;
              for (const auto& [k, v] : f.before) s += v;
              return s;
            }()));

  f.app.reset();
  auto reopened = Reopen(f.dir);  // replays admin's write, ann's write and the undo
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  f.app = *std::move(reopened);
  EXPECT_EQ(Cells(f.app->cube()), f.before);

  absl::StatusOr<uint64_t> redone = f.app->Redo("ann");
  ASSERT_TRUE(redone.ok()) << redone.status();
  EXPECT_EQ(Cells(f.app->cube()), f.after);
  f.app.reset();
  reopened = Reopen(f.dir);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  f.app = *std::move(reopened);
  EXPECT_EQ(Cells(f.app->cube()), f.after);

  // From a snapshot (the history kept with it), then undone again and replayed again.
  ASSERT_TRUE(f.app->Checkpoint().ok());
  f.app.reset();
  reopened = Reopen(f.dir);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  f.app = *std::move(reopened);
  EXPECT_EQ(Cells(f.app->cube()), f.after);
  ASSERT_TRUE(f.app->Undo("ann").ok());
  EXPECT_EQ(Cells(f.app->cube()), f.before);
  f.app.reset();
  reopened = Reopen(f.dir);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  f.app = *std::move(reopened);
  EXPECT_EQ(Cells(f.app->cube()), f.before);

  // The audit trail has one entry per cell of each undo and redo, with the values the model
  // says: an undo goes from the write's value back to the one before (0 entries: empty).
  auto audit = f.app->Audit({});
  ASSERT_TRUE(audit.ok()) << audit.status();
  std::map<std::string, uint64_t> key_of;
  for (int item = 0; item < kItems; ++item)
    for (int slot = 0; slot < 4; ++slot) {
      const Coordinate leaf = Leaf(f.app->cube(), item, slot);
      key_of[f.app->cube().model().FormatCoordinate(leaf)] = f.app->cube().PackLeaf(leaf);
    }
  size_t undos = 0, redos = 0;
  auto value = [](const Model& m, uint64_t key) {
    auto it = m.find(key);
    return it == m.end() ? CellValue::Empty() : CellValue::Number(it->second);
  };
  for (const audit::AuditEntry& e : *audit) {
    if (e.cause != "undo" && e.cause != "redo") continue;
    (e.cause == "undo" ? undos : redos)++;
    ASSERT_TRUE(key_of.contains(e.coordinate)) << e.coordinate;
    const uint64_t key = key_of[e.coordinate];
    const Model& from = e.cause == "undo" ? f.after : f.before;
    const Model& to = e.cause == "undo" ? f.before : f.after;
    ASSERT_EQ(e.before, value(from, key)) << e.cause << " " << e.coordinate;
    ASSERT_EQ(e.after, value(to, key)) << e.cause << " " << e.coordinate;
  }
  EXPECT_EQ(undos, 2 * f.bulk.size());
  EXPECT_EQ(redos, f.bulk.size());
}

// Another user's write to a cell the bulk write did not touch does not stop the undo; one to a
// cell it did stops it (Aborted naming the cell, nothing changed) until that write is undone.
TEST(BulkUndoTest, UndoInterleavedWithAnotherUsersWrites) {
  Fixture f = Make("bulk_undo_interleaved");
  ASSERT_NE(f.app, nullptr);
  // Ann's bulk write leaves item 0, slot 0 out: Bob writes there.
  const Cube& cube = f.app->cube();
  const uint64_t outside = cube.PackLeaf(Leaf(cube, 0, 0));
  std::erase_if(f.bulk, [&](const CellWrite& w) { return cube.PackLeaf(w.coord) == outside; });
  if (f.before.contains(outside)) f.after[outside] = f.before[outside];
  else f.after.erase(outside);
  ASSERT_GE(f.bulk.size(), 65'536u);
  ASSERT_TRUE(f.app->Write(f.bulk, "ann").ok());
  ASSERT_TRUE(f.app->Write({{Leaf(cube, 0, 0), CellValue::Number(-1)}}, "bob").ok());
  Model before = f.before, after = f.after;
  before[outside] = after[outside] = -1;
  EXPECT_EQ(Cells(f.app->cube()), after);

  ASSERT_TRUE(f.app->Undo("ann").ok());
  EXPECT_EQ(Cells(f.app->cube()), before);
  ASSERT_TRUE(f.app->Redo("ann").ok());
  EXPECT_EQ(Cells(f.app->cube()), after);

  // Bob overwrites a cell of ann's write (item 5, slot 2).
  const uint64_t inside = cube.PackLeaf(Leaf(cube, 5, 2));
  ASSERT_TRUE(f.after.contains(inside));
  ASSERT_TRUE(f.app->Write({{Leaf(cube, 5, 2), CellValue::Number(-2)}}, "bob").ok());
  Model bobs = after;
  bobs[inside] = -2;
  absl::StatusOr<uint64_t> refused = f.app->Undo("ann");
  ASSERT_TRUE(absl::IsAborted(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("item=i5"), std::string_view::npos) << refused.status();
  EXPECT_NE(refused.status().message().find("user 'bob'"), std::string_view::npos) << refused.status();
  EXPECT_EQ(Cells(f.app->cube()), bobs);

  // Bob takes his back; now ann's undo goes through and keeps bob's first write.
  ASSERT_TRUE(f.app->Undo("bob").ok());
  EXPECT_EQ(Cells(f.app->cube()), after);
  ASSERT_TRUE(f.app->Undo("ann").ok());
  EXPECT_EQ(Cells(f.app->cube()), before);

  f.app.reset();
  auto reopened = Reopen(f.dir);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(Cells((*reopened)->cube()), before);
}

std::string U32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
std::string U64(uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }
std::string Str(const std::string& s) { return U32(static_cast<uint32_t>(s.size())) + s; }
std::string Num(double v) { return std::string("\x01", 1) + std::string(reinterpret_cast<const char*>(&v), 8); }
const std::string kEmpty("\x00", 1);

// The undo and redo records DurableApp logs have the bytes docs/formats/change-record.md gives,
// laid out by hand: an undo lists the cells backwards, each from the value the write left to
// the one before it; a redo lists them as the write did.
TEST(BulkUndoTest, UndoAndRedoRecordsHaveTheDocumentedBytes) {
  const std::string dir = FreshDir("undo_bytes");
  auto created = DurableApp::Create(DataFolder(dir), SmallApp("big", 4), "admin", false);
  ASSERT_TRUE(created.ok()) << created.status();
  DurableApp& app = **created;
  const Cube& cube = app.cube();
  ASSERT_TRUE(app.Write({{Leaf(cube, 2, 0), CellValue::Number(5)}}, "ann").ok());
  ASSERT_TRUE(app.Write({{Leaf(cube, 0, 0), CellValue::Number(1)},
                         {Leaf(cube, 1, 0), CellValue::Text("t")},
                         {Leaf(cube, 0, 0), CellValue::Number(2)},
                         {Leaf(cube, 2, 0), CellValue::Empty()}},
                        "bob")
                  .ok());
  ASSERT_TRUE(app.Undo("bob").ok());
  ASSERT_TRUE(app.Redo("bob").ok());
  const uint64_t k0 = cube.PackLeaf(Leaf(cube, 0, 0)), k1 = cube.PackLeaf(Leaf(cube, 1, 0)),
                 k2 = cube.PackLeaf(Leaf(cube, 2, 0));
  auto log = wal::ReadLog(StrCat(dir, "/apps/big.log"));
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_GE(log->records.size(), 2u);
  const std::string& undo = log->records[log->records.size() - 2].payload;
  const std::string& redo = log->records.back().payload;
  // Version, then the time (not known here: skipped), user and cause, then the one part.
  auto after_time = [](const std::string& p) { return p.substr(9); };
  ASSERT_GT(undo.size(), 9u);
  EXPECT_EQ(undo[0], '\x01');
  EXPECT_EQ(after_time(undo), Str("bob") + Str("undo") +                      //
                                  std::string("\x02", 1) + Str("bob") + U64(2) + U64(4) +  // undo of set 2, 4 cells
                                  U64(k2) + kEmpty + Num(5) +                              // clear undone
                                  U64(k0) + Num(2) + Num(1) +                              // second write of k0
                                  U64(k1) + std::string("\x02", 1) + Str("t") + kEmpty +   // text
                                  U64(k0) + Num(1) + kEmpty);                              // first write of k0
  EXPECT_EQ(after_time(redo), Str("bob") + Str("redo") +  //
                                  std::string("\x03", 1) + Str("bob") + U64(2) + U64(4) +  //
                                  U64(k0) + kEmpty + Num(1) +                              //
                                  U64(k1) + kEmpty + std::string("\x02", 1) + Str("t") +   //
                                  U64(k0) + Num(1) + Num(2) +                              //
                                  U64(k2) + Num(5) + kEmpty);
}

}  // namespace
}  // namespace quantatom::durable
