// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of write-ahead log records.
//
// Implemented here because Debian 12 packages no C/C++ CRC-32C library and its Abseil
// (20220623) predates absl/crc. Uses the SSE4.2 crc32 instruction when the CPU has it, else a
// table (slicing by 8); both give the same values (crc32c_test.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace quantatom::wal {

// Extends `crc` (the CRC-32C of some bytes A) to the CRC-32C of A followed by `data`.
// Crc32cExtend(0, x) is the CRC-32C of x. Thread-safe.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size);

inline uint32_t Crc32c(std::string_view bytes) { return Crc32cExtend(0, bytes.data(), bytes.size()); }

// The table version, exposed so that tests can check the hardware path against it.
uint32_t Crc32cExtendPortable(uint32_t crc, const void* data, size_t size);

// A stored CRC is masked: the CRC of a string that contains CRCs (a log copied into a payload,
// say) is otherwise easy to get accidentally right. The same rotation and constant as LevelDB.
inline uint32_t MaskCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t UnmaskCrc(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace quantatom::wal
