// CRC-32C (Castagnoli), the checksum of every KV block that leaves the device pool (tiers,
// snapshots). Uses the SSE4.2 crc32 instruction when the build targets it (three independent
// lanes to hide its latency), a slicing-by-8 table otherwise; both give the standard CRC-32C
// (check value of "123456789" is 0xE3069283).
#pragma once

#include <cstddef>
#include <cstdint>

namespace lk {

// Continues a CRC-32C over data (start with crc = 0).
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n);
inline uint32_t crc32c(const void* data, size_t n) {
  return crc32c_extend(0, data, n);
}

// Copies n bytes from src to dst and continues crc over them (one pass over the data, so a
// swap streams each block once).
uint32_t crc32c_copy(uint32_t crc, void* dst, const void* src, size_t n);

}  // namespace lk
