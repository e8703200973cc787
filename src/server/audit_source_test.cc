#include "server/audit_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "base/file_util.h"
#include "base/strings.h"
#include "server/app_host.h"

namespace quantatom {
namespace {

// The reference: DurableApp::Audit with no filter reads every entry of the trail and of the
// log (a full scan); sets are grouped, filtered and ordered here.
std::vector<std::vector<audit::AuditEntry>> Reference(const std::vector<audit::AuditEntry>& all, const std::string& user,
                                                      const std::string& cell, uint64_t after_seq, size_t max_sets) {
  std::vector<std::vector<audit::AuditEntry>> out;
  size_t end = all.size();
  while (end > 0) {
    size_t begin = end;
    const uint64_t seq = all[end - 1].log_seq;
    while (begin > 0 && all[begin - 1].log_seq == seq) --begin;
    if (seq <= after_seq || out.size() >= max_sets) break;
    std::vector<audit::AuditEntry> set;
    for (size_t i = begin; i < end; ++i) {
      if (!user.empty() && all[i].user != user) continue;
      if (!cell.empty() && all[i].coordinate != cell) continue;
      set.push_back(all[i]);
    }
    if (!set.empty()) out.push_back(std::move(set));
    end = begin;
  }
  return out;
}

// Two dimensions of six leaves under a total each: leaves a0..a5 (ids 1..6) and b0..b5.
AppModel TwoDimensions(const std::string& name) {
  AppModel model;
  model.name = name;
  for (const char* dim : {"a", "b"}) {
    DimensionBuilder b(dim, DimensionType::kGeneric);
    (void)b.AddMember(StrCat(dim, "All"));
    for (int i = 0; i < 6; ++i) {
      (void)b.AddMember(StrCat(dim, i));
      (void)b.AddEdge(StrCat(dim, i), StrCat(dim, "All"));
    }
    model.dimensions.push_back(*std::move(b).Build());
  }
  return model;
}

// Random writes by three users, checkpoints now and then (entries move from the log to the
// trail), and random queries through the server's audit source compared with a full scan.
TEST(AuditSourceTest, NewestSetsMatchAFullScanAcrossCheckpointsWithoutRereadingTheTrail) {
  const auto dir = std::filesystem::temp_directory_path() / StrCat("qa_audit_source_", ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    auto host = AppHost::Open(dir.string());
    ASSERT_TRUE(host.ok()) << host.status();
    ASSERT_TRUE((*host)->AddApp(TwoDimensions("aud")).ok());
    auto app = (*host)->Find("aud");
    const AppModel& m = app->cube().model();
    const std::vector<std::string> users = {"ann", "bob", "cy"};
    std::mt19937 rng(66);
    size_t checked = 0;
    for (int step = 0; step < 80; ++step) {
      std::vector<CellWrite> batch;
      const int n = 1 + static_cast<int>(rng() % 4);
      for (int i = 0; i < n; ++i) {
        Coordinate c = {static_cast<MemberId>(1 + rng() % 6), static_cast<MemberId>(1 + rng() % 6)};
        batch.push_back({c, CellValue::Number(static_cast<double>(rng() % 1000))});
      }
      ASSERT_TRUE((*host)->Write(*app, users[rng() % users.size()], batch).ok());
      if (rng() % 7 == 0) { ASSERT_TRUE(app->durable->Checkpoint().ok()); }
      auto all = app->durable->Audit(audit::AuditQuery());
      ASSERT_TRUE(all.ok()) << all.status();
      for (int q = 0; q < 8; ++q) {
        audit::AuditQuery query;
        if (rng() % 2) query.user = rng() % 8 == 0 ? "nobody" : users[rng() % users.size()];
        if (rng() % 2) {
          query.coordinate = m.FormatCoordinate({static_cast<MemberId>(1 + rng() % 6), static_cast<MemberId>(1 + rng() % 6)});
        }
        const uint64_t after = rng() % 3 == 0 ? rng() % (step + 2) : 0;
        const size_t max_sets = 1 + rng() % 20;
        auto got = app->audit->NewestSets(query, [](const audit::AuditEntry&) { return true; }, after, max_sets);
        ASSERT_TRUE(got.ok()) << got.status();
        ASSERT_EQ(*got, Reference(*all, query.user, query.coordinate, after, max_sets)) << "step " << step << " query " << q;
        ++checked;
      }
    }
    EXPECT_GT(checked, 600u);
    // Every byte of the trail was read once, by the index, however many queries ran.
    EXPECT_EQ(app->audit->trail_bytes_read(), std::filesystem::file_size(app->durable->audit_path()));
    (*host)->Close();
  }
  std::filesystem::remove_all(dir);
}

// A checkpoint a crash cut short leaves only some entries of its newest record in the trail
// (they are appended in chunks before the snapshot). Until the next checkpoint completes them,
// queries must still see that record whole, each entry once: at every entry boundary the
// crash may leave, the query equals the one over the uninterrupted trail.
TEST(AuditSourceTest, ARecordTheTrailHoldsOnlyInPartIsReadWholeFromTheLog) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / StrCat("qa_audit_source_cut_", ::getpid());
  fs::remove_all(dir);
  const fs::path whole = dir / "whole", before = dir / "before";
  fs::create_directories(whole);
  std::string trail;  // relative to the data folder
  {
    auto host = AppHost::Open(whole.string());
    ASSERT_TRUE(host.ok()) << host.status();
    ASSERT_TRUE((*host)->AddApp(TwoDimensions("aud")).ok());
    auto app = (*host)->Find("aud");
    ASSERT_TRUE((*host)->Write(*app, "ann", {{{1, 1}, CellValue::Number(10)}}).ok());
    ASSERT_TRUE(app->durable->Checkpoint().ok());
    ASSERT_TRUE((*host)->Write(*app, "ann", {{{2, 2}, CellValue::Number(5)}}).ok());
    std::vector<CellWrite> batch;  // one record of 12 cells
    for (MemberId a = 1; a <= 3; ++a)
      for (MemberId b = 1; b <= 4; ++b) batch.push_back({{a, b}, CellValue::Number(a * 10 + b)});
    ASSERT_TRUE((*host)->Write(*app, "bob", batch).ok());
    fs::copy(whole, before, fs::copy_options::recursive);  // the state a crash mid-checkpoint starts from
    ASSERT_TRUE(app->durable->Checkpoint().ok());
    trail = fs::relative(app->durable->audit_path(), whole).string();
    (*host)->Close();
  }
  const std::string full = *ReadFile((whole / trail).string());
  const audit::AuditFile had = *audit::ReadAuditFile((before / trail).string());
  const audit::AuditFile all = *audit::ReadAuditFile((whole / trail).string());
  ASSERT_EQ(all.entries.size(), had.entries.size() + 13) << "ann's second write, then bob's 12 cells";
  const auto want = Reference(all.entries, "", "", 0, 100);
  const auto want_bob = Reference(all.entries, "bob", "", 0, 100);
  for (size_t keep = had.entries.size(); keep <= all.entries.size(); ++keep) {
    size_t cut = 0;  // the byte length of the first `keep` entries
    while (true) {
      auto part = audit::ParseAuditFile(std::string_view(full).substr(0, cut), "prefix");
      if (part.ok() && part->entries.size() == keep && !part->torn_tail) break;
      ASSERT_LT(++cut, full.size() + 1);
    }
    const fs::path crash = dir / StrCat("crash_", keep);
    fs::copy(before, crash, fs::copy_options::recursive);
    ASSERT_TRUE(WriteFileAtomically((crash / trail).string(), full.substr(0, cut)).ok());
    auto host = AppHost::Open(crash.string());
    ASSERT_TRUE(host.ok()) << host.status();
    auto app = (*host)->Find("aud");
    auto every = [](const audit::AuditEntry&) { return true; };
    auto got = app->audit->NewestSets(audit::AuditQuery(), every, 0, 100);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, want) << "crash after entry " << keep;
    audit::AuditQuery by_bob;
    by_bob.user = "bob";
    auto bobs = app->audit->NewestSets(by_bob, every, 0, 100);
    ASSERT_TRUE(bobs.ok()) << bobs.status();
    EXPECT_EQ(*bobs, want_bob) << "crash after entry " << keep;
    (*host)->Close();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace quantatom
