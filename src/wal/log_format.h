// The write-ahead log record: the byte format shared by log_writer.h and log_reader.h.
// docs/formats/write-ahead-log.md is the specification; this header is its code.
//
//   offset size field
//   0      4    masked CRC-32C of the payload followed by header bytes 4..19
//   4      2    magic "QW"
//   6      1    record type (1: one committed change set, an opaque payload to this module)
//   7      1    flags (bit 0: the first record of a group-commit batch; other bits zero)
//   8      4    payload length L, little-endian
//   12     8    sequence number, little-endian; consecutive records differ by exactly 1
//   20     L    payload
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace quantatom::wal {

inline constexpr size_t kHeaderSize = 20;
inline constexpr char kMagic[2] = {'Q', 'W'};
inline constexpr uint8_t kChangeSetRecord = 1;
inline constexpr uint8_t kBatchStartFlag = 1;
// A bound well below 4 GiB, so that a record and its header always fit in size_t arithmetic
// and one damaged length cannot ask for a huge buffer.
inline constexpr uint32_t kMaxPayloadSize = 1u << 30;

// Appends one encoded record to `out`. `payload_crc` is Crc32c(payload), taken apart so that a
// writer can checksum the payload before it takes the lock that assigns `seq`.
void AppendRecord(std::string* out, uint64_t seq, bool batch_start, std::string_view payload,
                  uint32_t payload_crc);

// One record found whole and intact at some offset of a log.
struct ParsedRecord {
  uint64_t seq = 0;
  bool batch_start = false;
  std::string_view payload;  // points into the bytes given to ParseRecord
  size_t size = 0;           // header + payload
};

// Why the bytes at an offset are not an intact record. kIncomplete: they end before the
// record does (the usual torn tail); kCorrupt: the magic, type, flags, length or CRC is wrong.
enum class ParseResult { kOk, kIncomplete, kCorrupt };

// Parses the record at the start of `bytes`. Never reads past `bytes`, never allocates.
ParseResult ParseRecord(std::string_view bytes, ParsedRecord* record);

}  // namespace quantatom::wal
