#include "kv/crc32c.h"

#include <array>
#include <cstring>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#include <xmmintrin.h>
#endif
#if defined(__AVX512F__) || defined(__VPCLMULQDQ__)
#include <immintrin.h>
#endif
#if defined(__PCLMUL__)
#include <smmintrin.h>
#include <wmmintrin.h>
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
      for (int s = 1; s < 8; ++s)
        x.byte[s][i] = (x.byte[s - 1][i] >> 8) ^ x.byte[0][x.byte[s - 1][i] & 0xFF];
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
  __m128i k2048;       // the same for d = 2048 (the 512-bit lanes' stride)
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
    f.k2048 = k(2048);
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

#if defined(__AVX512F__) && defined(__VPCLMULQDQ__) && defined(__SSE4_2__)
#define LK_CRC_FUSED 1
inline __m512i fold512(__m512i a, __m512i k, __m512i next) {
  // a*k (both 64-bit halves of every 128-bit lane) xor next, in one ternary-logic op.
  return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(a, k, 0x00),
                                   _mm512_clmulepi64_epi128(a, k, 0x11), next, 0x96);
}

inline void stream256(uint8_t* d, __m512i a, __m512i b, __m512i c, __m512i e) {
  _mm512_stream_si512(reinterpret_cast<__m512i*>(d), a);
  _mm512_stream_si512(reinterpret_cast<__m512i*>(d + 64), b);
  _mm512_stream_si512(reinterpret_cast<__m512i*>(d + 128), c);
  _mm512_stream_si512(reinterpret_cast<__m512i*>(d + 192), e);
}

// The register crc over n bytes (a multiple of 256, at least 256) by VPCLMULQDQ folding: four
// 512-bit accumulators (16 lanes of 128 bits) 2048 bits apart. With kCopy every 64 bytes
// loaded for the checksum are also streamed to dst (64-byte aligned) from the same register,
// so a checksummed copy reads the source once and writes the destination once, like memcpy.
template <bool kCopy>
uint32_t fold512_update(uint32_t crc, const uint8_t* p, uint8_t* dst, size_t n) {
  const FoldConstants& c = fold_constants();
  // The 128-bit constants in every lane (set4, not broadcast: GCC 12 warns on the latter).
  auto lanes = [](__m128i k) {
    const long long lo = _mm_cvtsi128_si64(k), hi = _mm_extract_epi64(k, 1);
    return _mm512_set4_epi64(hi, lo, hi, lo);
  };
  const __m512i k2048 = lanes(c.k2048), k512 = lanes(c.k512);
  __m512i x0 = _mm512_loadu_si512(p), x1 = _mm512_loadu_si512(p + 64);
  __m512i x2 = _mm512_loadu_si512(p + 128), x3 = _mm512_loadu_si512(p + 192);
  if constexpr (kCopy) stream256(dst, x0, x1, x2, x3);
  x0 = _mm512_xor_si512(x0, _mm512_zextsi128_si512(_mm_cvtsi32_si128(static_cast<int>(crc))));
  for (size_t off = 256; off < n; off += 256) {
    const uint8_t* q = p + off;
    // Two iterations ahead: a swap reads thousands of separate 8-16 KiB blocks, and the
    // hardware prefetcher restarts at every 4 KiB page (measured +10% on scattered sources).
    for (int i = 0; i < 256; i += 64)
      _mm_prefetch(reinterpret_cast<const char*>(q + 512 + i), _MM_HINT_T0);
    const __m512i a = _mm512_loadu_si512(q), b = _mm512_loadu_si512(q + 64);
    const __m512i d = _mm512_loadu_si512(q + 128), e = _mm512_loadu_si512(q + 192);
    if constexpr (kCopy) stream256(dst + off, a, b, d, e);
    x0 = fold512(x0, k2048, a);
    x1 = fold512(x1, k2048, b);
    x2 = fold512(x2, k2048, d);
    x3 = fold512(x3, k2048, e);
  }
  // Four accumulators 512 bits apart -> one; then its four 128-bit lanes -> one.
  __m512i x = fold512(x0, k512, x1);
  x = fold512(x, k512, x2);
  x = fold512(x, k512, x3);
  __m128i y = _mm512_maskz_extracti32x4_epi32(0xF, x, 0);
  y = _mm_xor_si128(fold(y, c.k128), _mm512_maskz_extracti32x4_epi32(0xF, x, 1));
  y = _mm_xor_si128(fold(y, c.k128), _mm512_maskz_extracti32x4_epi32(0xF, x, 2));
  y = _mm_xor_si128(fold(y, c.k128), _mm512_maskz_extracti32x4_epi32(0xF, x, 3));
  uint64_t r = _mm_crc32_u64(0, static_cast<uint64_t>(_mm_cvtsi128_si64(y)));
  r = _mm_crc32_u64(r, static_cast<uint64_t>(_mm_extract_epi64(y, 1)));
  return static_cast<uint32_t>(r);
}
#endif

