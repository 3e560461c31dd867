#include "compress/driver.h"

#include <algorithm>
#include <cmath>

#include "compress/dms.h"
#include "compress/observe.h"
#include "compress/quest.h"
#include "core/check.h"

namespace lk::compress {

Result<std::unique_ptr<CompressionDriver>> CompressionDriver::create(const CompressionSpec& spec,
                                                                     KvManager* kv, int n_heads,
                                                                     const ModelContext* ctx) {
  LK_CHECK(kv != nullptr);
  const KvManagerConfig& c = kv->config();
  if (n_heads <= 0 || n_heads % c.n_kv_heads != 0)
    return invalid_argument("compression: {} query heads do not group over {} kv heads", n_heads,
                            c.n_kv_heads);
  if (spec.has_format && spec.format != c.format)
    return invalid_argument(
        "compression: spec '{}' asks for {} storage but the KV manager stores {} (configure the "
        "manager from the spec: kv_format_for_spec)",
        spec.text, kv_format_name(spec.format), kv_format_name(c.format));
  LK_ASSIGN_OR_RETURN(std::unique_ptr<KvPolicy> policy, make_token_policy(spec));
  const DmsModel* model_dms = ctx && ctx->dms && ctx->dms->present() ? ctx->dms : nullptr;
  if (model_dms && (model_dms->n_kv_heads != c.n_kv_heads || model_dms->n_heads != n_heads))
    return invalid_argument("compression: the DMS model has {}/{} heads, the cache {}/{}",
                            model_dms->n_heads, model_dms->n_kv_heads, n_heads, c.n_kv_heads);
  if (policy && policy->name() == "dms") {
    auto* dms = static_cast<DmsPolicy*>(policy.get());
    const bool threshold_given = std::count(spec.given.begin(), spec.given.end(), "threshold") > 0;
    if (model_dms && threshold_given)
      return invalid_argument(
          "--kv '{}': this model carries its own DMS decisions (dms_* keys in its config.json); "
          "threshold= is for the training-free form on models without them (use plain 'dms', "
          "optionally dms:window=W)",
          spec.text);
    if (model_dms) {
      DmsModelConfig mc = model_dms->cfg;
      if (std::count(spec.given.begin(), spec.given.end(), "window"))
        mc.window_size = static_cast<int>(spec.params.at("window"));
      dms->use_model_decisions(mc);
    }
    if (!dms->from_model() && spec.params.at("threshold") <= 0.0)
      return invalid_argument(
          "--kv '{}': this model carries no DMS decisions (no dms_* keys in its config); use the "
          "training-free form with a threshold, e.g. dms:threshold=0.001",
          spec.text);
  }
  return std::unique_ptr<CompressionDriver>(
      new CompressionDriver(spec, std::move(policy), kv, n_heads, ctx));
}

CompressionDriver::CompressionDriver(CompressionSpec spec, std::unique_ptr<KvPolicy> policy,
                                     KvManager* kv, int n_heads, const ModelContext* ctx)
    : spec_(std::move(spec)), policy_(std::move(policy)), kv_(kv) {
  if (ctx && ctx->dms && ctx->dms->present()) {
    dms_ = ctx->dms;
    dms_decides_ =
        policy_ && policy_->name() == "dms" && static_cast<DmsPolicy*>(policy_.get())->from_model();
  }
  const KvManagerConfig& c = kv_->config();
  n_layers_ = c.n_layers;
  n_kv_ = c.n_kv_heads;
  n_heads_ = n_heads;
  head_dim_ = c.head_dim;
  bytes_per_token_ = static_cast<double>(kv_->block_bytes(c.format)) / c.block_tokens;
  counters_.assign(static_cast<size_t>(n_layers_) * n_kv_, {});
  tail_q_.assign(n_layers_, {});
  tail_pos_.assign(n_layers_, {});
}

void CompressionDriver::begin(SeqId seq) {
  seq_ = seq;
  phase_ = Phase::kPrefill;
  prompt_len_ = 0;
  keep_ = -1;
  if (policy_) policy_->reset();
  counters_.assign(counters_.size(), {});
  for (auto& t : tail_q_) t.clear();
  for (auto& t : tail_pos_) t.clear();
  quest_total_ = 0;
  quest_read_ = 0;
  dms_decided_ = dms_evict_decisions_ = 0;
}

int64_t CompressionDriver::resolve_keep(int64_t tokens) const {
  switch (spec_.budget.kind) {
    case Budget::Kind::kRatio:
      return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(spec_.budget.ratio * tokens)));
    case Budget::Kind::kBytes:
      return std::max<int64_t>(
          1, static_cast<int64_t>(spec_.budget.bytes / (bytes_per_token_ * n_layers_ * n_kv_)));
    default:
      return -1;
  }
}

