// `longkv profile-heads`: which kv heads need distant context (DuoAttention's retrieval heads)
// and which do fine with attention sinks + a recent window (streaming heads).
//
// DuoAttention (arXiv 2410.10819) learns a gate per head by distillation on synthetic passkey
// data. This is a training-free approximation of the same criterion, measured directly: on
// seeded synthetic retrieval prompts (eval generators, default passkey) with the answer
// appended, at every query position that predicts an answer token, each (layer, kv-head)'s
// attention output is computed twice from the cache — over every visible key, and over only
// the first `sinks` positions plus the last `window` — and the head's score is the mean
// relative squared deviation ||o_full - o_stream||^2 / ||o_full||^2 (mean over its query
// heads, queries and samples). Each head is measured with every other head at full
// attention. High score = the head reads far context = retrieval head.
#pragma once

#include <cstdint>
#include <string>

#include "compress/duo.h"
#include "core/status.h"
#include "engine/model_weights.h"
#include "model/tokenizer/tokenizer.h"

namespace lk::eval {

struct HeadProfileOptions {
  std::string task = "passkey";  // generator spec (docs/eval.md)
  int64_t length = 512;          // prompt tokens
  int samples = 4;
  uint64_t seed = 0;
  int sinks = 4;
  int window = 64;
};

Result<compress::HeadMap> profile_heads(const Model& model, const Tokenizer& tok,
                                        const HeadProfileOptions& options);

}  // namespace lk::eval
