#include "audit/audit_trail.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "base/file_util.h"
#include "base/strings.h"

namespace quantatom::audit {
namespace {

std::string Path(const std::string& name) {
  std::string dir = StrCat(::testing::TempDir(), "/audit_", name, "_", ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir + "/app.audit";
}

std::vector<AuditEntry> SomeEntries() {
  return {{1, 1000, "ann", "input", "a=x,b=y", CellValue::Empty(), CellValue::Number(5)},
          {2, 2000, "bob", "spread", "a=x,b=y", CellValue::Number(5), CellValue::Number(7)},
          {2, 2000, "bob", "spread", "a=z,b=y", CellValue::Number(1), CellValue::Text("n/a")},
          {3, 3000, "ann", "undo", "a=x,b=y", CellValue::Number(7), CellValue::Number(5)}};
}

// The chain is recomputed independently here (SHA-256 over prev || length || body, with the
// body laid out by hand from docs/formats/audit-trail.md) and compared with the file's hashes.
TEST(AuditTrailTest, AppendedEntriesReadBackWithTheDocumentedChain) {
  const std::string path = Path("chain");
  auto trail = AuditTrail::Open(path);
  ASSERT_TRUE(trail.ok()) << trail.status();
  auto entries = SomeEntries();
  ASSERT_TRUE((*trail)->Append({entries[0], entries[1]}).ok());
  ASSERT_TRUE((*trail)->Append({entries[2], entries[3]}).ok());
  auto file = ReadAuditFile(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->entries, entries);
  EXPECT_FALSE(file->torn_tail);

  auto bytes = ReadFile(path);
  ASSERT_EQ(bytes->substr(0, 8), "QAAUDv01");
  size_t pos = 8;
  Hash prev{};
  for (size_t i = 0; i < entries.size(); ++i) {
    uint32_t n;
    std::memcpy(&n, bytes->data() + pos, 4);
    unsigned char h[32];
    std::string input(reinterpret_cast<const char*>(prev.data()), 32);
    input += bytes->substr(pos, 4 + n);
    SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), h);
    ASSERT_EQ(0, std::memcmp(h, bytes->data() + pos + 4 + n, 32)) << "entry " << i;
    std::memcpy(prev.data(), h, 32);
    pos += 4 + n + 32;
  }
  EXPECT_EQ(pos, bytes->size());
  EXPECT_EQ((*trail)->head(), prev);
  EXPECT_EQ((*trail)->count(), 4u);
  EXPECT_EQ((*trail)->last_seq(), 3u);
}

AuditEntryRef Ref(const AuditEntry& e) { return {e.log_seq, e.time_us, e.user, e.cause, e.coordinate, &e.before, &e.after}; }

// Entries streamed through an Appender, across several of its 4 MiB chunks, make the same file
// as one Append of them, and the file reads back through the chain check.
TEST(AuditTrailTest, AppenderWritesWhatAppendWrites) {
  std::vector<AuditEntry> many;
  for (int i = 0; i < 60'000; ++i)  // ~100 bytes each: two chunk flushes and a partial one
    many.push_back({7, 5000 + i, "ann", "input", StrCat("a=x", i, ",b=y"), CellValue::Number(i),
                    i % 7 == 0 ? CellValue::Text(StrCat("t", i)) : CellValue::Empty()});
  const std::string a = Path("appender_a"), b = Path("appender_b");
  auto ta = AuditTrail::Open(a);
  auto tb = AuditTrail::Open(b);
  ASSERT_TRUE(ta.ok() && tb.ok());
  const auto entries = SomeEntries();
  ASSERT_TRUE((*ta)->Append(entries).ok());
  ASSERT_TRUE((*ta)->Append(many).ok());
  ASSERT_TRUE((*tb)->Append(entries).ok());
  auto appender = (*tb)->StartAppend();
  ASSERT_TRUE(appender.ok()) << appender.status();
  for (const AuditEntry& e : many) (*appender)->Add(Ref(e));
  EXPECT_EQ((*tb)->count(), entries.size());  // nothing is part of the trail before Commit
  ASSERT_TRUE((*appender)->Commit().ok());
  EXPECT_EQ(*ReadFile(a), *ReadFile(b));
  EXPECT_EQ((*tb)->count(), entries.size() + many.size());
  EXPECT_EQ((*tb)->head(), (*ta)->head());
  EXPECT_EQ((*tb)->last_seq(), 7u);
  auto file = ReadAuditFile(b);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->entries.size(), entries.size() + many.size());
  EXPECT_EQ(file->entries.back(), many.back());
  // And the trail goes on after it.
  ASSERT_TRUE((*tb)->Append({entries[0]}).ok());
  EXPECT_TRUE(ReadAuditFile(b).ok());
}

// An appender dropped without Commit (its owner failed half-way) leaves the file as it was,
// even after it wrote chunks out, and the trail takes appends again.
TEST(AuditTrailTest, AppenderDroppedWithoutCommitChangesNothing) {
  const std::string path = Path("appender_dropped");
  auto trail = AuditTrail::Open(path);
  ASSERT_TRUE(trail.ok());
  const auto entries = SomeEntries();
  ASSERT_TRUE((*trail)->Append(entries).ok());
  const std::string before = *ReadFile(path);
  {
    auto appender = (*trail)->StartAppend();
    ASSERT_TRUE(appender.ok());
    const AuditEntry e{9, 1, "bob", "input", std::string(200, 'c'), CellValue::Empty(), CellValue::Number(1)};
    for (int i = 0; i < 30'000; ++i) (*appender)->Add(Ref(e));  // ~7 MB: a chunk is on disk
  }
  EXPECT_EQ(*ReadFile(path), before);
  EXPECT_EQ((*trail)->count(), entries.size());
  EXPECT_EQ((*trail)->last_seq(), 3u);
  ASSERT_TRUE((*trail)->Append({entries[0]}).ok());
  auto file = ReadAuditFile(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->entries.size(), entries.size() + 1);
}

// Changing any single byte of an entry (its body or its hash) is detected, naming the entry.
TEST(AuditTrailTest, EveryChangedByteIsDetected) {
  const std::string path = Path("tamper");
  auto trail = AuditTrail::Open(path);
  ASSERT_TRUE((*trail)->Append(SomeEntries()).ok());
  const std::string good = *ReadFile(path);
  for (size_t i = 8; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x10;
    auto file = ParseAuditFile(bad, path);
    if (file.ok()) {
      // Only a changed length can make the rest look like a torn append; it never reads back
      // the same entries.
      EXPECT_TRUE(file->torn_tail) << "byte " << i;
      EXPECT_LT(file->entries.size(), 4u) << "byte " << i;
    } else {
      EXPECT_TRUE(absl::IsDataLoss(file.status())) << file.status();
      EXPECT_NE(std::string(file.status().message()).find("entry"), std::string::npos);
    }
  }
}

// A crash in the middle of an append leaves a torn tail, which Open cuts; appends go on.
TEST(AuditTrailTest, TornAppendIsCutAtOpen) {
  const std::string path = Path("torn");
  auto entries = SomeEntries();
  {
    auto trail = AuditTrail::Open(path);
    ASSERT_TRUE((*trail)->Append({entries[0], entries[1]}).ok());
  }
  const uintmax_t size = std::filesystem::file_size(path);
  ASSERT_TRUE((*AuditTrail::Open(path))->Append({entries[2]}).ok());
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 5);
  auto trail = AuditTrail::Open(path);
  ASSERT_TRUE(trail.ok()) << trail.status();
  EXPECT_EQ((*trail)->count(), 2u);
  EXPECT_EQ(std::filesystem::file_size(path), size);
  ASSERT_TRUE((*trail)->Append({entries[3]}).ok());
  auto file = ReadAuditFile(path);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->entries, (std::vector<AuditEntry>{entries[0], entries[1], entries[3]}));
}

TEST(AuditTrailTest, QueriesFilterByCellUserAndTime) {
  auto entries = SomeEntries();
  AuditQuery q;
  q.coordinate = "a=x,b=y";
  q.user = "ann";
  EXPECT_TRUE(q.Matches(entries[0]));
  EXPECT_FALSE(q.Matches(entries[1]));
  EXPECT_TRUE(q.Matches(entries[3]));
  q.since_us = 1500;
  EXPECT_FALSE(q.Matches(entries[0]));
  q.until_us = 3000;
  EXPECT_TRUE(q.Matches(entries[3]));
  q.until_us = 2999;
  EXPECT_FALSE(q.Matches(entries[3]));
  EXPECT_EQ(CauseOfAction("write"), "input");
  EXPECT_EQ(CauseOfAction("undo of spread"), "undo");
  EXPECT_EQ(CauseOfAction("bridge"), "bridge");
}

}  // namespace
}  // namespace quantatom::audit
