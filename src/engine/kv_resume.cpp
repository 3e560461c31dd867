#include "engine/kv_resume.h"

#include <vector>

#include "core/timer.h"

namespace lk {

Result<ResumeReport> resume_sequence(Forward& forward, KvManager& kv, SeqId seq) {
  Timer t;
  ResumeReport rep;
  SwapInResult in = kv.swap_in(seq).get();
  if (!in.status.is_ok() && !in.recompute_required) return in.status;
  if (in.recompute_required) {
    rep.recomputed = true;
    rep.reason = in.status.to_string();
    // The manager kept the sequence's token ids; start it again from the prefix index.
    const std::vector<int32_t> toks = kv.tokens(seq);
    kv.release(seq);
    const int64_t n = static_cast<int64_t>(toks.size());
    LK_ASSIGN_OR_RETURN(rep.reused_tokens, kv.adopt_prefix(seq, toks, n));
    rep.recomputed_tokens = n - rep.reused_tokens;
    if (rep.recomputed_tokens > 0) {
      const SeqBatch b{
          seq, std::span<const int32_t>(toks).subspan(static_cast<size_t>(rep.reused_tokens)),
          false};
      std::vector<float> logits;
      LK_RETURN_IF_ERROR(forward.forward(std::span<const SeqBatch>(&b, 1), &logits)
                             .with_context(fmt::format("recompute of seq {}", seq)));
    }
  }
  rep.seconds = t.seconds();
  return rep;
}

}  // namespace lk
