#include "eval/kv_trace.h"

#include <algorithm>
#include <memory>

#include "compress/dms_model.h"
#include "compress/driver.h"
#include "compress/kv_for_spec.h"
#include "compress/spec.h"
#include "engine/forward.h"
#include "engine/sampler.h"
#include "kv/kv_manager.h"

namespace lk::eval {

namespace {

Status check_ids(std::span<const int32_t> ids, int vocab, const char* what) {
  for (int32_t id : ids)
    if (id < 0 || id >= vocab)
      return invalid_argument("{}: token id {} is outside the vocabulary [0, {})", what, id, vocab);
  return Status::ok();
}

}  // namespace

Result<KvTrace> run_kv_trace(const Model& model, const KvTraceOptions& opt) {
  const ModelSpec& s = model.spec;
  if (opt.prompt.empty()) return invalid_argument("kv-trace: the prompt is empty");
  LK_RETURN_IF_ERROR(check_ids(opt.prompt, s.vocab_size, "prompt"));
  LK_RETURN_IF_ERROR(check_ids(opt.forced, s.vocab_size, "forced"));
  if (opt.greedy < 0) return invalid_argument("kv-trace: greedy tokens must be >= 0");
  if (opt.chunk < 1) return invalid_argument("kv-trace: chunk must be >= 1 (got {})", opt.chunk);
  const int64_t total = static_cast<int64_t>(opt.prompt.size() + opt.forced.size()) + opt.greedy;
  if (s.max_context > 0 && total > s.max_context)
    return invalid_argument("kv-trace: {} tokens exceed the model's context of {}", total,
                            s.max_context);

  const bool full = opt.method == "full";
  compress::CompressionSpec spec;  // default: no compression
  if (!full) {
    LK_ASSIGN_OR_RETURN(spec, compress::parse_compression_spec(opt.method));
  }
  // The uncompressed format is the one `longkv run` uses: f32 K/V for f32 models, else f16.
  const KvFormat base = model.main_dtype() == DType::kF32 ? KvFormat::kF32 : KvFormat::kF16;
  LK_ASSIGN_OR_RETURN(
      std::unique_ptr<KvManager> kv,
      compress::kv_manager_for_spec(
          spec,
          {s.n_layers, s.n_kv_heads, s.head_dim, std::max<int64_t>(s.max_context, total), s.name},
          base));
  // The model's own DMS decisions (dms_* config keys), as longkv eval uses them.
  LK_ASSIGN_OR_RETURN(compress::DmsModel dms, compress::dms_model_load(s, model.source));
  compress::ModelContext ctx{model.source, &dms};
  std::unique_ptr<compress::CompressionDriver> driver;
  if (!full) {
    LK_ASSIGN_OR_RETURN(driver,
                        compress::CompressionDriver::create(spec, kv.get(), s.n_heads, &ctx));
  }
  // A neuron-form DMS model keeps its decision channel out of attention even uncompressed.
  compress::DmsChannelMask mask(&dms);
  ForwardObserver* uncompressed = dms.neuron() ? &mask : nullptr;
  Forward fwd(model, kv.get(), ForwardOptions{opt.chunk});
  const SeqId seq = 0;
  fwd.set_observer(uncompressed);
  if (driver) {
    fwd.set_observer(driver.get());
    driver->begin(seq);
    driver->set_phase(compress::Phase::kPrefill);
  }

  KvTrace t;
  t.n_layers = s.n_layers;
  t.n_kv_heads = s.n_kv_heads;
  std::vector<float> logits;  // [vocab] predicting the next token
  auto step = [&](std::span<const int32_t> ids) -> Status {
    SeqBatch b{seq, ids, false};
    return fwd.forward({&b, 1}, &logits);
  };
  auto record = [&]() {
    t.argmax.push_back(argmax(logits.data(), static_cast<int>(logits.size())));
    if (opt.keep_logits) t.logits.push_back(logits);
  };
  auto held = [&](int l, int h) {
    std::vector<int32_t> pos;
    for (const KvRun& r : kv->view(seq, l, h).runs)
      pos.insert(pos.end(), r.positions, r.positions + r.n_tokens);
    return pos;
  };

  LK_RETURN_IF_ERROR(step(opt.prompt));
  if (driver) {
    LK_RETURN_IF_ERROR(driver->end_prefill(seq));
    t.keep_per_head = driver->keep_per_head();
    // kvpress's convention: the press acts on the prompt only, later tokens are all kept.
    if (!opt.decode_eviction) fwd.set_observer(uncompressed);
  }
  t.kept.assign(s.n_layers, {});
  for (int l = 0; l < s.n_layers; ++l)
    for (int h = 0; h < s.n_kv_heads; ++h) t.kept[l].push_back(held(l, h));
  record();
  for (int32_t id : opt.forced) {
    LK_RETURN_IF_ERROR(step({&id, 1}));
    record();
  }
  for (int i = 0; i < opt.greedy; ++i) {
    const int32_t id = argmax(logits.data(), static_cast<int>(logits.size()));
    t.greedy.push_back(id);
    if (i + 1 < opt.greedy) LK_RETURN_IF_ERROR(step({&id, 1}));
  }
  t.held_end.assign(s.n_layers, std::vector<int64_t>(s.n_kv_heads, 0));
  for (int l = 0; l < s.n_layers; ++l)
    for (int h = 0; h < s.n_kv_heads; ++h) t.held_end[l][h] = kv->head_tokens(seq, l, h);
  return t;
}

}  // namespace lk::eval
