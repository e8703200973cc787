#include "wal/log_writer.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/file_util.h"
#include "wal/log_format.h"
#include "wal/log_reader.h"

namespace quantatom::wal {
namespace {

// An empty folder of its own (ctest runs tests in parallel processes).
std::string FreshDir(const std::string& name) {
  std::string dir = ::testing::TempDir() + "/wal_" + name + "_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(LogWriterTest, ManyRecordsRoundTripAndReopeningContinuesTheSequence) {
  std::string path = FreshDir("roundtrip") + "/log";
  std::vector<LogRecord> written;
  {
    auto log = LogWriter::Open(path, {.first_seq = 100});
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 500; ++i) {
      std::string payload(static_cast<size_t>(i % 97), static_cast<char>(i));
      auto seq = (*log)->Append(payload);
      ASSERT_TRUE(seq.ok()) << seq.status();
      EXPECT_EQ(*seq, 100u + static_cast<uint64_t>(i));
      written.push_back({*seq, payload});
    }
  }
  {
    auto log = LogWriter::Open(path);
    ASSERT_TRUE(log.ok());
    EXPECT_EQ((*log)->next_seq(), 600u);
    auto seq = (*log)->Append("after reopen");
    ASSERT_TRUE(seq.ok());
    written.push_back({*seq, "after reopen"});
  }
  auto contents = ReadLog(path);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(contents->records, written);
  EXPECT_FALSE(contents->truncated_tail);
}

TEST(LogWriterTest, OpenCutsATornTailAndAppendsAfterTheLastIntactRecord) {
  std::string path = FreshDir("torn") + "/log";
  {
    auto log = LogWriter::Open(path);
    ASSERT_TRUE((*log)->Append("one").ok());
    ASSERT_TRUE((*log)->Append("two").ok());
  }
  std::string intact = *ReadFile(path);
  // A third record whose header reached the disk but not all of its payload.
  ASSERT_TRUE(WriteFileAtomically(path, intact + intact.substr(0, kHeaderSize + 2)).ok());
  auto log = LogWriter::Open(path);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(*(*log)->Append("three"), 3u);
  auto contents = ReadLog(path);
  ASSERT_TRUE(contents.ok());
  ASSERT_EQ(contents->records.size(), 3u);
  EXPECT_EQ(contents->records[2].payload, "three");
}

TEST(LogWriterTest, OpenRefusesALogDamagedInTheMiddle) {
  std::string path = FreshDir("damaged") + "/log";
  {
    auto log = LogWriter::Open(path);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE((*log)->Append("record").ok());
  }
  std::string bytes = *ReadFile(path);
  bytes[kHeaderSize + 1] ^= 0x10;
  ASSERT_TRUE(WriteFileAtomically(path, bytes).ok());
  auto log = LogWriter::Open(path);
  EXPECT_TRUE(absl::IsDataLoss(log.status())) << log.status();
  EXPECT_NE(log.status().message().find("offset 0"), std::string::npos) << log.status();
}

// Group commit: 8 threads append at once; every acknowledged seq is in the file exactly once, in
// order, with its own payload, and fdatasync ran fewer times than there were appends.
TEST(LogWriterTest, ConcurrentAppendsShareFdatasyncsAndEveryAcknowledgedRecordIsInTheLog) {
  std::string path = FreshDir("group") + "/log";
  std::atomic<int> syncs_in_flight{0};
  LogWriterOptions options;
  options.fdatasync = [&](int fd) {
    // Make a round last long enough for the other threads to queue behind it, as on a disk.
    ++syncs_in_flight;
    int result = ::fdatasync(fd);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    --syncs_in_flight;
    return result;
  };
  auto log = LogWriter::Open(path, options);
  ASSERT_TRUE(log.ok());
  constexpr int kThreads = 8, kPerThread = 200;
  std::mutex acked_mu;
  std::vector<LogRecord> acked;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string payload = "thread " + std::to_string(t) + " record " + std::to_string(i);
        auto seq = (*log)->Append(payload);
        ASSERT_TRUE(seq.ok()) << seq.status();
        std::lock_guard lock(acked_mu);
        acked.push_back({*seq, payload});
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::sort(acked.begin(), acked.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
  auto contents = ReadLog(path);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(contents->records, acked);
  EXPECT_EQ(contents->records.size(), static_cast<size_t>(kThreads * kPerThread));
  const uint64_t syncs = (*log)->sync_count();
  EXPECT_LT(syncs, static_cast<uint64_t>(kThreads * kPerThread));
  std::cout << "appends " << kThreads * kPerThread << ", fdatasyncs " << syncs << "\n";
}

// A seam that fails the n-th call with `error`, and records how far writes got.
struct FailingIo {
  std::atomic<int> writes{0}, syncs{0};
  int fail_write_at = -1, fail_sync_at = -1, short_write_at = -1;
  int error = EIO;
  LogWriterOptions Options() {
    LogWriterOptions options;
    options.preallocate_bytes = 0;  // the calls counted are the records' (preallocation: below)
    options.pwrite = [this](int fd, const void* data, size_t size, off_t offset) -> ssize_t {
      int call = writes++;
      if (call == fail_write_at) {
        errno = error;
        return -1;
      }
      if (call == short_write_at) return ::pwrite(fd, data, size / 2, offset);
      return ::pwrite(fd, data, size, offset);
    };
    options.fdatasync = [this](int fd) {
      if (syncs++ == fail_sync_at) {
        errno = error;
        return -1;
      }
      return ::fdatasync(fd);
    };
    return options;
  }
};

// After the first error, nothing more is acknowledged, and the error names the file and cause.
void ExpectFailStop(FailingIo& io, const std::string& path, absl::StatusCode code,
                    const std::string& cause) {
  auto log = LogWriter::Open(path, io.Options());
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(*(*log)->Append("durable 1"), 1u);
  ASSERT_EQ(*(*log)->Append("durable 2"), 2u);
  auto failed = (*log)->Append("not durable");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), code) << failed.status();
  EXPECT_NE(failed.status().message().find(path), std::string::npos) << failed.status();
  EXPECT_NE(failed.status().message().find(cause), std::string::npos) << failed.status();
  const int writes_after_failure = io.writes.load();
  for (int i = 0; i < 5; ++i) {
    auto later = (*log)->Append("later");
    EXPECT_EQ(later.status(), failed.status());
  }
  EXPECT_EQ(io.writes.load(), writes_after_failure) << "a stopped log must not write";
  EXPECT_EQ((*log)->status(), failed.status());
  log->reset();
  // What the log holds is at least the acknowledged records, and reopening keeps only intact ones.
  auto contents = ReadLog(path);
  ASSERT_TRUE(contents.ok()) << contents.status();
  ASSERT_GE(contents->records.size(), 2u);
  EXPECT_EQ(contents->records[1].payload, "durable 2");
}

