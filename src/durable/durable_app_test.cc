#include "durable/durable_app.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <thread>

#include "base/file_util.h"
#include "durable/durable_testutil.h"
#include "wal/log_reader.h"

namespace quantatom::durable {
namespace {

using testing_util::Cells;
using testing_util::FreshDir;
using testing_util::Leaf;
using testing_util::SmallApp;

std::unique_ptr<DurableApp> CreateSmall(const std::string& dir, DurableOptions options = {}) {
  auto app = DurableApp::Create(DataFolder(dir), SmallApp("t"), "admin", false, options);
  EXPECT_TRUE(app.ok()) << app.status();
  return app.ok() ? *std::move(app) : nullptr;
}

absl::StatusOr<std::unique_ptr<DurableApp>> Reopen(const std::string& dir, DurableOptions options = {}) {
  return DurableApp::Open(DataFolder(dir), "t", options);
}

absl::Status Put(DurableApp& app, int item, int slot, double v, const std::string& user = "ann") {
  return app.Write({{Leaf(app.cube(), item, slot), CellValue::Number(v)}}, user);
}

// Every kind of mutation survives a reopen (from the log alone, then from a checkpoint plus
// the log), against values worked out by hand.
TEST(DurableAppTest, MutationsSurviveReopenFromLogAndCheckpoint) {
  const std::string dir = FreshDir("reopen");
  std::map<uint64_t, double> expected;
  {
    auto app = CreateSmall(dir);
    const Cube& c = app->cube();
    ASSERT_TRUE(Put(*app, 0, 0, 10).ok());
    ASSERT_TRUE(Put(*app, 1, 0, 30).ok());
    // Spread 80 into item=all,slot=s0 proportionally: 10:30 -> 20:60.
    SpreadRequest req{SpreadMethod::kProportional, 80};
    auto spread = app->Spread(*c.model().ParseCoordinate("item=all,slot=s0"), req, {}, "bob");
    ASSERT_TRUE(spread.ok()) << spread.status();
    ASSERT_TRUE(Put(*app, 2, 1, 5, "bob").ok());
    ASSERT_TRUE(app->Undo("bob").ok());  // takes back the 5
    ASSERT_TRUE(app->SetHold("ann", Leaf(c, 3, 3), true).ok());
    ASSERT_TRUE(app->SetSection("comments", "some bytes", "ann", "comment").ok());
    expected[c.PackLeaf(Leaf(c, 0, 0))] = 20;
    expected[c.PackLeaf(Leaf(c, 1, 0))] = 60;
    EXPECT_EQ(Cells(c), expected);
  }
  for (int round = 0; round < 2; ++round) {
    auto app = Reopen(dir);
    ASSERT_TRUE(app.ok()) << app.status();
    EXPECT_EQ(Cells((*app)->cube()), expected);
    EXPECT_EQ((*app)->Section("comments"), "some bytes");
    EXPECT_EQ((*app)->cube().Holds("ann").size(), 1u);
    // The history came back too: bob can redo his undone write.
    if (round == 0) {
      EXPECT_EQ((*app)->report().replayed, 7u);
      ASSERT_TRUE((*app)->Checkpoint().ok());
      EXPECT_EQ((*app)->log_bytes(), 0u);
    } else {
      EXPECT_EQ((*app)->report().replayed, 0u);
      ASSERT_TRUE((*app)->Redo("bob").ok());
      EXPECT_EQ((*app)->cube().ReadCell(Leaf((*app)->cube(), 2, 1))->number, 5);
    }
  }
}

// A failed mutation logs nothing (the CLI tests rely on it: bad input changes nothing).
TEST(DurableAppTest, RejectedMutationAppendsNoRecord) {
  const std::string dir = FreshDir("reject");
  auto app = CreateSmall(dir);
  ASSERT_TRUE(Put(*app, 0, 0, 1).ok());
  const uint64_t bytes = app->log_bytes();
  Coordinate total = *app->cube().model().ParseCoordinate("item=all,slot=s0");
  EXPECT_FALSE(app->Write({{total, CellValue::Number(1)}}, "ann").ok());  // not a leaf
  EXPECT_TRUE(absl::IsNotFound(app->Undo("nobody").status()));
  EXPECT_EQ(app->log_bytes(), bytes);
  EXPECT_EQ(app->last_seq(), 2u);  // the import's seq 1, one write
}

// Replaces a file's bytes without fsync (the tests' own edits need no durability).
void Overwrite(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Writes, then the log cut at every byte offset: the app opens with exactly the writes whose
// records are whole (each write was its own batch), never more, never a crash.
TEST(DurableAppTest, LogCutAtEveryOffsetRecoversExactlyTheWholeRecords) {
  const std::string dir = FreshDir("cut");
  std::vector<std::map<uint64_t, double>> states;  // after k writes
  std::vector<uint64_t> ends;                      // log size after k writes
  {
    auto app = CreateSmall(dir);
    states.push_back(Cells(app->cube()));
    ends.push_back(0);
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(Put(*app, i % 5, i % 3, i + 1).ok());
      states.push_back(Cells(app->cube()));
      ends.push_back(app->log_bytes());
    }
  }
  const std::string log = dir + "/apps/t.log";
  std::string bytes = *ReadFile(log);
  ASSERT_GE(bytes.size(), ends.back());
  ASSERT_EQ(bytes.find_first_not_of('\0', ends.back()), std::string::npos) << "preallocated zeros after the records";
  bytes.resize(ends.back());
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    // Every third cut keeps zeros after it, as a torn batch over preallocated room leaves them.
    Overwrite(log, bytes.substr(0, cut) + std::string(cut % 3 == 0 ? 300 : 0, '\0'));
    // Read-only opens at every offset (fast: no fsync); every 16th also writable, which must
    // cut the torn tail from the file and append after it.
    DurableOptions options;
    options.read_only = cut % 16 != 0;
    auto app = Reopen(dir, options);
    ASSERT_TRUE(app.ok()) << "cut at " << cut << ": " << app.status();
    size_t k = 0;
    while (k + 1 < ends.size() && ends[k + 1] <= cut) ++k;
    ASSERT_EQ(Cells((*app)->cube()), states[k]) << "cut at " << cut;
    // A torn tail is reported unless its bytes are all zeros: then it cannot be told apart from
    // preallocated room (a record's first bytes are zero now and then: CRC, length, time).
    const bool tail_has_data = bytes.find_first_not_of('\0', ends[k]) < cut;
    ASSERT_EQ((*app)->report().torn_tail_cut, tail_has_data) << "cut at " << cut;
    if (!options.read_only) {
      auto cut_log = wal::ReadLog(log);
      ASSERT_TRUE(cut_log.ok()) << cut_log.status();
      ASSERT_EQ(cut_log->valid_bytes, ends[k]);
      ASSERT_FALSE(cut_log->truncated_tail) << "the torn tail is cut from the file";
      ASSERT_TRUE(Put(**app, 9, 3, 1).ok());
      app->reset();
      auto again = Reopen(dir, options);
      ASSERT_TRUE(again.ok()) << again.status();
      ASSERT_EQ(Cells((*again)->cube()).size(), states[k].size() + 1);
    }
  }
}

// Random bit flips: the app either opens with the state after some whole prefix of the
// writes, which is all of them unless the damage is in the last record, or refuses with
// DataLoss naming the byte offset; --salvage then opens the valid prefix.
TEST(DurableAppTest, BitFlipsRecoverAPrefixOrRefuseNamingTheOffset) {
  const std::string dir = FreshDir("flip");
  std::vector<std::map<uint64_t, double>> states;
  std::vector<uint64_t> ends;
  {
    auto app = CreateSmall(dir);
    states.push_back(Cells(app->cube()));
    ends.push_back(0);
    for (int i = 0; i < 6; ++i) {
      ASSERT_TRUE(Put(*app, i, 1, 100 + i).ok());
      states.push_back(Cells(app->cube()));
      ends.push_back(app->log_bytes());
    }
  }
  const std::string log = dir + "/apps/t.log";
  std::string bytes = *ReadFile(log);
  bytes.resize(ends.back() + 64);  // the records and some of the preallocated zeros after them
  std::mt19937_64 rng(11);
  int refused = 0, recovered = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string bad = bytes;
    const size_t at = rng() % bad.size();
    bad[at] ^= static_cast<char>(1u << (rng() % 8));
    Overwrite(log, bad);
    size_t record = 0;
    while (record + 1 < ends.size() && ends[record + 1] <= at) ++record;  // the damaged record (0-based)
    if (at >= ends.back()) {
      // A flip in the zeros after the records: garbage after the last batch, a torn tail.
      auto app = Reopen(dir, DurableOptions{.read_only = true});
      ASSERT_TRUE(app.ok()) << app.status();
      ASSERT_EQ(Cells((*app)->cube()), states.back());
      continue;
    }
    DurableOptions read_only;
    read_only.read_only = true;
    auto app = Reopen(dir, read_only);
    if (app.ok()) {
      ++recovered;
      ASSERT_EQ(record, ends.size() - 2) << "damage in record " << record << " at " << at << " was not refused";
      ASSERT_EQ(Cells((*app)->cube()), states[record]);
      continue;
    }
    ++refused;
    ASSERT_TRUE(absl::IsDataLoss(app.status())) << app.status();
    ASSERT_NE(std::string(app.status().message()).find(StrCat("offset ", ends[record])), std::string::npos)
        << app.status();
    DurableOptions salvage;
    salvage.salvage = true;
    salvage.read_only = true;
    auto saved = Reopen(dir, salvage);
    ASSERT_TRUE(saved.ok()) << saved.status();
    ASSERT_EQ(Cells((*saved)->cube()), states[record]);
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(recovered, 0);
}

// Disk full (injected: the log's pwrite fails with ENOSPC from some call on): every write
// acknowledged before is there after a reopen, none after the failure is acknowledged, and the
// error says why writes stopped.
TEST(DurableAppTest, InjectedDiskFullStopsWritesAndLosesNothingAcknowledged) {
  const std::string dir = FreshDir("enospc");
  CreateSmall(dir).reset();
  std::atomic<int> calls{0};
  DurableOptions options;
  options.log.pwrite = [&](int fd, const void* data, size_t size, off_t offset) -> ssize_t {
    // Counts the writes of records (they start with a header whose magic is "QW"), not of the
    // preallocated zeros.
    const bool records = size > 6 && std::memcmp(static_cast<const char*>(data) + 4, "QW", 2) == 0;
    if (records && ++calls > 5) {
      errno = ENOSPC;
      return -1;
    }
    return ::pwrite(fd, data, size, offset);
  };
  std::vector<int> acked;
  {
    auto app = Reopen(dir, options);
    ASSERT_TRUE(app.ok()) << app.status();
    for (int i = 0; i < 10; ++i) {
      absl::Status s = Put(**app, i, 2, i + 1);
      if (s.ok()) {
        ASSERT_EQ(acked.size(), static_cast<size_t>(i)) << "a write acknowledged after a failed one";
        acked.push_back(i);
      } else {
        EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
        EXPECT_NE(std::string(s.message()).find("stopped taking writes"), std::string::npos) << s;
      }
    }
    EXPECT_FALSE((*app)->status().ok());
  }
  ASSERT_EQ(acked.size(), 5u);
  auto app = Reopen(dir);
  ASSERT_TRUE(app.ok()) << app.status();
  std::map<uint64_t, double> expected;
  for (int i : acked) expected[(*app)->cube().PackLeaf(Leaf((*app)->cube(), i, 2))] = i + 1;
  EXPECT_EQ(Cells((*app)->cube()), expected);
}

// Lost updates: 8 threads increment 2 hot cells with versioned writes, retrying on conflicts;
// the final values equal the acknowledged increments, before and after a reopen. Concurrent
// writers share fdatasyncs.
TEST(DurableAppTest, ConcurrentIncrementsLoseNoUpdateAndShareSyncs) {
  const std::string dir = FreshDir("incr");
  auto app = CreateSmall(dir);
  constexpr int kThreads = 8, kEach = 40;
  std::atomic<int> acked[2] = {0, 0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const int cell = (t + i) % 2;
        const uint64_t key = app->cube().PackLeaf(Leaf(app->cube(), cell, 0));
        while (true) {
          uint64_t seen = 0;
          double now = 0;
          app->cube().WithStoreAt([&](const CellStore& store, uint64_t seq) {
            seen = seq;
            CellValue v = store.Get(key);
            now = v.is_number() ? v.number : 0;
          });
          VersionedWrite w{key, CellValue::Number(now + 1), seen};
          auto r = app->WriteVersioned(std::span(&w, 1), ConflictPolicy::kAbort, StrCat("u", t));
          if (r.ok()) {
            ++acked[cell];
            break;
          }
          ASSERT_TRUE(absl::IsAborted(r.status())) << r.status();
        }
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(acked[0] + acked[1], kThreads * kEach);
  EXPECT_LT(app->sync_count(), static_cast<uint64_t>(kThreads * kEach));
  for (int cell = 0; cell < 2; ++cell)
    EXPECT_EQ(app->cube().ReadCell(Leaf(app->cube(), cell, 0))->number, acked[cell]);
  app.reset();
  auto back = Reopen(dir);
  ASSERT_TRUE(back.ok()) << back.status();
  for (int cell = 0; cell < 2; ++cell)
    EXPECT_EQ((*back)->cube().ReadCell(Leaf((*back)->cube(), cell, 0))->number, acked[cell]);
}

// The audit trail: one entry per changed cell, with old and new values and the cause, queried
// by cell, user and time, across a checkpoint; it survives reopening.
TEST(DurableAppTest, AuditTrailHasEveryChangedCellAcrossCheckpoints) {
  const std::string dir = FreshDir("audit");
  auto app = CreateSmall(dir);
  ASSERT_TRUE(Put(*app, 0, 0, 10, "ann").ok());
  ASSERT_TRUE(Put(*app, 1, 0, 30, "ann").ok());
  ASSERT_TRUE(app->Checkpoint().ok());
  SpreadRequest req{SpreadMethod::kProportional, 80};
  ASSERT_TRUE(app->Spread(*app->cube().model().ParseCoordinate("item=all,slot=s0"), req, {}, "bob").ok());
  ASSERT_TRUE(app->Undo("bob").ok());
  audit::AuditQuery q;
  q.coordinate = "item=i0,slot=s0";
  auto entries = app->Audit(q);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].cause, "input");
  EXPECT_EQ((*entries)[0].user, "ann");
  EXPECT_TRUE((*entries)[0].before.is_empty());
  EXPECT_EQ((*entries)[0].after.number, 10);
  EXPECT_EQ((*entries)[1].cause, "spread");
  EXPECT_EQ((*entries)[1].before.number, 10);
  EXPECT_EQ((*entries)[1].after.number, 20);
  EXPECT_EQ((*entries)[2].cause, "undo");
  EXPECT_EQ((*entries)[2].after.number, 10);
  audit::AuditQuery by_bob;
  by_bob.user = "bob";
  EXPECT_EQ(app->Audit(by_bob)->size(), 4u);  // spread 2 cells, undo 2 cells
  audit::AuditQuery later;
  later.since_us = (*entries)[1].time_us;
  EXPECT_EQ(app->Audit(later)->size(), 4u);
  ASSERT_TRUE(app->Checkpoint().ok());
  app.reset();
  auto back = Reopen(dir);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)->Audit(q)->size(), 3u);
  EXPECT_EQ((*back)->Audit(by_bob)->size(), 4u);
}