Status CompressionDriver::run_select(SeqId seq, int layer, Phase phase) {
  if (!policy_) return Status::ok();
  std::vector<std::vector<int32_t>> held(n_kv_);
  for (int h = 0; h < n_kv_; ++h) {
    const KvHeadView v = kv_->view(seq, layer, h);
    for (const KvRun& r : v.runs)
      held[h].insert(held[h].end(), r.positions, r.positions + r.n_tokens);
  }
  LayerState st;
  st.layer = layer;
  st.n_layers = n_layers_;
  st.phase = phase;
  st.seq_len = kv_->seq_length(seq);
  st.prompt_len = prompt_len_;
  st.keep_per_head = keep_;
  for (auto& h : held) st.held.emplace_back(h);
  std::vector<std::vector<int32_t>> evict = policy_->select(st);
  LK_CHECK(static_cast<int>(evict.size()) == n_kv_);
  for (int h = 0; h < n_kv_; ++h) {
    if (evict[h].empty()) continue;
    LK_RETURN_IF_ERROR(kv_->evict(seq, layer, h, evict[h]));
    counters_[static_cast<size_t>(layer) * n_kv_ + h].evictions +=
        static_cast<int64_t>(evict[h].size());
  }
  return Status::ok();
}

Status CompressionDriver::observe_window(SeqId seq, int layer) {
  const auto& pos = tail_pos_[layer];
  if (pos.empty()) return Status::ok();
  const int group = n_heads_ / n_kv_;
  const int64_t q_dim = int64_t{n_heads_} * head_dim_;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim_));
  std::vector<float> probs;
  std::vector<int32_t> keys;
  for (int h = 0; h < n_kv_; ++h) {
    const KvHeadView v = kv_->view(seq, layer, h);
    attention_probs(v, tail_q_[layer].data() + int64_t{h} * group * head_dim_, q_dim, pos.data(),
                    static_cast<int>(pos.size()), group, head_dim_, scale, &probs, &keys);
    AttentionObservation o;
    o.layer = layer;
    o.kv_head = h;
    o.phase = Phase::kPrefill;
    o.key_positions = keys;
    o.query_positions = pos;
    o.group = group;
    o.probs = probs;
    policy_->observe(o);
  }
  return Status::ok();
}

Status CompressionDriver::end_prefill(SeqId seq) {
  if (seq != seq_)
    return invalid_argument("compression: end_prefill of seq {} while driving {}", seq, seq_);
  prompt_len_ = kv_->seq_length(seq);
  keep_ = resolve_keep(prompt_len_);
  if (policy_) {
    for (int l = 0; l < n_layers_; ++l) {
      if (policy_->observation_window() > 0) LK_RETURN_IF_ERROR(observe_window(seq, l));
      LK_RETURN_IF_ERROR(run_select(seq, l, Phase::kPrefill));
      tail_q_[l].clear();
      tail_pos_[l].clear();
    }
  }
  phase_ = Phase::kDecode;
  return Status::ok();
}

Status CompressionDriver::after_attention(SeqId seq, int layer, const float* q, int64_t q_stride,
                                          std::span<const int32_t> positions) {
  if (seq != seq_ || !policy_) return Status::ok();
  const int group = n_heads_ / n_kv_;
  const int64_t q_dim = int64_t{n_heads_} * head_dim_;
  const int64_t n = static_cast<int64_t>(positions.size());
  const int w = policy_->observation_window();
  const bool observe_now = phase_ == Phase::kPrefill ? w < 0 : policy_->observes_decode();
  if (phase_ == Phase::kPrefill && w > 0) {  // keep the last w queries for end_prefill()
    auto& rows = tail_q_[layer];
    auto& pos = tail_pos_[layer];
    for (int64_t i = 0; i < n; ++i) {
      rows.insert(rows.end(), q + i * q_stride, q + i * q_stride + q_dim);
      pos.push_back(positions[i]);
    }
    if (static_cast<int64_t>(pos.size()) > w) {
      const int64_t drop = static_cast<int64_t>(pos.size()) - w;
      rows.erase(rows.begin(), rows.begin() + drop * q_dim);
      pos.erase(pos.begin(), pos.begin() + drop);
    }
  }
  if (observe_now) {
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim_));
    std::vector<float> probs;
    std::vector<int32_t> keys;
    for (int h = 0; h < n_kv_; ++h) {
      const KvHeadView v = kv_->view(seq, layer, h);
      attention_probs(v, q + int64_t{h} * group * head_dim_, q_stride, positions.data(),
                      static_cast<int>(n), group, head_dim_, scale, &probs, &keys);
      AttentionObservation o;
      o.layer = layer;
      o.kv_head = h;
      o.phase = phase_;
      o.key_positions = keys;
      o.query_positions = positions;
      o.group = group;
      o.probs = probs;
      policy_->observe(o);
    }
  }
  if (phase_ == Phase::kDecode && policy_->evicts_during_decode())
    LK_RETURN_IF_ERROR(run_select(seq, layer, Phase::kDecode));
  if (phase_ == Phase::kPrefill && policy_->evicts_during_prefill())
    LK_RETURN_IF_ERROR(run_select(seq, layer, Phase::kPrefill));
  return Status::ok();
}