TEST(LogWriterTest, WriteErrorStopsTheLog) {
  FailingIo io;
  io.fail_write_at = 2;
  ExpectFailStop(io, FreshDir("eio") + "/log", absl::StatusCode::kInternal, "Input/output error");
}

TEST(LogWriterTest, DiskFullIsResourceExhaustedAndStopsTheLog) {
  FailingIo io;
  io.fail_write_at = 2;
  io.error = ENOSPC;
  ExpectFailStop(io, FreshDir("enospc") + "/log", absl::StatusCode::kResourceExhausted,
                 "No space left on device");
}

TEST(LogWriterTest, FdatasyncErrorStopsTheLogEvenIfTheWriteLanded) {
  FailingIo io;
  io.fail_sync_at = 2;
  ExpectFailStop(io, FreshDir("syncfail") + "/log", absl::StatusCode::kInternal, "fdatasync");
}

TEST(LogWriterTest, ShortWriteStopsTheLog) {
  FailingIo io;
  io.short_write_at = 2;
  ExpectFailStop(io, FreshDir("short") + "/log", absl::StatusCode::kResourceExhausted, "short write");
}

// Concurrent writers behind a failing fdatasync: an acknowledged seq is never one at or after
// the first record of the failed round.
TEST(LogWriterTest, ConcurrentWritersGetNoAcknowledgementAfterTheFirstError) {
  std::string path = FreshDir("concurrent_fail") + "/log";
  FailingIo io;
  io.fail_sync_at = 20;
  auto log = LogWriter::Open(path, io.Options());
  ASSERT_TRUE(log.ok());
  std::mutex mu;
  std::vector<uint64_t> acked;
  int errors = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto seq = (*log)->Append("x");
        std::lock_guard lock(mu);
        if (seq.ok()) acked.push_back(*seq); else ++errors;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_GT(errors, 0);
  std::sort(acked.begin(), acked.end());
  // The acknowledged seqs are exactly 1..k: the rounds before the failed one.
  for (size_t i = 0; i < acked.size(); ++i) EXPECT_EQ(acked[i], i + 1);
  EXPECT_EQ(io.syncs.load(), 21);
  log->reset();
  auto contents = ReadLog(path);
  ASSERT_TRUE(contents.ok());
  EXPECT_GE(contents->records.size(), acked.size());
}

