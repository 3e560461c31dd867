// Fidelity of a KV method on any text: how far its next-token distributions drift from the
// uncompressed cache's. The text is tokenized; all but the last `eval_tokens` tokens are
// prefilled as context (where a compression method acts), then the last ones are
// teacher-forced one at a time. At each forced position we compare the method's
// distribution Q with the full cache's P: KL(P || Q) in nats, top-1 agreement
// (argmax P == argmax Q), and the perplexity of the true next tokens under each.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "eval/model_runner.h"

namespace lk::eval {

struct FidelityRow {
  std::string method;
  std::string file;
  int64_t context_tokens = 0;  // prefilled before the forced positions
  int64_t n_tokens = 0;        // forced positions compared
  double kl_mean = 0.0;        // mean KL(P_full || Q_method), nats
  double kl_max = 0.0;
  double top1_agreement = 0.0;  // fraction of positions with the same argmax
  double ppl = 0.0;             // perplexity of the true tokens under the method
  double ppl_full = 0.0;        // ... under the full cache
  std::string error;
};

// Accumulates the metrics position by position from raw logits.
class FidelityAccumulator {
 public:
  // ref, got: logits [vocab]; target: the true next token.
  void add(std::span<const float> ref, std::span<const float> got, int32_t target);
  void fill(FidelityRow* row) const;

 private:
  int64_t n_ = 0, agree_ = 0;
  double kl_sum_ = 0, kl_max_ = 0, nll_ = 0, nll_ref_ = 0;
};

// Runs every method on `text` (file names the row). Errors of one method land in its row.
Result<std::vector<FidelityRow>> run_fidelity(ModelRunner& runner, const std::string& text,
                                              const std::string& file,
                                              const std::vector<std::string>& methods,
                                              int64_t eval_tokens);

}  // namespace lk::eval