// Raw (no pre/post inversion) CRC register update, optionally copying the bytes to dst.
template <bool kCopy>
uint32_t raw_update(uint32_t crc, const uint8_t* p, uint8_t* dst, size_t n) {
  const Tables& t = tables();
#if defined(LK_CRC_FUSED)
  if (!kCopy && n >= 1024) {
    const size_t m = n & ~size_t{255};
    crc = fold512_update<false>(crc, p, nullptr, m);
    p += m;
    n -= m;
  }
#endif
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

// Both copy paths use non-temporal stores where the CPU has them: the destination (a tier
// buffer, or blocks attention reads much later) is not re-read soon, and streaming stores
// skip the read-for-ownership that would otherwise add a third DRAM stream to the copy
// (glibc's memcpy does the same for large sizes, which is what raw bandwidth measures).
#if !defined(LK_CRC_FUSED)
namespace {

void stream_copy(uint8_t* d, const uint8_t* s, size_t n) {
#if defined(__AVX512F__)
  const size_t head = (64 - (reinterpret_cast<uintptr_t>(d) & 63)) & 63;
  if (n < head + 256) {
    std::memcpy(d, s, n);
    return;
  }
  std::memcpy(d, s, head);
  d += head;
  s += head;
  n -= head;
  size_t i = 0;
  for (; i + 256 <= n; i += 256) {
    const __m512i a = _mm512_loadu_si512(s + i), b = _mm512_loadu_si512(s + i + 64);
    const __m512i c = _mm512_loadu_si512(s + i + 128), e = _mm512_loadu_si512(s + i + 192);
    _mm512_stream_si512(reinterpret_cast<__m512i*>(d + i), a);
    _mm512_stream_si512(reinterpret_cast<__m512i*>(d + i + 64), b);
    _mm512_stream_si512(reinterpret_cast<__m512i*>(d + i + 128), c);
    _mm512_stream_si512(reinterpret_cast<__m512i*>(d + i + 192), e);
  }
  std::memcpy(d + i, s + i, n - i);
#else
  std::memcpy(d, s, n);
#endif
}

}  // namespace
#endif

uint32_t crc32c_copy(uint32_t crc, void* dst, const void* src, size_t n) {
  auto* s = static_cast<const uint8_t*>(src);
  auto* d = static_cast<uint8_t*>(dst);
  uint32_t raw = ~crc;
#if defined(LK_CRC_FUSED)
  // One pass: each 64 bytes are loaded once, folded into the checksum and streamed to the
  // destination. Bytes up to the destination's next 64-byte boundary and the tail under 256
  // bytes go through the scalar path.
  const size_t head = (64 - (reinterpret_cast<uintptr_t>(d) & 63)) & 63;
  if (n >= head + 512) {
    raw = raw_update<true>(raw, s, d, head);
    s += head;
    d += head;
    n -= head;
    const size_t m = n & ~size_t{255};
    raw = fold512_update<true>(raw, s, d, m);
    _mm_sfence();  // streaming stores are visible before the caller publishes the data
    s += m;
    d += m;
    n -= m;
  }
  return ~raw_update<true>(raw, s, d, n);
#else
  // Checksum a cache-sized chunk of the source (PCLMUL folding streams it from DRAM), then
  // stream it from cache to the destination.
  constexpr size_t kChunk = 16384;
  while (n > 0) {
    const size_t len = n < kChunk ? n : kChunk;
    raw = raw_update<false>(raw, s, nullptr, len);
    stream_copy(d, s, len);
    s += len;
    d += len;
    n -= len;
  }
#if defined(__AVX512F__)
  _mm_sfence();  // streaming stores are visible before the caller publishes the data
#endif
  return ~raw;
#endif
}

}  // namespace lk