// Preallocation: the file is extended with zeros ahead of the records, once per step; records
// go over the zeros, the reader stops at them, and a reopened log appends after the last record.
TEST(LogWriterTest, RecordsGoOverPreallocatedZerosAndTheReaderStopsAtThem) {
  std::string path = FreshDir("prealloc") + "/log";
  std::atomic<int> syncs{0};
  LogWriterOptions options;
  options.preallocate_bytes = 4096;
  options.fdatasync = [&](int fd) { return ++syncs, ::fdatasync(fd); };
  std::vector<LogRecord> written;
  {
    auto log = LogWriter::Open(path, options);
    ASSERT_TRUE(log.ok()) << log.status();
    // 30 records of 100 + 20 bytes: 3,600 bytes, inside the first 4 KiB step.
    for (int i = 0; i < 30; ++i) {
      std::string payload(100, static_cast<char>('a' + i % 26));
      written.push_back({*(*log)->Append(payload), payload});
    }
    EXPECT_EQ(std::filesystem::file_size(path), 4096u);
    EXPECT_EQ((*log)->size_bytes(), 30u * 120);
    EXPECT_EQ(syncs.load(), 31) << "one fdatasync for the zeros, one per record";
    // The next 5 records cross into a second step.
    for (int i = 0; i < 5; ++i) written.push_back({*(*log)->Append(std::string(100, 'z')), std::string(100, 'z')});
    EXPECT_EQ(std::filesystem::file_size(path), 8192u);
  }
  const std::string bytes = *ReadFile(path);
  EXPECT_EQ(bytes.find_first_not_of('\0', 35 * 120), std::string::npos) << "zeros after the records";
  auto contents = ReadLog(path);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(contents->records, written);
  EXPECT_EQ(contents->valid_bytes, 35u * 120);
  EXPECT_FALSE(contents->truncated_tail) << "zeros are the end of the log, not a torn tail";
  auto log = LogWriter::Open(path, options);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(*(*log)->Append("after"), 36u);
  EXPECT_EQ(ReadLog(path)->records.back().payload, "after");
}

// A record ending in zero bytes is not mistaken for the preallocated zeros after it.
TEST(LogWriterTest, ARecordEndingInZerosIsReadWhole) {
  std::string path = FreshDir("prealloc_zeros") + "/log";
  LogWriterOptions options;
  options.preallocate_bytes = 4096;
  {
    auto log = LogWriter::Open(path, options);
    ASSERT_EQ(*(*log)->Append(std::string("x\0\0\0", 4)), 1u);
  }
  auto contents = ReadLog(path);
  ASSERT_TRUE(contents.ok());
  ASSERT_EQ(contents->records.size(), 1u);
  EXPECT_EQ(contents->records[0].payload, std::string("x\0\0\0", 4));
}

// No room for the zeros (ENOSPC while preallocating): the space is given back and the log grows
// with its records instead; nothing is lost. Any other error while preallocating stops the log.
TEST(LogWriterTest, DiskFullWhilePreallocatingFallsBackToGrowingTheFile) {
  std::string path = FreshDir("prealloc_full") + "/log";
  LogWriterOptions options;
  options.preallocate_bytes = 1 << 20;
  int zero_writes = 0;
  options.pwrite = [&](int fd, const void* data, size_t size, off_t offset) -> ssize_t {
    if (size >= 4096 && ++zero_writes == 3) {  // the third 64 KiB block of zeros
      errno = ENOSPC;
      return -1;
    }
    return ::pwrite(fd, data, size, offset);
  };
  {
    auto log = LogWriter::Open(path, options);
    ASSERT_TRUE(log.ok());
    for (int i = 1; i <= 3; ++i) ASSERT_EQ(*(*log)->Append("kept"), static_cast<uint64_t>(i));
    EXPECT_EQ(std::filesystem::file_size(path), 3u * 24) << "the zeros were given back";
  }
  EXPECT_EQ(ReadLog(path)->records.size(), 3u);

  std::string eio_path = FreshDir("prealloc_eio") + "/log";
  options.pwrite = [&](int fd, const void* data, size_t size, off_t offset) -> ssize_t {
    if (size >= 4096) {
      errno = EIO;
      return -1;
    }
    return ::pwrite(fd, data, size, offset);
  };
  auto log = LogWriter::Open(eio_path, options);
  ASSERT_TRUE(log.ok());
  auto failed = (*log)->Append("never acknowledged");
  EXPECT_TRUE(absl::IsInternal(failed.status())) << failed.status();
  EXPECT_FALSE((*log)->status().ok());
}

TEST(LogWriterTest, OversizedPayloadIsRefusedWithoutStoppingTheLog) {
  std::string path = FreshDir("oversized") + "/log";
  auto log = LogWriter::Open(path);
  std::string huge(static_cast<size_t>(kMaxPayloadSize) + 1, 'x');
  EXPECT_TRUE(absl::IsInvalidArgument((*log)->Append(huge).status()));
  EXPECT_TRUE((*log)->status().ok());
  EXPECT_EQ(*(*log)->Append("fine"), 1u);
}

}  // namespace
}  // namespace quantatom::wal