// A crash in the middle of a checkpoint can leave any whole prefix of a record's audit entries
// on disk (they are written in chunks before the snapshot moves on). The next checkpoint must
// append exactly the missing ones: the trail ends byte for byte as an uninterrupted checkpoint
// leaves it, at every entry boundary the crash may have left. Until then, queries must not
// miss the entries still only in the log.
TEST(DurableAppTest, CheckpointCutShortMidRecordAppendsTheRestOfItsAuditEntriesAndQueriesSeeThemAll) {
  namespace fs = std::filesystem;
  const std::string dir = FreshDir("audit_cut");
  const std::string before = dir + "/before", whole = dir + "/whole";
  fs::create_directories(whole);
  {
    auto app = CreateSmall(whole);
    ASSERT_TRUE(Put(*app, 0, 0, 10, "ann").ok());
    ASSERT_TRUE(app->Checkpoint().ok());
    ASSERT_TRUE(Put(*app, 1, 1, 5, "ann").ok());
    std::vector<CellWrite> batch;  // one record of 12 cells
    for (int item = 2; item < 5; ++item)
      for (int slot = 0; slot < 4; ++slot) batch.push_back({Leaf(app->cube(), item, slot), CellValue::Number(item * 10 + slot)});
    ASSERT_TRUE(app->Write(batch, "bob").ok());
    fs::copy(whole, before, fs::copy_options::recursive);  // the state a crash mid-checkpoint starts from
    ASSERT_TRUE(app->Checkpoint().ok());
  }
  const std::string trail = "/apps/t.audit";
  const std::string full = *ReadFile(whole + trail);
  const audit::AuditFile had = *audit::ReadAuditFile(before + trail);
  const audit::AuditFile all = *audit::ReadAuditFile(whole + trail);
  ASSERT_EQ(all.entries.size(), had.entries.size() + 13) << "ann's second write, then bob's 12 cells";
  for (size_t keep = had.entries.size(); keep <= all.entries.size(); ++keep) {
    // The byte length of the first `keep` entries: the shortest prefix that parses to them whole.
    size_t cut = 0;
    while (true) {
      auto part = audit::ParseAuditFile(std::string_view(full).substr(0, cut), "prefix");
      if (part.ok() && part->entries.size() == keep && !part->torn_tail) break;
      ASSERT_LT(++cut, full.size() + 1);
    }
    const std::string crash = StrCat(dir, "/crash_", keep);
    fs::copy(before, crash, fs::copy_options::recursive);
    ASSERT_TRUE(WriteFileAtomically(crash + trail, full.substr(0, cut)).ok());
    {
      auto app = Reopen(crash);
      ASSERT_TRUE(app.ok()) << app.status();
      // Before any checkpoint completes the trail, a query reads each entry exactly once: the
      // ones the trail has from it, the rest of that record from the log.
      auto queried = (*app)->Audit(audit::AuditQuery());
      ASSERT_TRUE(queried.ok()) << queried.status();
      EXPECT_TRUE(*queried == all.entries) << "query after a crash after entry " << keep << ": " << queried->size()
                                           << " entries, the uninterrupted trail has " << all.entries.size();
      ASSERT_TRUE((*app)->Checkpoint().ok()) << keep;
    }
    EXPECT_TRUE(*ReadFile(crash + trail) == full) << "crash after entry " << keep << " of " << all.entries.size();
    auto back = audit::ReadAuditFile(crash + trail);
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_EQ(back->entries.size(), all.entries.size()) << "crash after entry " << keep;
  }
}

