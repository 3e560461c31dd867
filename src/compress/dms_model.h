// DMS decisions from the model itself (compress/dms.h has the config keys and the decision
// functions): what a checkpoint whose config.json carries dms_* keys brings to the engine.
//   - the repurposed-neuron form (dms_separate_alpha = false) needs nothing beyond q: the
//     decision channel is read before RoPE and zeroed before and after it;
//   - the separate-projection form (dms_separate_alpha = true) reads, per layer,
//     model.layers.N.self_attn.dms_proj_alpha_norm.weight [d_model] and
//     model.layers.N.self_attn.dms_proj_alpha.weight [n_kv_heads][d_model] (+ .bias when the
//     model has attention biases), as the official implementation names them.
// Decisions are shifted as in the official implementation: the decision computed at token t
// (position p) is the one for the key at position p - 1.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "compress/dms.h"
#include "compress/observer.h"
#include "core/status.h"
#include "model/model_spec.h"

namespace lk::compress {

struct DmsLayerProjection {
  std::vector<float> norm;  // [d_model]
  std::vector<float> proj;  // [n_kv_heads][d_model]
  std::vector<float> bias;  // [n_kv_heads] or empty
};

// What the engine needs to take DMS decisions from a model. cfg.present = false: the model
// carries none (GGUF and llama2.c files never do).
struct DmsModel {
  DmsModelConfig cfg;
  std::vector<DmsLayerProjection> layers;  // [n_layers], separate-projection form only
  int n_heads = 0, n_kv_heads = 0, head_dim = 0, d_model = 0;
  float rms_eps = 1e-5f;

  bool present() const { return cfg.present; }
  bool neuron() const { return cfg.present && !cfg.separate_alpha; }
  // Decision logits of n tokens of `layer`: logits [n][n_kv_heads]. x: [n][d_model] the
  // layer input; q: [n][q_stride] pre-RoPE queries (neuron form: its channel is zeroed).
  void logits(int layer, const float* x, float* q, int64_t q_stride, int64_t n,
              float* logits) const;
  // Zeroes the neuron form's decision channel of n queries (after RoPE); no-op otherwise.
  void zero_channel(float* q, int64_t q_stride, int64_t n) const;
};

// Reads the DMS part of a model: the config.json of a Hugging Face folder (`source` is the
// folder or a file in it; GGUF and llama2.c files carry no DMS) and, for the
// separate-projection form, the projection tensors. Errors name the key or tensor.
Result<DmsModel> dms_model_load(const ModelSpec& spec, const std::string& source);

// The forward observer of an uncompressed run of a neuron-form DMS model: the model was
// trained with its decision channel out of attention, so the channel is zeroed even when
// nothing is evicted (dms_disable_eviction, or `--kv full`).
class DmsChannelMask final : public ForwardObserver {
 public:
  explicit DmsChannelMask(const DmsModel* dms) : dms_(dms) {}
  Status before_rope(SeqId, int, const float*, float* q, int64_t q_stride,
                     std::span<const int32_t> positions) override {
    dms_->zero_channel(q, q_stride, static_cast<int64_t>(positions.size()));
    return Status::ok();
  }
  void after_rope(SeqId, int, float* q, int64_t q_stride, int64_t n) override {
    dms_->zero_channel(q, q_stride, n);
  }
  Status after_attention(SeqId, int, const float*, int64_t, std::span<const int32_t>) override {
    return Status::ok();
  }

 private:
  const DmsModel* dms_;
};

// A synthetic DMS checkpoint with decisions known in advance, for tests: from a Hugging Face
// folder (e.g. `longkv synth` output) it writes one whose residual dimension 0 carries
// +scale for tokens of even id and -scale for odd ones through every layer (embedding column
// 0 set, row 0 of o_proj and down_proj zeroed), and whose decision reads that dimension with
// sign +1 for even kv heads and -1 for odd ones. So kv head h evicts the key before a token t
// exactly when (t is even) == (h is even). Weights are written as f32.
struct DmsSynthOptions {
  bool separate_alpha = false;  // projection form (else the repurposed neuron)
  int window = 16;              // dms_window_size
  float scale = 8.0f;           // |residual dimension 0|
};
Status dms_synth_checkpoint(const std::string& src, const std::string& out_dir,
                            const DmsSynthOptions& options);

}  // namespace lk::compress
