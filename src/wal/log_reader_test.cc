#include "wal/log_reader.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "wal/crc32c.h"
#include "wal/log_format.h"

namespace quantatom::wal {
namespace {

struct TestLog {
  std::string bytes;
  std::vector<LogRecord> records;
  std::vector<size_t> starts;  // offset of each record
};

// `batch_sizes` records per group-commit batch, seqs from `first_seq`, payloads of varied length
// (including empty ones).
TestLog MakeLog(const std::vector<int>& batch_sizes, uint64_t first_seq = 1) {
  TestLog log;
  uint64_t seq = first_seq;
  for (int batch : batch_sizes) {
    for (int i = 0; i < batch; ++i, ++seq) {
      std::string payload(static_cast<size_t>((seq * 7) % 23), static_cast<char>('a' + seq % 26));
      log.starts.push_back(log.bytes.size());
      AppendRecord(&log.bytes, seq, i == 0, payload, Crc32c(payload));
      log.records.push_back(LogRecord{seq, payload});
    }
  }
  return log;
}

std::vector<LogRecord> Prefix(const TestLog& log, size_t n) {
  return {log.records.begin(), log.records.begin() + static_cast<ptrdiff_t>(n)};
}

TEST(LogReaderTest, ReadsEveryRecordOfAnIntactLog) {
  TestLog log = MakeLog({1, 3, 1, 5}, 41);
  auto contents = ReadLogBytes(log.bytes);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(contents->records, log.records);
  EXPECT_EQ(contents->valid_bytes, log.bytes.size());
  EXPECT_FALSE(contents->truncated_tail);
  EXPECT_TRUE(contents->dropped.empty());
}

TEST(LogReaderTest, EmptyLogHasNoRecords) {
  auto contents = ReadLogBytes("");
  ASSERT_TRUE(contents.ok());
  EXPECT_TRUE(contents->records.empty());
  EXPECT_EQ(contents->valid_bytes, 0u);
}

// A crash can cut the file anywhere; the reader keeps exactly the records wholly before the cut.
TEST(LogReaderTest, CutAtEveryOffsetKeepsTheRecordsWhollyBeforeIt) {
  TestLog log = MakeLog({1, 2, 1, 4, 1});
  for (size_t cut = 0; cut <= log.bytes.size(); ++cut) {
    auto contents = ReadLogBytes(std::string_view(log.bytes).substr(0, cut));
    ASSERT_TRUE(contents.ok()) << "cut " << cut << ": " << contents.status();
    size_t whole = 0;
    while (whole < log.records.size() &&
           log.starts[whole] + kHeaderSize + log.records[whole].payload.size() <= cut) {
      ++whole;
    }
    size_t boundary = whole == 0 ? 0 : log.starts[whole - 1] + kHeaderSize + log.records[whole - 1].payload.size();
    EXPECT_EQ(contents->records, Prefix(log, whole)) << "cut " << cut;
    EXPECT_EQ(contents->valid_bytes, boundary) << "cut " << cut;
    EXPECT_EQ(contents->truncated_tail, cut != boundary) << "cut " << cut;
  }
}

// Index of the record holding byte `offset`.
size_t RecordAt(const TestLog& log, size_t offset) {
  size_t index = 0;
  while (index + 1 < log.starts.size() && log.starts[index + 1] <= offset) ++index;
  return index;
}

// One flipped bit is always caught by the CRC: the reader returns the records before the damaged
// one (when only its own unacknowledged batch follows), or DataLoss naming its offset.
TEST(LogReaderTest, FlippedBitGivesTheExactPrefixOrDataLossNamingTheOffset) {
  TestLog log = MakeLog({1, 3, 1, 2, 4});
  std::mt19937 rng(20261124);
  int refused = 0, cut = 0;
  for (int trial = 0; trial < 4000; ++trial) {
    std::string damaged = log.bytes;
    size_t offset = rng() % damaged.size();
    damaged[offset] = static_cast<char>(damaged[offset] ^ (1 << (rng() % 8)));
    size_t bad = RecordAt(log, offset);
    // The last batch starts at the last record with the batch flag: log {.., 4} → 4 from the end.
    bool in_last_batch = bad >= log.records.size() - 4;
    auto contents = ReadLogBytes(damaged);
    if (contents.ok()) {
      ++cut;
      EXPECT_TRUE(in_last_batch) << "offset " << offset;
      EXPECT_EQ(contents->records, Prefix(log, bad)) << "offset " << offset;
      EXPECT_EQ(contents->valid_bytes, log.starts[bad]);
      EXPECT_TRUE(contents->truncated_tail);
    } else {
      ++refused;
      EXPECT_FALSE(in_last_batch) << "offset " << offset << ": " << contents.status();
      EXPECT_TRUE(absl::IsDataLoss(contents.status()));
      EXPECT_NE(contents.status().message().find("at offset " + std::to_string(log.starts[bad])),
                std::string::npos)
          << contents.status();
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(cut, 0);
}

TEST(LogReaderTest, DamageBeforeALaterBatchIsDataLossUnlessSalvaged) {
  TestLog log = MakeLog({1, 1, 1, 1});
  std::string damaged = log.bytes;
  damaged[log.starts[1] + kHeaderSize] ^= 0x01;  // a payload byte of record 2
  auto refused = ReadLogBytes(damaged);
  ASSERT_TRUE(absl::IsDataLoss(refused.status()));
  EXPECT_NE(refused.status().message().find("damaged record at offset " + std::to_string(log.starts[1])),
            std::string::npos)
      << refused.status();

  auto salvaged = ReadLogBytes(damaged, {.salvage = true});
  ASSERT_TRUE(salvaged.ok());
  EXPECT_EQ(salvaged->records, Prefix(log, 1));
  EXPECT_EQ(salvaged->valid_bytes, log.starts[1]);
  EXPECT_TRUE(salvaged->truncated_tail);
  EXPECT_NE(salvaged->dropped.find("salvaged"), std::string::npos) << salvaged->dropped;
}

// Pages of the last batch may reach the disk in any order; none of it was acknowledged.
TEST(LogReaderTest, DamageInsideTheLastBatchIsATornTailEvenIfLaterRecordsOfItAreIntact) {
  TestLog log = MakeLog({2, 4});
  std::string damaged = log.bytes;
  std::fill(damaged.begin() + static_cast<ptrdiff_t>(log.starts[3]),
            damaged.begin() + static_cast<ptrdiff_t>(log.starts[4]), '\0');
  auto contents = ReadLogBytes(damaged);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(contents->records, Prefix(log, 3));
  EXPECT_TRUE(contents->truncated_tail);
}

// Zeros after the records are preallocated room: the end of the log, not a torn tail. Zeros
// with anything non-zero after them are not.
TEST(LogReaderTest, ZerosAfterTheRecordsEndTheLog) {
  TestLog log = MakeLog({2, 3});
  auto contents = ReadLogBytes(log.bytes + std::string(5000, '\0'));
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(contents->records, log.records);
  EXPECT_EQ(contents->valid_bytes, log.bytes.size());
  EXPECT_FALSE(contents->truncated_tail);
  // A torn batch over the zeros: its first bytes landed, the rest is still zeros.
  TestLog torn = MakeLog({2, 3, 2});
  std::string bytes = torn.bytes.substr(0, torn.starts[5] + 7) + std::string(5000, '\0');
  contents = ReadLogBytes(bytes);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(contents->records, Prefix(torn, 5));
  EXPECT_TRUE(contents->truncated_tail);
  // Zeros and then an intact later batch: damage in the middle.
  bytes = log.bytes + std::string(64, '\0') + MakeLog({1}, 6).bytes;
  EXPECT_TRUE(absl::IsDataLoss(ReadLogBytes(bytes).status()));
}

TEST(LogReaderTest, SequenceGapIsDataLossNamingTheOffset) {
  std::string bytes;
  AppendRecord(&bytes, 5, true, "a", Crc32c("a"));
  size_t second = bytes.size();
  AppendRecord(&bytes, 7, true, "b", Crc32c("b"));
  auto contents = ReadLogBytes(bytes);
  ASSERT_TRUE(absl::IsDataLoss(contents.status()));
  EXPECT_NE(contents.status().message().find("offset " + std::to_string(second)), std::string::npos);
  EXPECT_NE(contents.status().message().find("expected 6"), std::string::npos);
  auto salvaged = ReadLogBytes(bytes, {.salvage = true});
  ASSERT_TRUE(salvaged.ok());
  EXPECT_EQ(salvaged->records.size(), 1u);
}

TEST(LogReaderTest, ReadLogNamesTheFileAndTruncateToCutsTheTail) {
  std::string dir = ::testing::TempDir() + "/wal_reader_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string path = dir + "/log";
  EXPECT_TRUE(absl::IsNotFound(ReadLog(path).status()));
  TestLog log = MakeLog({1, 1, 1});
  ASSERT_TRUE(WriteFileAtomically(path, log.bytes + "torn").ok());
  auto contents = ReadLog(path);
  ASSERT_TRUE(contents.ok());
  ASSERT_TRUE(contents->truncated_tail);
  ASSERT_TRUE(TruncateTo(path, contents->valid_bytes).ok());
  EXPECT_EQ(*ReadFile(path), log.bytes);
  EXPECT_TRUE(absl::IsInvalidArgument(TruncateTo(path, log.bytes.size() + 1)));

  std::string damaged = log.bytes;
  damaged[log.starts[0] + 12] ^= 0x40;
  ASSERT_TRUE(WriteFileAtomically(path, damaged).ok());
  auto refused = ReadLog(path);
  EXPECT_NE(refused.status().message().find(path), std::string::npos) << refused.status();
  std::filesystem::remove_all(dir);
}

// Every file of the fuzz corpus goes through the reader in the normal test run.
TEST(LogReaderTest, FuzzCorpusReplaysWithoutCrashing) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(QA_WAL_FUZZ_CORPUS)) {
    if (!entry.is_regular_file() || entry.path().extension() == ".md" ||
        entry.path().extension() == ".py") {
      continue;
    }
    auto bytes = ReadFile(entry.path().string());
    ASSERT_TRUE(bytes.ok());
    ++files;
    for (bool salvage : {false, true}) {
      auto contents = ReadLogBytes(*bytes, {.salvage = salvage});
      if (!contents.ok()) {
        EXPECT_FALSE(salvage) << entry.path();
        EXPECT_TRUE(absl::IsDataLoss(contents.status())) << entry.path();
        continue;
      }
      EXPECT_LE(contents->valid_bytes, bytes->size());
      // Short of the end only for a torn tail or zeros (preallocated room) after the records.
      const bool zeros_after = bytes->find_first_not_of('\0', contents->valid_bytes) == std::string::npos;
      EXPECT_EQ(contents->truncated_tail, contents->valid_bytes < bytes->size() && !zeros_after) << entry.path();
      for (size_t i = 1; i < contents->records.size(); ++i) {
        EXPECT_EQ(contents->records[i].seq, contents->records[i - 1].seq + 1);
      }
    }
  }
  EXPECT_GE(files, 5);
}

// The seeds are written by fuzz_corpus/make_corpus.py, a second encoder written from the format
// document: the reader must agree with it.
TEST(LogReaderTest, IndependentlyEncodedSeedsReadAsDocumented) {
  auto read = [](const std::string& name) {
    return ReadLogBytes(*ReadFile(std::string(QA_WAL_FUZZ_CORPUS) + "/" + name));
  };
  auto batches = read("batches");
  ASSERT_TRUE(batches.ok()) << batches.status();
  EXPECT_EQ(batches->records.size(), 6u);
  EXPECT_FALSE(batches->truncated_tail);
  EXPECT_EQ(read("one_record")->records, (std::vector<LogRecord>{{1, "hello"}}));
  EXPECT_EQ(read("torn_payload")->records.size(), 2u);
  EXPECT_EQ(read("last_batch_reordered")->records.size(), 1u);
  EXPECT_TRUE(absl::IsDataLoss(read("damaged_middle").status()));
  EXPECT_TRUE(absl::IsDataLoss(read("sequence_gap").status()));
}

}  // namespace
}  // namespace quantatom::wal
