// The contract between the engine's attention and the KV cache (DESIGN.md, data path):
// the engine appends post-RoPE K/V per layer and reads them back only through views.
// A view lists the runs of cached tokens of one (sequence, layer, kv-head) exactly as they
// are stored — possibly non-contiguous blocks, possibly quantized — and the attention
// kernels (kernels/attention.h) decode each run in place: no dequantized copy is made.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace lk {

using SeqId = int64_t;

// Storage format of cached K/V elements (the hidden dimension of compression).
enum class KvFormat : int32_t {
  kF32 = 0,
  kF16 = 1,
  kBF16 = 2,
  kInt8 = 3,  // per-token symmetric int8: one f32 scale per token for K and for V
  kInt4 = 4,  // KIVI: K per channel over a token group, V per token; scale + zero (f32)
  kInt2 = 5,  // KIVI, 2-bit
};

const char* kv_format_name(KvFormat f);
// Accepts the names above (case-insensitive) and the aliases kivi4 / kivi2 for int4 / int2.
bool kv_format_from_name(const std::string& s, KvFormat* out);
// "f32, f16, bf16, int8, int4 (kivi4), int2 (kivi2)": for error messages.
const char* kv_format_choices();
// Bits per cached element, not counting scales (32, 16, 16, 8, 4, 2).
int kv_format_bits(KvFormat f);

// A run of n_tokens consecutive cached tokens of one (seq, layer, kv-head).
// Layouts (head_dim = D):
//  float formats: k, v are [n_tokens][D] in the format's element type.
//  kInt8: k, v are int8 [n_tokens][D]; k_scale, v_scale are f32 [n_tokens] (x = q * scale).
//  kInt4 / kInt2: see kv/README.md (KIVI layout). k, v are packed codes [n_tokens][D*bits/8]
//    (token-major, channel 0 in the lowest bits). K is quantized per channel over the run's
//    token group: k_qparams f16 [D][2] = (scale, zero); V per token: v_qparams f16
//    [n_tokens][2]. x = code * scale + zero. k_scale/k_zero/v_scale/v_zero are unused (null).
//    (Decode with kernels/attention_quant.h; f16 parameters keep int4 under 27% of f16 bytes.)
struct KvRun {
  KvFormat format = KvFormat::kF32;
  int32_t n_tokens = 0;
  const void* k = nullptr;
  const void* v = nullptr;
  const float* k_scale = nullptr;
  const float* k_zero = nullptr;
  const float* v_scale = nullptr;
  const float* v_zero = nullptr;
  const int32_t* positions = nullptr;  // [n_tokens] original positions (RoPE already applied)
  const uint16_t* k_qparams = nullptr;  // kInt4/kInt2 only: f16 [D][2] (scale, zero) per channel
  const uint16_t* v_qparams = nullptr;  // kInt4/kInt2 only: f16 [n_tokens][2] per token
};

// Everything one kv-head of one layer holds for one sequence, in position order of runs.
struct KvHeadView {
  std::vector<KvRun> runs;
  int64_t n_tokens() const {
    int64_t n = 0;
    for (const auto& r : runs) n += r.n_tokens;
    return n;
  }
};

// One sequence's new tokens in a forward call (KvCache::prepare).
struct SeqTokens {
  SeqId seq = 0;
  std::span<const int32_t> tokens;
};

// The cache seen by the engine. Implementations: kv/contiguous_cache (simple, f32/f16)
// and the paged, budgeted, tiered manager (kv/kv_manager).
class KvCache {
 public:
  virtual ~KvCache() = default;

  // Called by the engine once per forward call, before any append: makes room for every
  // entry's new tokens in all layers — all or nothing: kOutOfMemory naming the budget, and
  // nothing changed, when they do not fit — and records their token ids (prefix reuse,
  // recompute after a lost swap). A cache without a budget has nothing to do.
  virtual Status prepare(std::span<const SeqTokens> batch) {
    (void)batch;
    return Status::ok();
  }

  // Stores K and V of n tokens of `seq` for `layer`, after RoPE.
  //   k, v: [n][n_kv_heads][head_dim] f32;  positions: [n]
  // Fails with kOutOfMemory when the budget cannot hold them (nothing is stored then).
  virtual Status append(SeqId seq, int layer, std::span<const int32_t> positions, const float* k,
                        const float* v) = 0;

  // The runs of (seq, layer, kv_head). Valid until the next mutation of that sequence.
  virtual KvHeadView view(SeqId seq, int layer, int kv_head) const = 0;

  // Number of token positions appended to seq so far (evicted tokens included).
  virtual int64_t seq_length(SeqId seq) const = 0;

  // Drops a sequence and frees its storage.
  virtual void release(SeqId seq) = 0;
};

}  // namespace lk
