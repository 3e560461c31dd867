#include "kv/crc32c.h"

#include <array>
#include <cstring>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#include <xmmintrin.h>
#endif
#if defined(__PCLMUL__)
#include <wmmintrin.h>
#include <smmintrin.h>
#endif

namespace lk {

namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

struct Tables {
  uint32_t byte[8][256];  // slicing-by-8
  // shift[k][b]: the raw CRC register value b << 8k advanced over kLane zero bytes.
  uint32_t shift[4][256];
};

constexpr size_t kLane = 1024;  // bytes per lane in the 3-lane hardware loop

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

#if defined(__PCLMUL__) && defined(__SSE4_2__)
// x^n mod P as a reflected 32-bit value (bit i <-> x^(31-i)).
uint32_t xpow_mod(int n) {
  uint32_t v = 0x80000000u;  // x^0
  for (int i = 0; i < n; ++i) v = (v >> 1) ^ ((v & 1u) ? kPoly : 0u);
  return v;
}

struct FoldConstants {
  __m128i k512, k128;  // [lo: x^(d+64-1) mod P, hi: x^(d-1) mod P] << 32 for d = 512, 128
};

const FoldConstants& fold_constants() {
  // A 128-bit reflected chunk A = lo(x)*x^64 + hi(x) moved d bits later is
  // lo*x^(d+64) + hi*x^d; a carry-less product of reflected operands carries an extra
  // factor x, hence the exponents minus one.
  static const FoldConstants c = [] {
    FoldConstants f;
    auto k = [](int d) {
      return _mm_set_epi64x(static_cast<long long>(uint64_t{xpow_mod(d - 1)} << 32),
                            static_cast<long long>(uint64_t{xpow_mod(d + 64 - 1)} << 32));
    };
    f.k512 = k(512);
    f.k128 = k(128);
    return f;
  }();
  return c;
}

inline __m128i fold(__m128i a, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(a, k, 0x00), _mm_clmulepi64_si128(a, k, 0x11));
}

// Folds n bytes (a multiple of 64, at least 64) into the register crc with PCLMULQDQ: four
// 128-bit accumulators 512 bits apart, reduced to one 128-bit value congruent to the data
// mod P, whose CRC (register 0) is then taken with two crc32 instructions.
uint32_t fold_update(uint32_t crc, const uint8_t* p, size_t n) {
  const FoldConstants& c = fold_constants();
  __m128i x0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
  __m128i x2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 32));
  __m128i x3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 48));
  x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128(static_cast<int>(crc)));  // initial register
  for (size_t off = 64; off < n; off += 64) {
    const uint8_t* q = p + off;
    x0 = _mm_xor_si128(fold(x0, c.k512), _mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
    x1 = _mm_xor_si128(fold(x1, c.k512), _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16)));
    x2 = _mm_xor_si128(fold(x2, c.k512), _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 32)));
    x3 = _mm_xor_si128(fold(x3, c.k512), _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 48)));
  }
  __m128i x = _mm_xor_si128(fold(x0, c.k128), x1);
  x = _mm_xor_si128(fold(x, c.k128), x2);
  x = _mm_xor_si128(fold(x, c.k128), x3);
  uint64_t r = _mm_crc32_u64(0, static_cast<uint64_t>(_mm_cvtsi128_si64(x)));
  r = _mm_crc32_u64(r, static_cast<uint64_t>(_mm_extract_epi64(x, 1)));
  return static_cast<uint32_t>(r);
}
#endif

// Raw (no pre/post inversion) CRC register update, optionally copying the bytes to dst.
template <bool kCopy>
uint32_t raw_update(uint32_t crc, const uint8_t* p, uint8_t* dst, size_t n) {
  const Tables& t = tables();
#if defined(__PCLMUL__) && defined(__SSE4_2__)
  if (n >= 256) {
    const size_t m = n & ~size_t{63};
    crc = fold_update(crc, p, m);
    if constexpr (kCopy) {
      std::memcpy(dst, p, m);
      dst += m;
    }
    p += m;
    n -= m;
  }
#endif
#if defined(__SSE4_2__)
  // Three independent lanes of kLane bytes hide the instruction's 3-cycle latency; the lane
  // registers are then joined by advancing them over kLane zero bytes (shift tables).
  while (n >= 3 * kLane) {
    uint64_t a = crc, b = 0, c = 0;
    const uint8_t* p1 = p + kLane;
    const uint8_t* p2 = p + 2 * kLane;
    for (size_t i = 0; i < kLane; i += 8) {
      if ((i & 63) == 0) {  // three interleaved streams: help the prefetcher
        _mm_prefetch(reinterpret_cast<const char*>(p + i + 384), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(p1 + i + 384), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(p2 + i + 384), _MM_HINT_T0);
      }
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
  // Copy a cache-sized chunk, then checksum the copy while it is still in L1/L2: a fused
  // load/crc/store loop suffers 4K-aliasing stalls between its three lane streams, and the
  // crc loop streams from DRAM worse than memcpy does. (Checksumming the copy, not the
  // source, also catches a bad write.)
  constexpr size_t kChunk = 3 * kLane * 4;
  auto* s = static_cast<const uint8_t*>(src);
  auto* d = static_cast<uint8_t*>(dst);
  uint32_t raw = ~crc;
  while (n > 0) {
    const size_t len = n < kChunk ? n : kChunk;
    std::memcpy(d, s, len);                    // the DRAM stream: memcpy's prefetching path
    raw = raw_update<false>(raw, d, nullptr, len);  // then checksum the copy from cache
    s += len;
    d += len;
    n -= len;
  }
  return ~raw;
}

}  // namespace lk
