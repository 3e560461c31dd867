// The haystack: essay-like filler text generated from a small seeded grammar (RULER's
// "noise" haystack idea; the grammar and word lists are longkv's own). Filler never
// contains digits, hyphens or the needle phrases, so a needle cannot be confused with it.
// Also a pronounceable pseudo-word generator for keys, variable names and word lists.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/rng.h"

namespace lk::eval {

// Sentence i of the stream depends only on (seed, i): streams can be extended lazily and
// every prefix is the same for a given seed.
class FillerStream {
 public:
  explicit FillerStream(uint64_t seed) : rng_(seed) {}
  // Sentence i (generates 0..i on first use). Each ends with ". " or ".\n\n" (paragraphs).
  const std::string& sentence(size_t i);

 private:
  std::string make_sentence();
  Rng rng_;
  std::vector<std::string> sentences_;
  int in_paragraph_ = 0;
};

// A lowercase pseudo-word of `syllables` consonant-vowel syllables plus a final consonant
// ("tavolen"): hundreds of thousands of distinct words without any word list.
std::string pseudo_word(Rng& rng, int syllables);

// n distinct pseudo-words (2–3 syllables), none repeated.
std::vector<std::string> distinct_pseudo_words(Rng& rng, size_t n);

}  // namespace lk::eval
