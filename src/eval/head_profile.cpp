#include "eval/head_profile.h"

#include <cmath>
#include <limits>

#include "compress/dms_model.h"
#include "compress/observer.h"
#include "engine/forward.h"
#include "eval/generators.h"
#include "eval/task_spec.h"
#include "kv/contiguous_cache.h"

namespace lk::eval {

namespace {

class Counter final : public TokenCounter {
 public:
  explicit Counter(const Tokenizer& t) : t_(t) {}
  int64_t count(std::string_view text) const override {
    return static_cast<int64_t>(t_.encode(text, EncodeOptions{false, false}).size());
  }
  std::string name() const override { return "tokenizer"; }

 private:
  const Tokenizer& t_;
};

// After each layer's attention: for the scored query positions, each kv head's output over
// all visible keys vs over sinks + window only (f32 cache: runs are plain f32 rows).
class Profiler final : public ForwardObserver {
 public:
  Profiler(const ModelSpec& s, const KvCache* cache, const compress::DmsModel* dms, int sinks,
           int window)
      : s_(s),
        cache_(cache),
        dms_(dms),
        sinks_(sinks),
        window_(window),
        sum_(static_cast<size_t>(s.n_layers) * s.n_kv_heads, 0.0),
        n_(sum_.size(), 0) {}
  void set_scored(int32_t first, int32_t last) { first_ = first, last_ = last; }
  Status before_rope(SeqId, int, const float*, float* q, int64_t stride,
                     std::span<const int32_t> pos) override {
    if (dms_) dms_->zero_channel(q, stride, static_cast<int64_t>(pos.size()));
    return Status::ok();
  }
  void after_rope(SeqId, int, float* q, int64_t stride, int64_t n) override {
    if (dms_) dms_->zero_channel(q, stride, n);
  }
  Status after_attention(SeqId seq, int layer, const float* q, int64_t q_stride,
                         std::span<const int32_t> positions) override {
    const int D = s_.head_dim, group = s_.n_heads / s_.n_kv_heads;
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    for (int h = 0; h < s_.n_kv_heads; ++h) {
      const KvHeadView v = cache_->view(seq, layer, h);
      for (size_t i = 0; i < positions.size(); ++i) {
        const int32_t qp = positions[i];
        if (qp < first_ || qp > last_) continue;
        for (int g = 0; g < group; ++g) {
          const float* qi = q + static_cast<int64_t>(i) * q_stride + (int64_t{h} * group + g) * D;
          std::vector<double> of(D, 0.0), os(D, 0.0);
          double zf = 0, zs = 0, mx = -std::numeric_limits<double>::infinity();
          std::vector<double> sc;
          std::vector<const float*> vals;
          std::vector<bool> stream;
          for (const KvRun& r : v.runs) {
            if (r.format != KvFormat::kF32)
              return unsupported("profile-heads reads an f32 cache (got {})",
                                 kv_format_name(r.format));
            const float* k = static_cast<const float*>(r.k);
            const float* vv = static_cast<const float*>(r.v);
            for (int t = 0; t < r.n_tokens; ++t) {
              const int32_t p = r.positions[t];
              if (p > qp) continue;
              double d = 0;
              for (int c = 0; c < D; ++c) d += double{qi[c]} * k[int64_t{t} * D + c];
              sc.push_back(d * scale);
              vals.push_back(vv + int64_t{t} * D);
              stream.push_back(p < sinks_ || qp - p < window_);
              mx = std::max(mx, sc.back());
            }
          }
          for (size_t k = 0; k < sc.size(); ++k) {
            const double e = std::exp(sc[k] - mx);
            zf += e;
            if (stream[k]) zs += e;
            for (int c = 0; c < D; ++c) {
              of[c] += e * vals[k][c];
              if (stream[k]) os[c] += e * vals[k][c];
            }
          }
          double num = 0, den = 1e-12;
          for (int c = 0; c < D; ++c) {
            const double a = of[c] / zf, b = zs > 0 ? os[c] / zs : 0.0;
            num += (a - b) * (a - b);
            den += a * a;
          }
          const size_t idx = static_cast<size_t>(layer) * s_.n_kv_heads + h;
          sum_[idx] += num / den;
          n_[idx] += 1;
        }
      }
    }
    return Status::ok();
  }
  std::vector<double> scores() const {
    std::vector<double> out(sum_.size());
    for (size_t i = 0; i < out.size(); ++i) out[i] = n_[i] ? sum_[i] / n_[i] : 0.0;
    return out;
  }

