#include "server/audit_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

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

// Random writes by three users, checkpoints now and then (entries move from the log to the
// trail), and random queries through the server's audit source compared with a full scan.
TEST(AuditSourceTest, NewestSetsMatchAFullScanAcrossCheckpointsWithoutRereadingTheTrail) {
  const auto dir = std::filesystem::temp_directory_path() / StrCat("qa_audit_source_", ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    auto host = AppHost::Open(dir.string());
    ASSERT_TRUE(host.ok()) << host.status();
    AppModel model;
    model.name = "aud";
    for (const char* name : {"a", "b"}) {
      DimensionBuilder b(name, DimensionType::kGeneric);
      ASSERT_TRUE(b.AddMember(StrCat(name, "All")).ok());
      for (int i = 0; i < 6; ++i) {
        ASSERT_TRUE(b.AddMember(StrCat(name, i)).ok());
        ASSERT_TRUE(b.AddEdge(StrCat(name, i), StrCat(name, "All")).ok());
      }
      model.dimensions.push_back(*std::move(b).Build());
    }
    ASSERT_TRUE((*host)->AddApp(std::move(model)).ok());
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
      if (rng() % 7 == 0) ASSERT_TRUE(app->durable->Checkpoint().ok());
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

}  // namespace
}  // namespace quantatom
