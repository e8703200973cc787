#include "durable/durable_app.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "base/file_util.h"
#include "durable/durable_testutil.h"

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
  const std::string bytes = *ReadFile(log);
  ASSERT_EQ(bytes.size(), ends.back());
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    Overwrite(log, bytes.substr(0, cut));
    // Read-only opens at every offset (fast: no fsync); every 16th also writable, which must
    // cut the torn tail from the file and append after it.
    DurableOptions options;
    options.read_only = cut % 16 != 0;
    auto app = Reopen(dir, options);
    ASSERT_TRUE(app.ok()) << "cut at " << cut << ": " << app.status();
    size_t k = 0;
    while (k + 1 < ends.size() && ends[k + 1] <= cut) ++k;
    ASSERT_EQ(Cells((*app)->cube()), states[k]) << "cut at " << cut;
    ASSERT_EQ((*app)->report().torn_tail_cut, cut != ends[k]) << cut;
    if (!options.read_only) {
      ASSERT_EQ(std::filesystem::file_size(log), ends[k]) << "the torn tail is cut from the file";
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
  const std::string bytes = *ReadFile(log);
  std::mt19937_64 rng(11);
  int refused = 0, recovered = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string bad = bytes;
    const size_t at = rng() % bad.size();
    bad[at] ^= static_cast<char>(1u << (rng() % 8));
    Overwrite(log, bad);
    size_t record = 0;
    while (ends[record + 1] <= at) ++record;  // the damaged record (0-based)
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
    if (++calls > 5) {
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