// A bulk write's entries are streamed into the trail at the checkpoint (in chunks, straight
// from the log record): every cell is there once, in the order written, with its coordinate,
// before and after values as written here, and the chain reads back intact.
TEST(DurableAppTest, BulkWriteIsAuditedCellByCellAtCheckpoint) {
  const std::string dir = FreshDir("bulk_audit");
  const int items = 20'000;
  auto created = DurableApp::Create(DataFolder(dir), SmallApp("t", items), "admin", false);
  ASSERT_TRUE(created.ok()) << created.status();
  DurableApp& app = **created;
  ASSERT_TRUE(Put(app, 5, 1, 100).ok());
  std::vector<VersionedWrite> bulk;
  for (int i = 0; i < items; ++i)
    for (int slot = 0; slot < 4; ++slot)
      bulk.push_back({app.cube().PackLeaf(Leaf(app.cube(), i, slot)), CellValue::Number(i * 4 + slot + 0.5),
                      std::numeric_limits<uint64_t>::max()});
  ASSERT_TRUE(app.WriteVersioned(bulk, ConflictPolicy::kAbort, "bob", "bulk write").ok());
  ASSERT_TRUE(app.Checkpoint().ok());
  auto file = audit::ReadAuditFile(app.audit_path());
  ASSERT_TRUE(file.ok()) << file.status();
  // The import of an empty app has no entries; then ann's write, then bob's 80,000.
  ASSERT_EQ(file->entries.size(), 1u + bulk.size());
  EXPECT_EQ(file->entries[0].coordinate, "item=i5,slot=s1");
  for (int i = 0; i < items; ++i) {
    for (int slot = 0; slot < 4; ++slot) {
      const audit::AuditEntry& e = file->entries[1 + i * 4 + slot];
      ASSERT_EQ(e.coordinate, StrCat("item=i", i, ",slot=s", slot));
      ASSERT_EQ(e.user, "bob");
      ASSERT_EQ(e.cause, "bulk write");
      ASSERT_EQ(e.after, CellValue::Number(i * 4 + slot + 0.5));
      ASSERT_EQ(e.before, i == 5 && slot == 1 ? CellValue::Number(100) : CellValue::Empty());
    }
  }
  // Queries after the checkpoint read them from the trail.
  audit::AuditQuery q;
  q.coordinate = "item=i5,slot=s1";
  auto hits = app.Audit(q);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_EQ(hits->size(), 2u);
}

