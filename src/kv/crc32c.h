// CRC-32C (Castagnoli), the checksum of every KV block that leaves the device pool (tiers,
// snapshots). Long buffers are folded with carry-less multiplies (VPCLMULQDQ over 512-bit
// lanes with AVX-512, else PCLMULQDQ over 128-bit lanes), the rest with the SSE4.2 crc32
// instruction (three independent lanes to hide its latency) or a slicing-by-8 table; all
// give the standard CRC-32C (check value of "123456789" is 0xE3069283).
#pragma once

#include <cstddef>
#include <cstdint>

namespace lk {

// Continues a CRC-32C over data (start with crc = 0).
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n);
inline uint32_t crc32c(const void* data, size_t n) {
  return crc32c_extend(0, data, n);
}

// Copies n bytes from src to dst and continues crc over them. With AVX-512 + VPCLMULQDQ it is
// one fused pass (each 64 bytes loaded once, folded and streamed to dst), so a swap reads
// each block once and writes it once, as memcpy does.
uint32_t crc32c_copy(uint32_t crc, void* dst, const void* src, size_t n);

}  // namespace lk
