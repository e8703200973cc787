// Reading a write-ahead log back at start-up, and cutting off a torn tail.
//
//   QA_ASSIGN_OR_RETURN(wal::LogContents log, wal::ReadLog(path));
//   if (log.truncated_tail) QA_RETURN_IF_ERROR(wal::TruncateTo(path, log.valid_bytes));
//   for (const wal::LogRecord& r : log.records) Replay(r.seq, r.payload);
//
// The rules (docs/formats/write-ahead-log.md, "Recovery"):
// - Records are read from offset 0 while they are intact (magic, type, flags, length, CRC).
// - Where only zero bytes remain, the log ends: that is room the writer preallocated. No
//   record can be all zeros (its magic is "QW"), so this never hides one.
// - The first record that is not intact ends the log if nothing durable follows it: it belongs
//   to the last group-commit batch, whose fdatasync never returned, so none of its records was
//   acknowledged. The bytes from it on are the torn tail (`truncated_tail`).
// - It is corruption if an intact batch-start record with a later sequence number follows it:
//   a batch is written only after the previous one was durable, so the damaged record had been
//   acknowledged. That is DataLoss naming the offset, unless `salvage` is set.
// - Sequence numbers increase by exactly 1 from the first record on; a gap or repeat in an
//   intact record is DataLoss naming the offset, unless `salvage` is set.
//
// Any input is safe: the reader never reads out of bounds, and it allocates no more than the
// bytes it was given (payloads are copied out). Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace quantatom::wal {

struct LogRecord {
  uint64_t seq = 0;
  std::string payload;
  bool operator==(const LogRecord&) const = default;
};

struct ReadLogOptions {
  // Operator override for a log damaged in the middle: keep the records before the damage and
  // report what was dropped, instead of refusing to start. Later records, even intact ones, are
  // dropped too, since they cannot be replayed over the gap.
  bool salvage = false;
};

struct LogContents {
  std::vector<LogRecord> records;  // in order; seq increases by 1
  // Length of the prefix that holds `records`; the log must be cut to it (TruncateTo) before
  // anything is appended.
  uint64_t valid_bytes = 0;
  bool truncated_tail = false;  // bytes after valid_bytes exist and were not read as records
  std::string dropped;          // when truncated_tail: what was dropped and why, with offsets
};

// Reads a log held in memory. DataLoss (naming the byte offset) for damage that the rules above
// do not allow to be cut off.
absl::StatusOr<LogContents> ReadLogBytes(std::string_view bytes, const ReadLogOptions& options = {});

// Reads the log file at `path` (the whole file, into memory). NotFound if there is none;
// errors name the file.
absl::StatusOr<LogContents> ReadLog(const std::string& path, const ReadLogOptions& options = {});

// Cuts the file at `path` to `valid_bytes` and fsyncs it, so that the cut survives a crash
// before the next record is appended. InvalidArgument if the file is shorter than that.
absl::Status TruncateTo(const std::string& path, uint64_t valid_bytes);

}  // namespace quantatom::wal
