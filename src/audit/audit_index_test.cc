#include "audit/audit_index.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "base/file_util.h"
#include "base/strings.h"

namespace quantatom::audit {
namespace {

std::string Path(const std::string& name) {
  std::string dir = StrCat(::testing::TempDir(), "/audit_index_", name, "_", ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir + "/app.audit";
}

// The brute-force reference: every entry of the file, filtered field by field here.
std::vector<AuditEntry> Scan(const std::vector<AuditEntry>& all, const std::string& cell, const std::string& user,
                             std::optional<int64_t> since, std::optional<int64_t> until) {
  std::vector<AuditEntry> out;
  for (const AuditEntry& e : all) {
    if (!cell.empty() && e.coordinate != cell) continue;
    if (!user.empty() && e.user != user) continue;
    if (since && e.time_us < *since) continue;
    if (until && e.time_us > *until) continue;
    out.push_back(e);
  }
  return out;
}

// Random batches appended through AuditTrail, the index refreshed after each, and random
// queries (cell, user, time range, any mix, names that do not occur) compared with a scan of
// everything written. Times mostly rise, sometimes step back (a wall clock set back).
TEST(AuditIndexTest, QueriesMatchABruteForceScanAsTheTrailGrows) {
  const std::string path = Path("random");
  auto trail = AuditTrail::Open(path);
  ASSERT_TRUE(trail.ok()) << trail.status();
  auto index = AuditIndex::Open(path);
  ASSERT_TRUE(index.ok()) << index.status();
  std::mt19937 rng(6);
  const std::vector<std::string> users = {"ann", "bob", "cy", "dee"};
  std::vector<std::string> cells;
  for (int i = 0; i < 40; ++i) cells.push_back(StrCat("a=", i % 8, ",b=", i / 8));
  std::vector<AuditEntry> written;
  int64_t clock = 1'000'000;
  uint64_t seq = 0;
  size_t queries = 0;
  for (int batch = 0; batch < 60; ++batch) {
    std::vector<AuditEntry> entries;
    ++seq;
    clock += rng() % 5 == 0 ? -static_cast<int64_t>(rng() % 3000) : static_cast<int64_t>(rng() % 2000);
    const std::string user = users[rng() % users.size()];
    const int n = 1 + static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) {
      entries.push_back({seq, clock, user, "input", cells[rng() % cells.size()], CellValue::Empty(),
                         CellValue::Number(static_cast<double>(rng() % 100))});
    }
    ASSERT_TRUE((*trail)->Append(entries).ok());
    written.insert(written.end(), entries.begin(), entries.end());
    if (rng() % 3 == 0) continue;  // several appends between refreshes
    ASSERT_TRUE((*index)->Refresh().ok());
    ASSERT_EQ((*index)->size(), written.size());
    for (int q = 0; q < 40; ++q) {
      AuditQuery query;
      if (rng() % 2) query.coordinate = rng() % 10 == 0 ? "a=none" : cells[rng() % cells.size()];
      if (rng() % 2) query.user = rng() % 10 == 0 ? "nobody" : users[rng() % users.size()];
      if (rng() % 2) query.since_us = 1'000'000 + static_cast<int64_t>(rng() % 60'000) - 5'000;
      if (rng() % 2) query.until_us = 1'000'000 + static_cast<int64_t>(rng() % 60'000);
      std::vector<AuditEntry> got;
      for (uint32_t i : (*index)->Find(query)) got.push_back((*index)->entry(i));
      ASSERT_EQ(got, Scan(written, query.coordinate, query.user, query.since_us, query.until_us))
          << "batch " << batch << " query " << q;
      ++queries;
    }
  }
  EXPECT_GT(queries, 1000u);
  // Each byte of the trail was read and hashed once, however many queries ran.
  EXPECT_EQ((*index)->bytes_read(), std::filesystem::file_size(path));
  // A second index, rebuilt on open, answers the same.
  auto reopened = AuditIndex::Open(path);
  ASSERT_TRUE(reopened.ok());
  AuditQuery by_user;
  by_user.user = "bob";
  EXPECT_EQ((*reopened)->Find(by_user), (*index)->Find(by_user));
}

TEST(AuditIndexTest, AnAppendInProgressWaitsAndARewrittenOrDamagedTrailIsReadAgain) {
  const std::string path = Path("follow");
  auto trail = AuditTrail::Open(path);
  ASSERT_TRUE(trail.ok());
  const AuditEntry a{1, 10, "ann", "input", "a=x", CellValue::Empty(), CellValue::Number(1)};
  const AuditEntry b{2, 20, "bob", "input", "a=y", CellValue::Empty(), CellValue::Number(2)};
  ASSERT_TRUE((*trail)->Append({a}).ok());
  auto index = AuditIndex::Open(path);
  ASSERT_TRUE(index.ok());
  ASSERT_EQ((*index)->size(), 1u);
  // Half of the next entry on disk (an append in progress): not indexed yet, no error.
  const AuditTrail::Chained next = (*trail)->Chain({b});
  auto bytes = ReadFile(path);
  ASSERT_TRUE(bytes.ok());
  const std::string full = *bytes + next.bytes;
  ASSERT_TRUE(WriteFileAtomically(path, full.substr(0, bytes->size() + next.bytes.size() / 2)).ok());
  ASSERT_TRUE((*index)->Refresh().ok());
  EXPECT_EQ((*index)->size(), 1u);
  ASSERT_TRUE(WriteFileAtomically(path, full).ok());
  ASSERT_TRUE((*index)->Refresh().ok());
  ASSERT_EQ((*index)->size(), 2u);
  EXPECT_EQ((*index)->entry(1), b);
  // Replaced by a different trail (same length class, other content): rebuilt from it.
  const std::string other_path = Path("other");
  auto other = AuditTrail::Open(other_path);
  ASSERT_TRUE(other.ok());
  const AuditEntry c{7, 70, "cy", "spread", "a=z", CellValue::Number(3), CellValue::Number(4)};
  ASSERT_TRUE((*other)->Append({c}).ok());
  std::filesystem::copy_file(other_path, path, std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE((*index)->Refresh().ok());
  ASSERT_EQ((*index)->size(), 1u);
  EXPECT_EQ((*index)->entry(0), c);
  // Appended bytes whose hash does not follow: DataLoss naming the entry, nothing indexed.
  auto now = ReadFile(path);
  ASSERT_TRUE(now.ok());
  std::string damaged = *now + (*other)->Chain({a}).bytes;
  damaged[damaged.size() - 40] ^= 1;  // inside the new entry's body
  ASSERT_TRUE(WriteFileAtomically(path, damaged).ok());
  absl::Status st = (*index)->Refresh();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  EXPECT_NE(st.message().find("entry 2"), std::string_view::npos) << st;
  EXPECT_EQ((*index)->size(), 1u);
}

}  // namespace
}  // namespace quantatom::audit
