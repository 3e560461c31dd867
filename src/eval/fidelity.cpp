#include "eval/fidelity.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "eval/kv_methods.h"

namespace lk::eval {

namespace {
// log-softmax of logits into out (double for stable sums over large vocabularies).
void log_softmax(std::span<const float> x, std::vector<double>* out) {
  out->resize(x.size());
  double mx = -INFINITY;
  for (float v : x) mx = std::max(mx, static_cast<double>(v));
  double sum = 0;
  for (float v : x) sum += std::exp(static_cast<double>(v) - mx);
  const double lse = mx + std::log(sum);
  for (size_t i = 0; i < x.size(); ++i) (*out)[i] = static_cast<double>(x[i]) - lse;
}
size_t argmax(std::span<const float> x) {
  return static_cast<size_t>(std::max_element(x.begin(), x.end()) - x.begin());
}
}  // namespace

void FidelityAccumulator::add(std::span<const float> ref, std::span<const float> got,
                              int32_t target) {
  LK_CHECK(ref.size() == got.size() && !ref.empty());
  LK_CHECK(target >= 0 && static_cast<size_t>(target) < ref.size());
  std::vector<double> lp, lq;
  log_softmax(ref, &lp);
  log_softmax(got, &lq);
  double kl = 0;
  for (size_t i = 0; i < lp.size(); ++i) kl += std::exp(lp[i]) * (lp[i] - lq[i]);
  kl = std::max(0.0, kl);  // rounding can give -1e-17
  kl_sum_ += kl;
  kl_max_ = std::max(kl_max_, kl);
  agree_ += argmax(ref) == argmax(got);
  nll_ -= lq[static_cast<size_t>(target)];
  nll_ref_ -= lp[static_cast<size_t>(target)];
  ++n_;
}

void FidelityAccumulator::fill(FidelityRow* row) const {
  row->n_tokens = n_;
  if (n_ == 0) return;
  const double n = static_cast<double>(n_);
  row->kl_mean = kl_sum_ / n;
  row->kl_max = kl_max_;
  row->top1_agreement = static_cast<double>(agree_) / n;
  row->ppl = std::exp(nll_ / n);
  row->ppl_full = std::exp(nll_ref_ / n);
}

Result<std::vector<FidelityRow>> run_fidelity(ModelRunner& runner, const std::string& text,
                                              const std::string& file,
                                              const std::vector<std::string>& methods,
                                              int64_t eval_tokens) {
  if (eval_tokens < 1)
    return invalid_argument("--fidelity-tokens must be at least 1 (got {})", eval_tokens);
  LK_ASSIGN_OR_RETURN(std::vector<int32_t> tokens, runner.tokenize(text));
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n < 2) return invalid_argument("fidelity file '{}' is too short ({} tokens)", file, n);
  if (n > runner.max_context())
    return invalid_argument(
        "fidelity file '{}' is {} tokens, longer than the model's limit of {}; "
        "trim it",
        file, n, runner.max_context());
  const int64_t n_prefix = std::max<int64_t>(1, n - eval_tokens);
  // The full cache's logits, kept for the forced positions: [n - n_prefix][vocab].
  std::vector<std::vector<float>> ref(static_cast<size_t>(n - n_prefix));
  LK_RETURN_IF_ERROR(runner.forced_logits(
      kFullMethod, tokens, n_prefix, [&](int64_t i, std::span<const float> logits) {
        ref[static_cast<size_t>(i - n_prefix)].assign(logits.begin(), logits.end());
      }));
  std::vector<FidelityRow> rows;
  for (const auto& m : methods) {
    FidelityRow row;
    row.method = m;
    row.file = file;
    row.context_tokens = n_prefix;
    FidelityAccumulator acc;
    Status st =
        runner.forced_logits(m, tokens, n_prefix, [&](int64_t i, std::span<const float> logits) {
          acc.add(ref[static_cast<size_t>(i - n_prefix)], logits, tokens[static_cast<size_t>(i)]);
        });
    if (!st.is_ok())
      row.error = st.to_string();
    else
      acc.fill(&row);
    rows.push_back(row);
  }
  return rows;
}

}  // namespace lk::eval
