#include "wal/log_format.h"

#include <cstring>

#include "wal/crc32c.h"

namespace quantatom::wal {
namespace {

void PutLittleEndian(char* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
}

uint64_t GetLittleEndian(const char* in, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= uint64_t{static_cast<uint8_t>(in[i])} << (8 * i);
  return value;
}

}  // namespace

void AppendRecord(std::string* out, uint64_t seq, bool batch_start, std::string_view payload,
                  uint32_t payload_crc) {
  char header[kHeaderSize];
  header[4] = kMagic[0];
  header[5] = kMagic[1];
  header[6] = static_cast<char>(kChangeSetRecord);
  header[7] = static_cast<char>(batch_start ? kBatchStartFlag : 0);
  PutLittleEndian(header + 8, payload.size(), 4);
  PutLittleEndian(header + 12, seq, 8);
  // The CRC covers the length and sequence number too: a damaged length must not send the
  // reader to a wrong next record, nor a damaged sequence number pass as a gap.
  uint32_t crc = Crc32cExtend(payload_crc, header + 4, kHeaderSize - 4);
  PutLittleEndian(header, MaskCrc(crc), 4);
  out->append(header, kHeaderSize);
  out->append(payload);
}

ParseResult ParseRecord(std::string_view bytes, ParsedRecord* record) {
  // Check what can be checked with the bytes at hand before calling a short record torn: a
  // header with a wrong magic is damage, not an interrupted write.
  const size_t have = bytes.size();
  if (have > 4 && bytes[4] != kMagic[0]) return ParseResult::kCorrupt;
  if (have > 5 && bytes[5] != kMagic[1]) return ParseResult::kCorrupt;
  if (have > 6 && static_cast<uint8_t>(bytes[6]) != kChangeSetRecord) return ParseResult::kCorrupt;
  if (have > 7 && (static_cast<uint8_t>(bytes[7]) & ~kBatchStartFlag) != 0) return ParseResult::kCorrupt;
  if (have < kHeaderSize) return ParseResult::kIncomplete;
  const uint64_t length = GetLittleEndian(bytes.data() + 8, 4);
  if (length > kMaxPayloadSize) return ParseResult::kCorrupt;
  if (have - kHeaderSize < length) return ParseResult::kIncomplete;
  std::string_view payload = bytes.substr(kHeaderSize, length);
  uint32_t crc = Crc32cExtend(Crc32c(payload), bytes.data() + 4, kHeaderSize - 4);
  if (MaskCrc(crc) != GetLittleEndian(bytes.data(), 4)) return ParseResult::kCorrupt;
  record->seq = GetLittleEndian(bytes.data() + 12, 8);
  record->batch_start = (static_cast<uint8_t>(bytes[7]) & kBatchStartFlag) != 0;
  record->payload = payload;
  record->size = kHeaderSize + length;
  return ParseResult::kOk;
}

}  // namespace quantatom::wal