Status CompressionDriver::before_rope(SeqId seq, int layer, const float* x, float* q,
                                      int64_t q_stride, std::span<const int32_t> positions) {
  if (!dms_) return Status::ok();
  const int64_t n = static_cast<int64_t>(positions.size());
  if (!dms_decides_) {  // the model's decisions are not used, but its channel stays out
    dms_->zero_channel(q, q_stride, n);
    return Status::ok();
  }
  dms_logits_.resize(static_cast<size_t>(n * n_kv_));
  dms_->logits(layer, x, q, q_stride, n, dms_logits_.data());
  const std::vector<uint8_t> evict = dms_decisions(dms_logits_, n_kv_, dms_->cfg);
  // The official one-token shift: the decision computed at position p is key p - 1's.
  std::vector<int32_t> keys;
  std::vector<uint8_t> flags;
  for (int64_t i = 0; i < n; ++i) {
    if (positions[i] == 0) continue;
    keys.push_back(positions[i] - 1);
    flags.insert(flags.end(), evict.begin() + i * n_kv_, evict.begin() + (i + 1) * n_kv_);
  }
  if (seq == seq_ && !keys.empty()) {
    static_cast<DmsPolicy*>(policy_.get())->record_decisions(layer, keys, flags, n_kv_);
    dms_decided_ += static_cast<int64_t>(flags.size());
    for (uint8_t f : flags) dms_evict_decisions_ += f;
  }
  return Status::ok();
}

void CompressionDriver::after_rope(SeqId, int, float* q, int64_t q_stride, int64_t n) {
  if (dms_) dms_->zero_channel(q, q_stride, n);
}

KvHeadView CompressionDriver::filter_view(SeqId seq, int layer, int kv_head, KvHeadView view,
                                          const float* q, int64_t q_stride, int n_q) {
  if (!spec_.quest || seq != seq_ || phase_ != Phase::kDecode || n_q != 1) return view;
  const int group = n_heads_ / n_kv_;
  int64_t max_tokens = 0;
  if (spec_.quest_budget.kind == Budget::Kind::kRatio)
    max_tokens = static_cast<int64_t>(std::ceil(spec_.quest_budget.ratio * view.n_tokens()));
  else
    max_tokens =
        static_cast<int64_t>(spec_.quest_budget.bytes / (bytes_per_token_ * n_layers_ * n_kv_));
  // Bounds are computed from the keys here; a production build would keep them beside each
  // block (they change only when a block fills). The read saving is what attention reads.
  const std::vector<PageBounds> bounds = quest_page_bounds(view, head_dim_);
  const std::vector<int> pages = quest_select_pages(view, bounds, q, group, head_dim_, max_tokens);
  quest_total_ += static_cast<int64_t>(view.runs.size());
  quest_read_ += static_cast<int64_t>(pages.size());
  return quest_restrict(view, pages);
}

std::vector<HeadCounters> CompressionDriver::counters() const {
  std::vector<HeadCounters> out = counters_;
  if (seq_ < 0 || !kv_->contains(seq_)) return out;
  const int64_t len = kv_->seq_length(seq_);
  for (int l = 0; l < n_layers_; ++l)
    for (int h = 0; h < n_kv_; ++h) {
      HeadCounters& c = out[static_cast<size_t>(l) * n_kv_ + h];
      c.appended = len;
      c.held = kv_->head_tokens(seq_, l, h);
      c.bytes_saved = static_cast<int64_t>(std::llround(c.evictions * bytes_per_token_));
    }
  return out;
}

nlohmann::json CompressionDriver::report() const {
  nlohmann::json j;
  j["spec"] = spec_.text;
  j["token_method"] = spec_.token_method.empty() ? "none" : spec_.token_method;
  j["storage_format"] = kv_format_name(kv_->config().format);
  j["keep_per_head"] = keep_;
  const auto cs = counters();
  int64_t appended = 0, held = 0, ev = 0, saved = 0;
  nlohmann::json heads = nlohmann::json::array();
  for (size_t i = 0; i < cs.size(); ++i) {
    appended += cs[i].appended;
    held += cs[i].held;
    ev += cs[i].evictions;
    saved += cs[i].bytes_saved;
    heads.push_back({{"layer", static_cast<int>(i) / n_kv_},
                     {"kv_head", static_cast<int>(i) % n_kv_},
                     {"retained_ratio", cs[i].retained_ratio()},
                     {"evictions", cs[i].evictions},
                     {"bytes_saved", cs[i].bytes_saved}});
  }
  j["retained_ratio"] = appended ? static_cast<double>(held) / appended : 1.0;
  j["evictions"] = ev;
  j["bytes_saved"] = saved;
  j["heads"] = heads;
  if (dms_) {
    j["dms"] = {{"from_model", dms_decides_},
                {"form", dms_->cfg.separate_alpha ? "projection" : "neuron"},
                {"decisions", dms_decided_},
                {"evict_decisions", dms_evict_decisions_}};
    if (dms_decides_) j["dms"]["window"] = static_cast<DmsPolicy*>(policy_.get())->window();
  }
  if (spec_.quest) {
    j["quest_pages_total"] = quest_total_.load();
    j["quest_pages_read"] = quest_read_.load();
    j["notes"] = "quest saves reads, not memory: every token stays in the cache";
  }
  return j;
}

}  // namespace lk::compress