// Editing the audit file is detected: the chain breaks, or (a rewritten chain) the snapshot's
// anchor no longer matches, and the app refuses to open.
TEST(DurableAppTest, TamperedAuditTrailIsRefused) {
  const std::string dir = FreshDir("tamper");
  {
    auto app = CreateSmall(dir);
    ASSERT_TRUE(Put(*app, 0, 0, 10).ok());
    ASSERT_TRUE(Put(*app, 0, 0, 11).ok());
    ASSERT_TRUE(app->Checkpoint().ok());
  }
  const std::string path = dir + "/apps/t.audit";
  std::string bytes = *ReadFile(path);
  auto file = audit::ParseAuditFile(bytes, path);
  ASSERT_TRUE(file.ok());
  ASSERT_EQ(file->entries.size(), 2u);
  // Rewrite entry 1's new value to 99 and recompute the whole chain, as a forger would.
  audit::AuditTrail::Open(dir + "/forged.audit").value()->Append({[&] {
    auto e = file->entries[0];
    e.after = CellValue::Number(99);
    return e;
  }(), file->entries[1]}).IgnoreError();
  ASSERT_TRUE(WriteFileAtomically(path, *ReadFile(dir + "/forged.audit")).ok());
  auto app = Reopen(dir);
  ASSERT_FALSE(app.ok());
  EXPECT_TRUE(absl::IsDataLoss(app.status())) << app.status();
  EXPECT_NE(std::string(app.status().message()).find("anchored"), std::string::npos) << app.status();
}

}  // namespace
}  // namespace quantatom::durable

