#include "kv/crc32c.h"

#include <array>
#include <cstring>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

namespace lk {

namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

struct Tables {
  uint32_t byte[8][256];  // slicing-by-8
  // shift[k][b]: the raw CRC register value b << 8k advanced over kLane zero bytes.
  uint32_t shift[4][256];
};

constexpr size_t kLane = 4096;  // bytes per lane in the 3-lane hardware loop

uint32_t sw_update(const Tables& t, uint32_t crc, const uint8_t* p, size_t n) {
  while (n >= 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= crc;
    crc = t.byte[7][lo & 0xFF] ^ t.byte[6][(lo >> 8) & 0xFF] ^ t.byte[5][(lo >> 16) & 0xFF] ^
          t.byte[4][lo >> 24] ^ t.byte[3][hi & 0xFF] ^ t.byte[2][(hi >> 8) & 0xFF] ^
          t.byte[1][(hi >> 16) & 0xFF] ^ t.byte[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) crc = (crc >> 8) ^ t.byte[0][(crc ^ *p++) & 0xFF];
  return crc;
}

const Tables& tables() {
  static const Tables t = [] {
    Tables x{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (kPoly & (0u - (c & 1u)));
      x.byte[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int s = 1; s < 8; ++s) x.byte[s][i] = (x.byte[s - 1][i] >> 8) ^ x.byte[0][x.byte[s - 1][i] & 0xFF];
    // Advancing a register over zero bytes is linear: precompute it per bit, then per byte.
    static uint8_t zeros[kLane] = {};
    uint32_t basis[32];
    for (int b = 0; b < 32; ++b) basis[b] = sw_update(x, 1u << b, zeros, kLane);
    for (int k = 0; k < 4; ++k)
      for (uint32_t v = 0; v < 256; ++v) {
        uint32_t r = 0;
        for (int b = 0; b < 8; ++b)
          if (v & (1u << b)) r ^= basis[8 * k + b];
        x.shift[k][v] = r;
      }
    return x;
  }();
  return t;
}

inline uint32_t shift_lane(const Tables& t, uint32_t s) {
  return t.shift[0][s & 0xFF] ^ t.shift[1][(s >> 8) & 0xFF] ^ t.shift[2][(s >> 16) & 0xFF] ^
         t.shift[3][s >> 24];
}

// Raw (no pre/post inversion) CRC register update, optionally copying the bytes to dst.
template <bool kCopy>
uint32_t raw_update(uint32_t crc, const uint8_t* p, uint8_t* dst, size_t n) {
  const Tables& t = tables();
#if defined(__SSE4_2__)
  // Three independent lanes of kLane bytes hide the instruction's 3-cycle latency; the lane
  // registers are then joined by advancing them over kLane zero bytes (shift tables).
  while (n >= 3 * kLane) {
    uint64_t a = crc, b = 0, c = 0;
    const uint8_t* p1 = p + kLane;
    const uint8_t* p2 = p + 2 * kLane;
    for (size_t i = 0; i < kLane; i += 8) {
      uint64_t w0, w1, w2;
      std::memcpy(&w0, p + i, 8);
      std::memcpy(&w1, p1 + i, 8);
      std::memcpy(&w2, p2 + i, 8);
      if constexpr (kCopy) {
        std::memcpy(dst + i, &w0, 8);
        std::memcpy(dst + kLane + i, &w1, 8);
        std::memcpy(dst + 2 * kLane + i, &w2, 8);
      }
      a = _mm_crc32_u64(a, w0);
      b = _mm_crc32_u64(b, w1);
      c = _mm_crc32_u64(c, w2);
    }
    crc = shift_lane(t, shift_lane(t, static_cast<uint32_t>(a)) ^ static_cast<uint32_t>(b)) ^
          static_cast<uint32_t>(c);
    p += 3 * kLane;
    if constexpr (kCopy) dst += 3 * kLane;
    n -= 3 * kLane;
  }
  uint64_t c64 = crc;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    if constexpr (kCopy) {
      std::memcpy(dst, &w, 8);
      dst += 8;
    }
    c64 = _mm_crc32_u64(c64, w);
    p += 8;
    n -= 8;
  }
  crc = static_cast<uint32_t>(c64);
  while (n--) {
    if constexpr (kCopy) *dst++ = *p;
    crc = _mm_crc32_u8(crc, *p++);
  }
  return crc;
#else
  if constexpr (kCopy) std::memcpy(dst, p, n);
  return sw_update(t, crc, p, n);
#endif
}

}  // namespace

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n) {
  return ~raw_update<false>(~crc, static_cast<const uint8_t*>(data), nullptr, n);
}

uint32_t crc32c_copy(uint32_t crc, void* dst, const void* src, size_t n) {
  return ~raw_update<true>(~crc, static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst), n);
}

}  // namespace lk
