// Appending committed change sets to the write-ahead log, durably, with group commit.
//
//   QA_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogWriter> log, wal::LogWriter::Open(path));
//   QA_ASSIGN_OR_RETURN(uint64_t seq, log->Append(encoded_change_set));
//   // Only now may the change be acknowledged: the record is on disk (fdatasync returned).
//
// Group commit: Append is called by many threads at once. The first caller to find no write in
// progress becomes the leader: it takes every record queued so far, writes them with one
// pwrite, calls fdatasync once, and wakes the callers whose records that made durable. Callers
// that arrive meanwhile queue their records for the next leader. So n concurrent writers cost
// about one fdatasync per round, not n.
//
// Preallocation (as PostgreSQL does with WAL segments): the file is extended ahead of the
// records by writing zeros, `preallocate_bytes` at a time, and fdatasynced once; records are
// then written over those zeros, so the fdatasync of a round has only data to flush, not a new
// file size or newly allocated blocks. The reader takes a remainder of zeros as the end of the
// log (docs/formats/write-ahead-log.md). If the disk cannot hold the zeros (ENOSPC, EDQUOT),
// the extension is cut back and the log simply grows from then on.
//
// Fail-stop: after any write or fdatasync error the writer refuses every later Append with that
// error (naming the file and errno text). Retrying is unsafe: after a failed fdatasync, Linux
// may drop the dirty pages and report success on the next call, so a record could be
// acknowledged that is not on disk. Reopening reads the log again and cuts what is unsure.
//
// Thread-safe. The destructor must not run while an Append is in progress.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/status.h"

namespace quantatom::wal {

struct LogWriterOptions {
  // The system calls that make records durable, replaceable so that tests can make them fail
  // (a full disk, EIO) or count them. POSIX contract: -1 and errno on an error.
  std::function<ssize_t(int fd, const void* data, size_t size, off_t offset)> pwrite;
  std::function<int(int fd)> fdatasync;
  // The sequence number of the first record of an empty log.
  uint64_t first_seq = 1;
  // Group commit delay (PostgreSQL's commit_delay with commit_siblings): the number of
  // writers that are about to Enqueue (applying their change now); while it is above zero, a
  // new leader waits up to `group_commit_delay` for their records, so that one fdatasync takes
  // them too instead of starting a second round. Not set, or zero delay: no waiting.
  std::function<size_t()> writers_coming;
  std::chrono::microseconds group_commit_delay{0};
  // Zeros written ahead of the records (see above); 0: the file grows with each batch.
  uint64_t preallocate_bytes = 1ull << 20;
};

class LogWriter {
 public:
  // Opens the log at `path` for appending, creating it (and fsyncing its folder) if missing.
  // An existing log is read first (log_reader.h): a torn tail is cut off and appending goes on
  // after the last intact record; damage in the middle is DataLoss and nothing is opened (an
  // operator may salvage with ReadLog + TruncateTo first).
  static absl::StatusOr<std::unique_ptr<LogWriter>> Open(const std::string& path,
                                                         LogWriterOptions options = {});
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Appends one record holding `payload` and returns its sequence number once the record is
  // durable. Blocks for about one fdatasync. InvalidArgument for a payload over
  // kMaxPayloadSize (the log goes on); any I/O error stops the log (see above).
  absl::StatusOr<uint64_t> Append(std::string_view payload);

  // Append in two halves, for a caller that must fix the order of records under its own lock
  // but not wait for the disk under it: Enqueue assigns the sequence number and queues the
  // record (same errors as Append, nothing written yet); WaitDurable(seq) returns once every
  // record up to `seq` is durable, or the error that stopped the log. A record enqueued is
  // written by whichever caller waits first.
  absl::StatusOr<uint64_t> Enqueue(std::string_view payload);
  absl::Status WaitDurable(uint64_t seq);
  // Bytes of durable records in the file.
  uint64_t size_bytes() const;

  // OK while the log takes writes; else the error that stopped it.
  absl::Status status() const;
  // Number of fdatasync calls made so far (group commit makes it less than the appends).
  uint64_t sync_count() const;
  // The sequence number the next Append will get.
  uint64_t next_seq() const;
  const std::string& path() const { return path_; }

 private:
  LogWriter(std::string path, int fd, uint64_t offset, uint64_t next_seq, LogWriterOptions options);
  // Writes `batch` at offset_ and fdatasyncs it; called by the leader without the lock.
  absl::Status WriteAndSync(const std::string& batch, uint64_t offset);
  // Makes sure zeros are durable up to at least `end` when a preallocation step can cover
  // it (leader only, without the lock).
  absl::Status Preallocate(uint64_t end);
  absl::Status WriteAll(const char* data, size_t size, uint64_t offset);

  const std::string path_;
  const int fd_;
  const LogWriterOptions options_;

  mutable std::mutex mu_;
  std::condition_variable durable_cv_;  // signalled when a leader finishes a round
  std::condition_variable queued_cv_;   // signalled when a record is queued
  std::string queued_;        // encoded records waiting for the next leader (guarded by mu_)
  std::string spare_;         // the previous round's buffer, reused (guarded by mu_)
  uint64_t offset_;           // file length once the durable records are written (mu_)
  uint64_t next_seq_;         // (mu_)
  uint64_t durable_seq_;      // every record up to this seq is durable (mu_)
  bool leader_active_ = false;  // (mu_)
  bool leader_waiting_ = false;  // (mu_): the leader waits for writers_coming
  // File length (zeros after offset_); touched only by the leader of a round.
  uint64_t allocated_ = 0;
  bool preallocate_ = true;
  absl::Status failed_;         // (mu_)
  uint64_t sync_count_ = 0;     // (mu_)
};

}  // namespace quantatom::wal