namespace quantatom::durable {
namespace {

// A formula definition is one log record: it comes back on open from the log alone (no
// checkpoint), its computed cells are recomputed, and the audit trail names who changed it,
// with the definitions before and after.
TEST(DurableAppTest, FormulaDefinitionsAreLoggedReplayedAndAudited) {
  const std::string dir = FreshDir("formula");
  {
    auto app = CreateSmall(dir);
    ASSERT_TRUE(Put(*app, 0, 0, 4).ok());
    ASSERT_TRUE(Put(*app, 0, 1, 6).ok());
    ASSERT_TRUE(app->DefineFormula({"slot", "s2", "s0 + s1", formula::Scope::kLeaf}, "fay").ok());
    ASSERT_TRUE(app->DefineFormula({"slot", "s2", "s0 * s1", formula::Scope::kLeaf}, "gus").ok());
    ASSERT_TRUE(app->DefineFormula({"slot", "s3", "s0 - 1", formula::Scope::kLeaf}, "fay").ok());
    ASSERT_TRUE(app->RemoveFormula("slot", "s3", "gus").ok());
    EXPECT_TRUE(absl::IsNotFound(app->RemoveFormula("slot", "s3", "gus")));  // logs nothing
    EXPECT_FALSE(app->DefineFormula({"slot", "s3", "s0 +", formula::Scope::kLeaf}, "fay").ok());
  }
  auto app = Reopen(dir);
  ASSERT_TRUE(app.ok()) << app.status();
  EXPECT_EQ((*app)->report().replayed, 6u) << "two writes and four definitions, nothing refused";
  const Cube& c = (*app)->cube();
  ASSERT_EQ(c.Formulas().size(), 1u);
  EXPECT_EQ(*c.ReadCell(Leaf(c, 0, 2)), CellValue::Number(24));  // 4 * 6, by hand
  EXPECT_EQ(*c.ReadCell(Leaf(c, 0, 3)), CellValue::Empty());
  audit::AuditQuery q;
  q.coordinate = "slot=s2";
  auto s2 = (*app)->Audit(q);
  ASSERT_TRUE(s2.ok()) << s2.status();
  ASSERT_EQ(s2->size(), 2u);
  EXPECT_EQ((*s2)[0].user, "fay");
  EXPECT_EQ((*s2)[0].cause, "formula definition");
  EXPECT_TRUE((*s2)[0].before.is_empty());
  EXPECT_TRUE((*s2)[0].after.is_text());
  EXPECT_NE((*s2)[0].after.text.find("[leaf]"), std::string::npos) << (*s2)[0].after.text;
  EXPECT_EQ((*s2)[1].user, "gus");
  EXPECT_EQ((*s2)[1].before, (*s2)[0].after);
  q.coordinate = "slot=s3";
  auto s3 = (*app)->Audit(q);
  ASSERT_EQ(s3->size(), 2u);
  EXPECT_EQ((*s3)[1].user, "gus");
  EXPECT_TRUE((*s3)[1].after.is_empty()) << "removed";
  // After a checkpoint the entries are in the trail file and the definition in the snapshot.
  (void)c;
  ASSERT_TRUE((*app)->Checkpoint().ok());
  app->reset();
  auto again = Reopen(dir);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->report().replayed, 0u);
  const Cube& back = (*again)->cube();
  EXPECT_EQ(*back.ReadCell(Leaf(back, 0, 2)), CellValue::Number(24));
  EXPECT_EQ((*again)->Audit(q)->size(), 2u);
  EXPECT_TRUE((*again)->Verify().ok());
}

}  // namespace
}  // namespace quantatom::durable