 private:
  const ModelSpec& s_;
  const KvCache* cache_;
  const compress::DmsModel* dms_;
  int sinks_, window_;
  int32_t first_ = 0, last_ = -1;
  std::vector<double> sum_;
  std::vector<int64_t> n_;
};

}  // namespace

Result<compress::HeadMap> profile_heads(const Model& model, const Tokenizer& tok,
                                        const HeadProfileOptions& o) {
  if (o.samples <= 0) return invalid_argument("profile-heads: -n must be positive");
  if (o.sinks < 0 || o.window < 1)
    return invalid_argument("profile-heads: --sinks must be >= 0 and --window >= 1");
  const ModelSpec& s = model.spec;
  LK_ASSIGN_OR_RETURN(TaskSpec spec, parse_task_spec(o.task));
  if (spec.is_file())
    return invalid_argument("profile-heads: --task must be a generator (e.g. passkey)");
  LK_ASSIGN_OR_RETURN(compress::DmsModel dms, compress::dms_model_load(s, model.source));
  Counter counter(tok);
  LK_ASSIGN_OR_RETURN(
      auto cache, contiguous_cache_create(s.n_layers, s.n_kv_heads, s.head_dim, KvFormat::kF32));
  Profiler prof(s, cache.get(), dms.neuron() ? &dms : nullptr, o.sinks, o.window);
  Forward fwd(model, cache.get());
  fwd.set_observer(&prof);
  for (int i = 0; i < o.samples; ++i) {
    GenerateOptions g;
    g.seed = o.seed;
    g.length = o.length;
    g.index = i;
    g.counter = &counter;
    LK_ASSIGN_OR_RETURN(EvalSample sample, generate_sample(spec, g));
    const std::string prompt = round_text(sample, 0);
    const std::string answer = " " + sample.rounds[0].answers.at(0);
    std::vector<int32_t> ids = tok.encode(prompt, EncodeOptions{true, false});
    const int32_t n_prompt = static_cast<int32_t>(ids.size());
    const std::vector<int32_t> ans = tok.encode(answer, EncodeOptions{false, false});
    ids.insert(ids.end(), ans.begin(), ans.end());
    if (static_cast<int64_t>(ids.size()) > s.max_context)
      return invalid_argument("profile-heads: {} tokens exceed the model's context {}", ids.size(),
                              s.max_context);
    prof.set_scored(n_prompt - 1, static_cast<int32_t>(ids.size()) - 2);
    std::vector<float> logits;
    SeqBatch b{static_cast<SeqId>(i), ids, false};
    LK_RETURN_IF_ERROR(fwd.forward({&b, 1}, &logits));
    cache->release(static_cast<SeqId>(i));
  }
  compress::HeadMap m;
  m.model = s.name.empty() ? model.source : s.name;
  m.criterion =
      "relative squared deviation of the head's attention output at answer positions "
      "when restricted to sinks + window (" +
      o.task + ", " + std::to_string(o.length) + " tokens, " + std::to_string(o.samples) +
      " samples)";
  m.n_layers = s.n_layers;
  m.n_kv_heads = s.n_kv_heads;
  m.sinks = o.sinks;
  m.window = o.window;
  m.scores = prof.scores();
  return m;
}

}  // namespace lk::eval
