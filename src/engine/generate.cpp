#include "engine/generate.h"

#include <algorithm>

#include "core/timer.h"

namespace lk {

Result<GenerateResult> generate(Forward& forward, SeqId seq, std::span<const int32_t> prompt,
                                const GenerateOptions& options,
                                const std::function<bool(int32_t)>& on_token) {
  LK_RETURN_IF_ERROR(sampler_config_validate(options.sampler));
  if (prompt.empty()) return invalid_argument("the prompt has no tokens (nothing to condition on)");
  if (options.max_new_tokens < 0) {
    return invalid_argument("-n must be >= 0 (got {})", options.max_new_tokens);
  }
  if (options.max_context > 0 && static_cast<int64_t>(prompt.size()) > options.max_context) {
    return invalid_argument("the prompt has {} tokens, more than the context limit {}",
                            prompt.size(), options.max_context);
  }
  const int vocab = forward.model().spec.vocab_size;
  GenerateResult res;
  res.prompt_tokens = static_cast<int64_t>(prompt.size());
  Sampler sampler(options.sampler);
  std::vector<float> logits;

  Timer t;
  const bool all = options.prompt_logits != nullptr;
  SeqBatch b{seq, prompt, all};
  LK_RETURN_IF_ERROR(forward.forward(std::span<const SeqBatch>(&b, 1), &logits));
  if (options.after_prefill) LK_RETURN_IF_ERROR(options.after_prefill());
  res.prefill_seconds = t.seconds();
  if (all) {
    *options.prompt_logits = logits;
    logits.erase(logits.begin(), logits.end() - vocab);  // sample from the last position
  }

  int64_t pos = res.prompt_tokens;
  t.reset();
  for (int i = 0; i < options.max_new_tokens; ++i) {
    if (i > 0) {  // feed the previous token
      if (options.max_context > 0 && pos >= options.max_context) {
        res.stopped_by_context = true;
        break;
      }
      const int32_t last = res.tokens.back();
      SeqBatch d{seq, std::span<const int32_t>(&last, 1), false};
      Status st = forward.forward(std::span<const SeqBatch>(&d, 1), &logits);
      if (st.code() == StatusCode::kOutOfMemory) {  // nothing was appended (KvCache::prepare)
        res.stopped_by_kv_budget = true;
        break;
      }
      LK_RETURN_IF_ERROR(st);
      ++res.decode_forwards;
      ++pos;
    }
    const int32_t next = sampler.sample(logits.data(), vocab);
    if (std::find(options.stop_ids.begin(), options.stop_ids.end(), next) !=
        options.stop_ids.end()) {
      res.stopped_by_token = true;
      break;
    }
    res.tokens.push_back(next);
    if (on_token && !on_token(next)) break;
  }
  res.decode_seconds = t.seconds();
  return res;
}

}  // namespace lk