namespace quantatom::durable {
namespace {

// An import whose process dies after its snapshot but before (all of) its audit entries: the
// next open derives the missing entries from the snapshot's cells, and the anchor the import
// snapshot holds proves them the same as the ones that were lost.
TEST(DurableAppTest, ImportCutShortBeforeItsAuditEntriesIsCompletedOnOpen) {
  for (const bool partial : {false, true}) {
    const std::string dir = FreshDir(partial ? "import_partial" : "import_none");
    {
      std::unique_ptr<Cube> cube = SmallApp("t");
      ASSERT_TRUE(cube->Write({{Leaf(*cube, 0, 1), CellValue::Number(7)},
                               {Leaf(*cube, 3, 2), CellValue::Number(-2.5)},
                               {Leaf(*cube, 5, 0), CellValue::Text("note")}},
                              "loader")
                      .ok());
      auto app = DurableApp::Create(DataFolder(dir), std::move(cube), "ivy", false);
      ASSERT_TRUE(app.ok()) << app.status();
    }
    const std::string trail = dir + "/apps/t.audit";
    auto full = audit::ReadAuditFile(trail);
    ASSERT_TRUE(full.ok());
    ASSERT_EQ(full->entries.size(), 3u);
    // The crash: the trail as it was before the import (its 8-byte header), or with the first
    // entry and half of the second.
    std::string bytes = *ReadFile(trail);
    const size_t first_end = bytes.size() - (bytes.size() - 8) / 3 * 2;  // entries of nearly equal size
    bytes.resize(partial ? first_end + 10 : 8);
    Overwrite(trail, bytes);
    {
      // The read-only verify (quantatom verify) says what happened, and changes nothing.
      DurableOptions ro;
      ro.read_only = true;
      auto look = Reopen(dir, ro);
      ASSERT_TRUE(look.ok()) << look.status();
      auto verdict = (*look)->Verify();
      ASSERT_TRUE(verdict.ok()) << verdict.status();
      EXPECT_NE(verdict->find(StrCat("import incomplete: a crash cut the import short before ", partial ? 2 : 3,
                                     " of its audit entries were appended (the trail has ", partial ? 1 : 0, " of 3)")),
                std::string::npos)
          << *verdict;
      EXPECT_NE(verdict->find("next writable open"), std::string::npos) << *verdict;
      EXPECT_EQ(*ReadFile(trail), bytes);
    }
    auto app = Reopen(dir);
    ASSERT_TRUE(app.ok()) << app.status();
    auto entries = (*app)->Audit({});
    ASSERT_TRUE(entries.ok()) << entries.status();
    ASSERT_EQ(entries->size(), 3u) << partial;
    std::set<std::string> cells;
    for (const audit::AuditEntry& e : *entries) {
      EXPECT_EQ(e.user, "ivy");
      EXPECT_EQ(e.cause, "import");
      EXPECT_TRUE(e.before.is_empty());
      cells.insert(StrCat(e.coordinate, " ", e.after.is_text() ? e.after.text : StrCat(e.after.number)));
    }
    EXPECT_EQ(cells, (std::set<std::string>{"item=i0,slot=s1 7", "item=i3,slot=s2 -2.5", "item=i5,slot=s0 note"}));
    EXPECT_TRUE((*app)->Verify().ok()) << (*app)->Verify().status();
    auto again = audit::ReadAuditFile(trail);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->entries, full->entries) << "the same entries";
    EXPECT_EQ(again->hashes, full->hashes) << "the same chain";
  }
}

}  // namespace
}  // namespace quantatom::durable
