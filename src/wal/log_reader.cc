#include "wal/log_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "base/file_util.h"
#include "base/strings.h"
#include "wal/log_format.h"

namespace quantatom::wal {
namespace {

// The offset of the first intact batch-start record at or after `from` whose sequence number
// is above `after_seq` (any, if there is no accepted record yet). Only used once the log has
// proved damaged, so a byte-by-byte search is fine. Requiring a batch start and a later seq
// keeps stray look-alikes (a log copied inside a payload, say) from counting as evidence.
std::optional<size_t> FindLaterBatch(std::string_view bytes, size_t from,
                                     std::optional<uint64_t> after_seq) {
  for (size_t at = from; at + kHeaderSize <= bytes.size(); ++at) {
    if (bytes[at + 4] != kMagic[0] || bytes[at + 5] != kMagic[1] ||
        static_cast<uint8_t>(bytes[at + 7]) != kBatchStartFlag) {
      continue;
    }
    ParsedRecord record;
    if (ParseRecord(bytes.substr(at), &record) != ParseResult::kOk) continue;
    if (!after_seq || record.seq > *after_seq) return at;
  }
  return std::nullopt;
}

absl::Status ErrnoError(std::string_view what, const std::string& path) {
  return absl::InternalError(StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<LogContents> ReadLogBytes(std::string_view bytes, const ReadLogOptions& options) {
  LogContents out;
  std::optional<uint64_t> last_seq;
  size_t pos = 0;
  // Ends the log at `pos` because of `problem`: refused unless salvaging.
  auto stop_for_damage = [&](const std::string& problem) -> absl::Status {
    if (!options.salvage) {
      return absl::DataLossError(StrCat(problem, "; the ", out.records.size(),
                                        " records before offset ", pos,
                                        " are intact (start with salvage to keep only them)"));
    }
    out.truncated_tail = true;
    out.dropped = StrCat("salvaged: ", problem, "; dropped ", bytes.size() - pos,
                         " bytes from offset ", pos);
    return absl::OkStatus();
  };
  // Past the last non-zero byte there are only zeros (preallocated room): the log ends at the
  // first record boundary at or after it. A record may itself end in zero bytes, so records
  // are still parsed against all the bytes.
  size_t zeros_from = bytes.size();
  while (zeros_from > 0 && bytes[zeros_from - 1] == 0) --zeros_from;
  while (pos < bytes.size() && pos < zeros_from) {
    ParsedRecord record;
    ParseResult result = ParseRecord(bytes.substr(pos), &record);
    if (result == ParseResult::kOk) {
      if (last_seq && record.seq != *last_seq + 1) {
        QA_RETURN_IF_ERROR(stop_for_damage(StrCat("record at offset ", pos, " has sequence number ",
                                                  record.seq, ", expected ", *last_seq + 1)));
        break;
      }
      out.records.push_back(LogRecord{record.seq, std::string(record.payload)});
      last_seq = record.seq;
      pos += record.size;
      continue;
    }
    const char* what = result == ParseResult::kIncomplete ? "incomplete" : "damaged";
    if (std::optional<size_t> later = FindLaterBatch(bytes, pos + 1, last_seq)) {
      QA_RETURN_IF_ERROR(stop_for_damage(StrCat(what, " record at offset ", pos,
                                                " followed by intact records from offset ", *later)));
      break;
    }
    out.truncated_tail = true;
    out.dropped = StrCat("torn tail: ", what, " record at offset ", pos, "; dropped ",
                         bytes.size() - pos, " bytes that were never acknowledged");
    break;
  }
  out.valid_bytes = pos;
  return out;
}

absl::StatusOr<LogContents> ReadLog(const std::string& path, const ReadLogOptions& options) {
  QA_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  absl::StatusOr<LogContents> contents = ReadLogBytes(bytes, options);
  if (!contents.ok()) {
    return absl::Status(contents.status().code(),
                        StrCat("write-ahead log ", path, ": ", contents.status().message()));
  }
  return contents;
}

absl::Status TruncateTo(const std::string& path, uint64_t valid_bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path);
  absl::Status status;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    status = ErrnoError("cannot stat", path);
  } else if (static_cast<uint64_t>(st.st_size) < valid_bytes) {
    status = absl::InvalidArgumentError(StrCat("cannot cut ", path, " to ", valid_bytes,
                                               " bytes: it has only ", st.st_size));
  } else if (::ftruncate(fd, static_cast<off_t>(valid_bytes)) != 0) {
    status = ErrnoError("cannot truncate", path);
  } else if (::fsync(fd) != 0) {
    status = ErrnoError("cannot fsync", path);
  }
  ::close(fd);
  return status;
}

}  // namespace quantatom::wal
