#include "wal/log_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <filesystem>

#include "base/file_util.h"
#include "base/strings.h"
#include "wal/crc32c.h"
#include "wal/log_format.h"
#include "wal/log_reader.h"

namespace quantatom::wal {
namespace {

absl::Status IoError(std::string_view what, const std::string& path, int error) {
  std::string msg = StrCat(what, " ", path, ": ", std::strerror(error),
                           "; the write-ahead log stops taking writes");
  if (error == ENOSPC || error == EDQUOT) return absl::ResourceExhaustedError(msg);
  return absl::InternalError(msg);
}

}  // namespace

absl::StatusOr<std::unique_ptr<LogWriter>> LogWriter::Open(const std::string& path,
                                                           LogWriterOptions options) {
  if (!options.pwrite) options.pwrite = ::pwrite;
  if (!options.fdatasync) options.fdatasync = ::fdatasync;
  uint64_t offset = 0;
  uint64_t next_seq = options.first_seq;
  bool created = false;
  absl::StatusOr<LogContents> contents = ReadLog(path);
  if (contents.ok()) {
    if (contents->truncated_tail) QA_RETURN_IF_ERROR(TruncateTo(path, contents->valid_bytes));
    offset = contents->valid_bytes;
    if (!contents->records.empty()) next_seq = contents->records.back().seq + 1;
  } else if (absl::IsNotFound(contents.status())) {
    created = true;
  } else {
    return contents.status();
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return IoError("cannot open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    absl::Status s = IoError("cannot stat", path, errno);
    ::close(fd);
    return s;
  }
  if (created) {
    // The new file's name must be durable before any record in it is acknowledged.
    std::string dir = std::filesystem::path(path).parent_path().string();
    absl::Status synced = SyncDirectory(dir.empty() ? "." : dir);
    if (!synced.ok()) {
      ::close(fd);
      return synced;
    }
  }
  auto writer = std::unique_ptr<LogWriter>(new LogWriter(path, fd, offset, next_seq, std::move(options)));
  // Past the records there are only zeros (the reader stopped at the first of them, and a torn
  // tail was cut above): that is the preallocated room.
  writer->allocated_ = std::max<uint64_t>(offset, static_cast<uint64_t>(st.st_size));
  writer->preallocate_ = writer->options_.preallocate_bytes > 0;
  return writer;
}

LogWriter::LogWriter(std::string path, int fd, uint64_t offset, uint64_t next_seq,
                     LogWriterOptions options)
    : path_(std::move(path)),
      fd_(fd),
      options_(std::move(options)),
      offset_(offset),
      next_seq_(next_seq),
      durable_seq_(next_seq - 1) {}

LogWriter::~LogWriter() { ::close(fd_); }

absl::StatusOr<uint64_t> LogWriter::Append(std::string_view payload) {
  QA_ASSIGN_OR_RETURN(uint64_t seq, Enqueue(payload));
  QA_RETURN_IF_ERROR(WaitDurable(seq));
  return seq;
}

absl::StatusOr<uint64_t> LogWriter::Enqueue(std::string_view payload) {
  if (payload.size() > kMaxPayloadSize) {
    return absl::InvalidArgumentError(StrCat("a write-ahead log record holds at most ",
                                             kMaxPayloadSize, " bytes, not ", payload.size()));
  }
  const uint32_t payload_crc = Crc32c(payload);  // outside the lock: it is most of the CPU work
  std::lock_guard lock(mu_);
  if (!failed_.ok()) return failed_;
  const uint64_t seq = next_seq_++;
  // The leader takes the whole queue, so a record queued into an empty queue starts a batch.
  AppendRecord(&queued_, seq, /*batch_start=*/queued_.empty(), payload, payload_crc);
  if (leader_waiting_) queued_cv_.notify_one();
  return seq;
}

absl::Status LogWriter::WaitDurable(uint64_t seq) {
  std::unique_lock lock(mu_);
  while (durable_seq_ < seq && failed_.ok()) {
    if (leader_active_) {
      durable_cv_.wait(lock);
      continue;
    }
    // Lead one round: everything queued so far, including this record, and the records of
    // writers about to queue theirs if they come within the delay.
    leader_active_ = true;
    if (options_.writers_coming && options_.group_commit_delay.count() > 0) {
      const auto until = std::chrono::steady_clock::now() + options_.group_commit_delay;
      leader_waiting_ = true;
      while (options_.writers_coming() > 0 && failed_.ok() &&
             queued_cv_.wait_until(lock, until) != std::cv_status::timeout) {
      }
      leader_waiting_ = false;
    }
    std::string batch;
    batch.swap(spare_);
    batch.swap(queued_);  // queued_ is now the (empty) spare buffer
    queued_.clear();
    const uint64_t batch_last_seq = next_seq_ - 1;
    const uint64_t batch_offset = offset_;
    lock.unlock();
    absl::Status written = WriteAndSync(batch, batch_offset);
    lock.lock();
    ++sync_count_;
    if (written.ok()) {
      offset_ += batch.size();
      durable_seq_ = batch_last_seq;
    } else {
      failed_ = written;
    }
    batch.clear();
    spare_.swap(batch);
    leader_active_ = false;
    durable_cv_.notify_all();
  }
  if (durable_seq_ >= seq) return absl::OkStatus();
  return failed_;
}

uint64_t LogWriter::size_bytes() const {
  std::lock_guard lock(mu_);
  return offset_;
}

absl::Status LogWriter::WriteAll(const char* data, size_t size, uint64_t offset) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = options_.pwrite(fd_, data + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("cannot write to", path_, errno);
    if (static_cast<size_t>(n) != size - done) {
      // pwrite on a regular file is short only when it cannot go on (a full disk, a quota);
      // the next call would fail anyway, so stop here rather than leave half a batch behind.
      return absl::ResourceExhaustedError(StrCat(
          "short write to ", path_, ": ", n, " of ", size - done, " bytes at offset ", offset + done,
          " (the disk is full or over quota); the write-ahead log stops taking writes"));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status LogWriter::Preallocate(uint64_t end) {
  const uint64_t step = options_.preallocate_bytes;
  if (!preallocate_ || end <= allocated_ || end - allocated_ > step) return absl::OkStatus();
  // Zeros from allocated_ to allocated_ + step, written (not fallocate: unwritten extents would
  // still need a metadata update when the records are written over them) and made durable.
  static const std::string kZeros(64 << 10, '\0');
  absl::Status s;
  for (uint64_t at = allocated_; s.ok() && at < allocated_ + step; at += kZeros.size())
    s = WriteAll(kZeros.data(), std::min<uint64_t>(kZeros.size(), allocated_ + step - at), at);
  if (s.ok() && options_.fdatasync(fd_) != 0) return IoError("cannot fdatasync", path_, errno);
  if (s.ok()) {
    allocated_ += step;
    return absl::OkStatus();
  }
  if (!absl::IsResourceExhausted(s)) return s;
  // No room for the zeros: give the space back and let the file grow with its records. The
  // cut is only of zeros past every record, so it needs no fsync to be safe.
  if (::ftruncate(fd_, static_cast<off_t>(allocated_)) != 0) return IoError("cannot truncate", path_, errno);
  preallocate_ = false;
  return absl::OkStatus();
}

absl::Status LogWriter::WriteAndSync(const std::string& batch, uint64_t offset) {
  QA_RETURN_IF_ERROR(Preallocate(offset + batch.size()));
  QA_RETURN_IF_ERROR(WriteAll(batch.data(), batch.size(), offset));
  if (options_.fdatasync(fd_) != 0) return IoError("cannot fdatasync", path_, errno);
  allocated_ = std::max<uint64_t>(allocated_, offset + batch.size());
  return absl::OkStatus();
}

absl::Status LogWriter::status() const {
  std::lock_guard lock(mu_);
  return failed_;
}

uint64_t LogWriter::sync_count() const {
  std::lock_guard lock(mu_);
  return sync_count_;
}

uint64_t LogWriter::next_seq() const {
  std::lock_guard lock(mu_);
  return next_seq_;
}

}  // namespace quantatom::wal
