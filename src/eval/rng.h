// Deterministic, portable randomness for task generation. std::uniform_int_distribution and
// friends differ between standard libraries, so generators use this SplitMix64 stream and
// its own integer/real mappings: the same seed gives the same tasks byte for byte on every
// platform and compiler.
#pragma once

#include <cstdint>
#include <string_view>

namespace lk::eval {

// FNV-1a 64-bit hash of a string (stable across platforms; used to derive sub-seeds).
inline uint64_t hash_string(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// SplitMix64 finaliser: a bijective mix of a 64-bit value.
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Combines a running seed with one more value (order matters).
inline uint64_t seed_combine(uint64_t seed, uint64_t v) {
  return mix64(seed ^ mix64(v));
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform integer in [0, n); n > 0. Multiply-high mapping (bias < n / 2^64, negligible).
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }
  // Uniform integer in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }
  // Uniform real in [0, 1).
  double real() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

}  // namespace lk::eval
