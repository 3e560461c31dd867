#include "compress/driver.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "compress/dms.h"
#include "compress/duo.h"
#include "compress/mixed.h"
#include "compress/observe.h"
#include "compress/quest.h"
#include "core/check.h"
#include "kv/kv_codec.h"

namespace lk::compress {

namespace {
size_t c_elem_bytes(KvFormat f) {
  return f == KvFormat::kF32 ? 4 : 2;
}
}  // namespace

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
  if (spec.mixed && c.old_format != spec.mixed_old)
    return invalid_argument(
        "compression: spec '{}' re-encodes old blocks into {} but the KV manager {} (configure "
        "the manager from the spec: kv_manager_for_spec)",
        spec.text, kv_format_name(spec.mixed_old),
        c.old_format ? fmt::format("keeps them in {}", kv_format_name(*c.old_format))
                     : std::string("has no old format"));
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
  std::vector<bool> retrieval;
  std::string map_path;
  if (spec.duo) {
    map_path = spec.duo_map;
    if (map_path.empty()) {
      if (!ctx || ctx->model_path.empty())
        return invalid_argument("--kv '{}': duo needs a head map: give map=PATH", spec.text);
      map_path = head_map_default_path(ctx->model_path);
    }
    auto map = head_map_read(map_path);
    if (!map.is_ok()) {
      if (map.status().code() == StatusCode::kNotFound)
        return invalid_argument(
            "--kv '{}': no head map at '{}': run `longkv profile-heads -m MODEL` first (it writes "
            "the map beside the model) or give duo:R:map=PATH",
            spec.text, map_path);
      return map.status();
    }
    if (map->n_layers != c.n_layers || map->n_kv_heads != c.n_kv_heads)
      return invalid_argument(
          "--kv '{}': head map '{}' is for {} layers x {} kv heads, the model "
          "has {} x {}",
          spec.text, map_path, map->n_layers, map->n_kv_heads, c.n_layers, c.n_kv_heads);
    retrieval = duo_retrieval_heads(*map, spec.duo_ratio);
  }
  int mc_start = -1, mc_pairs = 0;
  if (spec.minicache) {
    if (c.format != KvFormat::kF32 && c.format != KvFormat::kF16 && c.format != KvFormat::kBF16)
      return invalid_argument("--kv '{}': minicache needs a float cache (got {})", spec.text,
                              kv_format_name(c.format));
    mc_start = spec.minicache_start >= 0 ? spec.minicache_start : c.n_layers / 2;
    mc_pairs = std::max(0, (c.n_layers - mc_start) / 2);
    if (mc_pairs == 0)
      return invalid_argument(
          "--kv '{}': minicache start={} leaves no pair of layers to merge "
          "(the model has {} layers)",
          spec.text, mc_start, c.n_layers);
  }
  auto d = std::unique_ptr<CompressionDriver>(
      new CompressionDriver(spec, std::move(policy), kv, n_heads, ctx));
  if (spec.demote) {
    if (c.format != KvFormat::kF32 && c.format != KvFormat::kF16 && c.format != KvFormat::kBF16)
      return invalid_argument("--kv '{}': demote needs a float cache (got {})", spec.text,
                              kv_format_name(c.format));
    d->demoted_ = std::make_unique<DemotionStore>(make_host_tier(), c.n_layers, c.n_kv_heads,
                                                  c.head_dim, c.block_tokens);
  }
  d->mc_start_ = mc_start;
  d->mc_pairs_ = mc_pairs;
  d->duo_retrieval_ = std::move(retrieval);
  d->duo_map_path_ = map_path;
  return d;
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
  if (spec_.mixed)
    reencode_saving_ = kv_->block_bytes(c.format) - kv_->block_bytes(spec_.mixed_old);
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
  if (demoted_) demoted_->clear();
  recall_errors_ = 0;
  merged_.assign(static_cast<size_t>(mc_pairs_) * n_kv_, {});
  recon_.assign(static_cast<size_t>(n_layers_) * n_kv_, {});
  side_bytes_ = 0;
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
    LK_RETURN_IF_ERROR(this->evict(seq, layer, h, evict[h]));
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
  for (int l = 0; l < n_layers_; ++l) LK_RETURN_IF_ERROR(apply_duo(seq, l));
  if (mc_pairs_ > 0) LK_RETURN_IF_ERROR(apply_minicache(seq));
  phase_ = Phase::kDecode;
  return Status::ok();
}

Status CompressionDriver::after_attention(SeqId seq, int layer, const float* q, int64_t q_stride,
                                          std::span<const int32_t> positions) {
  if (seq != seq_) return Status::ok();
  LK_RETURN_IF_ERROR(apply_duo(seq, layer));
  LK_RETURN_IF_ERROR(policy_after_attention(seq, layer, q, q_stride, positions));
  if (!spec_.mixed) return Status::ok();
  // Mixed precision by age, after any eviction (evicted tokens are not re-encoded first).
  std::vector<int64_t> n(static_cast<size_t>(n_kv_), 0);
  LK_RETURN_IF_ERROR(
      mixed_reencode_layer(*kv_, seq, layer, kv_->seq_length(seq), spec_.mixed_window, &n));
  for (int h = 0; h < n_kv_; ++h)
    counters_[static_cast<size_t>(layer) * n_kv_ + h].reencoded += n[static_cast<size_t>(h)];
  return Status::ok();
}

Status CompressionDriver::policy_after_attention(SeqId seq, int layer, const float* q,
                                                 int64_t q_stride,
                                                 std::span<const int32_t> positions) {
  if (!policy_) return Status::ok();
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

Status CompressionDriver::apply_minicache(SeqId seq) {
  const int D = head_dim_;
  const size_t elem = c_elem_bytes(kv_->config().format);
  std::vector<float> ka, kb, va, vb;
  for (int p = 0; p < mc_pairs_; ++p) {
    const int a = mc_start_ + 2 * p, b = a + 1;
    for (int h = 0; h < n_kv_; ++h) {
      // Tokens both layers hold (rows decoded to f32), in position order.
      std::vector<int32_t> pos;
      ka.clear(), kb.clear(), va.clear(), vb.clear();
      const KvHeadView va_view = kv_->view(seq, a, h), vb_view = kv_->view(seq, b, h);
      std::vector<std::pair<const KvRun*, int>> rows_b;
      std::map<int32_t, std::pair<const KvRun*, int>> in_b;
      for (const KvRun& r : vb_view.runs)
        for (int t = 0; t < r.n_tokens; ++t) in_b[r.positions[t]] = {&r, t};
      std::vector<float> row(D);
      for (const KvRun& r : va_view.runs)
        for (int t = 0; t < r.n_tokens; ++t) {
          auto it = in_b.find(r.positions[t]);
          if (it == in_b.end()) continue;
          pos.push_back(r.positions[t]);
          run_key(r, t, D, row.data()), ka.insert(ka.end(), row.begin(), row.end());
          run_value(r, t, D, row.data()), va.insert(va.end(), row.begin(), row.end());
          run_key(*it->second.first, it->second.second, D, row.data());
          kb.insert(kb.end(), row.begin(), row.end());
          run_value(*it->second.first, it->second.second, D, row.data());
          vb.insert(vb.end(), row.begin(), row.end());
        }
      const int64_t n = static_cast<int64_t>(pos.size());
      if (n == 0) continue;
      // Token retention: the `retain` share with the largest angular distance stays unmerged.
      std::vector<float> dist(n);
      for (int64_t i = 0; i < n; ++i)
        dist[i] = 0.5f * (minicache_angle(&ka[i * D], &kb[i * D], D) +
                          minicache_angle(&va[i * D], &vb[i * D], D));
      std::vector<int64_t> order(n);
      for (int64_t i = 0; i < n; ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t x, int64_t y) { return dist[x] > dist[y]; });
      const int64_t n_keep = static_cast<int64_t>(std::ceil(spec_.minicache_retain * n - 1e-9));
      std::vector<bool> keep(n, false);
      for (int64_t i = 0; i < n_keep; ++i) keep[order[i]] = true;
      MergedTokens& m = merged_[static_cast<size_t>(p) * n_kv_ + h];
      std::vector<int32_t> evict;
      std::vector<float> dk(D), dv(D);
      for (int64_t i = 0; i < n; ++i) {
        if (keep[i]) continue;
        float mag[4];
        minicache_merge(&ka[i * D], &kb[i * D], D, dk.data(), &mag[0], &mag[2]);
        minicache_merge(&va[i * D], &vb[i * D], D, dv.data(), &mag[1], &mag[3]);
        m.positions.push_back(pos[i]);
        m.k_dir.insert(m.k_dir.end(), dk.begin(), dk.end());
        m.v_dir.insert(m.v_dir.end(), dv.begin(), dv.end());
        m.mag.insert(m.mag.end(), mag, mag + 4);
        evict.push_back(pos[i]);
        // Shared direction once (K and V, the cache's element type) + 4 magnitudes + position.
        side_bytes_ += static_cast<int64_t>(2 * D * elem + 4 * 4 + 4);
      }
      if (evict.empty()) continue;
      LK_CHECK_MSG(std::is_sorted(m.positions.begin(), m.positions.end()),
                   "minicache: rounds append later positions");
      LK_RETURN_IF_ERROR(kv_->evict(seq, a, h, evict));
      LK_RETURN_IF_ERROR(kv_->evict(seq, b, h, evict));
      counters_[static_cast<size_t>(a) * n_kv_ + h].evictions += static_cast<int64_t>(evict.size());
      counters_[static_cast<size_t>(b) * n_kv_ + h].evictions += static_cast<int64_t>(evict.size());
    }
    rebuild_minicache_runs(a);
    rebuild_minicache_runs(b);
  }
  return Status::ok();
}

// The reconstruction a merged layer's attention reads: magnitude x shared direction.
void CompressionDriver::rebuild_minicache_runs(int layer) {
  const int p = (layer - mc_start_) / 2, side = (layer - mc_start_) % 2;
  const int D = head_dim_;
  for (int h = 0; h < n_kv_; ++h) {
    const MergedTokens& m = merged_[static_cast<size_t>(p) * n_kv_ + h];
    Recon& r = recon_[static_cast<size_t>(layer) * n_kv_ + h];
    const size_t n = m.positions.size();
    r.positions = m.positions;
    r.k.resize(n * D);
    r.v.resize(n * D);
    for (size_t i = 0; i < n; ++i) {
      const float mk = m.mag[i * 4 + 2 * side], mv = m.mag[i * 4 + 2 * side + 1];
      for (int d = 0; d < D; ++d) {
        r.k[i * D + d] = mk * m.k_dir[i * D + d];
        r.v[i * D + d] = mv * m.v_dir[i * D + d];
      }
    }
  }
}

Status CompressionDriver::evict(SeqId seq, int layer, int kv_head,
                                std::span<const int32_t> positions) {
  if (demoted_ && !positions.empty()) {
    // Decode the rows of the evicted positions (ascending) before they leave the pool.
    std::vector<float> k(positions.size() * head_dim_), v(k.size());
    size_t i = 0;
    for (const KvRun& r : kv_->view(seq, layer, kv_head).runs)
      for (int t = 0; t < r.n_tokens && i < positions.size(); ++t)
        if (r.positions[t] == positions[i]) {
          run_key(r, t, head_dim_, &k[i * head_dim_]);
          run_value(r, t, head_dim_, &v[i * head_dim_]);
          ++i;
        }
    LK_CHECK_MSG(i == positions.size(), "evict: positions must be held and ascending");
    LK_RETURN_IF_ERROR(demoted_->demote(layer, kv_head, positions, k.data(), v.data()));
  }
  return kv_->evict(seq, layer, kv_head, positions);
}

Status CompressionDriver::apply_duo(SeqId seq, int layer) {
  if (duo_retrieval_.empty()) return Status::ok();
  const int64_t len = kv_->seq_length(seq);
  for (int h = 0; h < n_kv_; ++h) {
    const size_t i = static_cast<size_t>(layer) * n_kv_ + h;
    if (duo_retrieval_[i]) continue;
    std::vector<int32_t> held;
    for (const KvRun& r : kv_->view(seq, layer, h).runs)
      held.insert(held.end(), r.positions, r.positions + r.n_tokens);
    const std::vector<int32_t> ev =
        duo_streaming_evictions(held, len, spec_.duo_sinks, spec_.duo_window);
    if (ev.empty()) continue;
    LK_RETURN_IF_ERROR(this->evict(seq, layer, h, ev));
    counters_[i].evictions += static_cast<int64_t>(ev.size());
  }
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
                                          const float* q, int64_t q_stride, int n_q,
                                          const int32_t* q_positions) {
  // DMS inside a prefill chunk: keys whose window has passed for the task's first query are
  // hidden now (they leave the pool after the chunk), so a query sees at most the task's
  // query span (<= 64 positions) of late keys instead of the whole chunk.
  const KvManagerConfig& kc = kv_->config();
  if (dms_decides_ && q_positions && n_q > 0 && seq == seq_ && !kv_format_is_kivi(kc.format) &&
      !(kc.old_format && kv_format_is_kivi(*kc.old_format))) {  // KIVI groups cannot be sliced
    const auto* dms = static_cast<const DmsPolicy*>(policy_.get());
    const int64_t first = q_positions[0];
    view = view_without(
        view,
        [&](int32_t p) {
          return p + int64_t{dms->window()} < first && dms->marked(layer, kv_head, p);
        },
        head_dim_);
  }
  if (mc_pairs_ > 0 && seq == seq_) {
    const Recon& r = recon_[static_cast<size_t>(layer) * n_kv_ + kv_head];
    if (!r.positions.empty()) {
      KvRun extra;
      extra.format = KvFormat::kF32;
      extra.n_tokens = static_cast<int32_t>(r.positions.size());
      extra.k = r.k.data();
      extra.v = r.v.data();
      extra.positions = r.positions.data();
      view = splice_run(view, extra, head_dim_);
    }
  }
  if (demoted_ && seq == seq_ && phase_ == Phase::kDecode && n_q == 1) {
    const int group = n_heads_ / n_kv_;
    const int64_t demoted = demoted_->demoted_tokens(layer, kv_head);
    const auto max_tokens =
        static_cast<int64_t>(std::ceil(spec_.recall_budget.ratio * static_cast<double>(demoted)));
    auto run = demoted_->recall(layer, kv_head, q, group, max_tokens);
    if (!run.is_ok()) {  // never silent: counted and reported
      ++recall_errors_;
      std::lock_guard<std::mutex> lock(recall_mu_);
      recall_error_ = run.status().to_string();
    } else if (run->n_tokens > 0) {
      view = splice_run(view, *run, head_dim_);
    }
  }
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
      c.bytes_saved = static_cast<int64_t>(std::llround(c.evictions * bytes_per_token_)) +
                      c.reencoded * reencode_saving_;
    }
  return out;
}

nlohmann::json CompressionDriver::report() const {
  nlohmann::json j;
  j["spec"] = spec_.text;
  j["token_method"] = spec_.token_method.empty() ? "none" : spec_.token_method;
  j["head_method"] = spec_.duo ? "duo" : "none";
  j["storage_format"] = kv_format_name(kv_->config().format);
  j["keep_per_head"] = keep_;
  const auto cs = counters();
  int64_t appended = 0, held = 0, ev = 0, saved = 0, reenc = 0;
  nlohmann::json heads = nlohmann::json::array();
  for (size_t i = 0; i < cs.size(); ++i) {
    appended += cs[i].appended;
    held += cs[i].held;
    ev += cs[i].evictions;
    saved += cs[i].bytes_saved;
    reenc += cs[i].reencoded;
    heads.push_back({{"layer", static_cast<int>(i) / n_kv_},
                     {"kv_head", static_cast<int>(i) % n_kv_},
                     {"retained_ratio", cs[i].retained_ratio()},
                     {"evictions", cs[i].evictions},
                     {"bytes_saved", cs[i].bytes_saved}});
    if (spec_.mixed) heads.back()["reencoded_blocks"] = cs[i].reencoded;
  }
  if (spec_.mixed) {
    const KvFormat main = kv_->config().format;
    j["mixed"] = {{"window", spec_.mixed_window},
                  {"recent_format", kv_format_name(main)},
                  {"old_format", kv_format_name(spec_.mixed_old)},
                  {"reencoded_blocks", reenc},
                  {"old_blocks", seq_ >= 0 ? kv_->seq_blocks(seq_, spec_.mixed_old) : 0},
                  {"recent_blocks", seq_ >= 0 ? kv_->seq_blocks(seq_, main) : 0},
                  {"block_bytes",
                   {{kv_format_name(main), kv_->block_bytes(main)},
                    {kv_format_name(spec_.mixed_old), kv_->block_bytes(spec_.mixed_old)}}}};
  }
  j["retained_ratio"] = appended ? static_cast<double>(held) / appended : 1.0;
  j["evictions"] = ev;
  j["bytes_saved"] = saved;
  j["heads"] = heads;
  if (demoted_) {
    j["demote"] = {{"tier", demoted_->tier_name()},
                   {"demoted_tokens", demoted_->demoted_tokens()},
                   {"tier_bytes", demoted_->tier_bytes()},
                   {"recalled_pages", demoted_->recalled_pages()},
                   {"recalled_tokens", demoted_->recalled_tokens()},
                   {"recalled_bytes", demoted_->recalled_bytes()},
                   {"recall_budget", spec_.recall_budget.ratio},
                   {"recall_errors", recall_errors_.load()}};
    if (recall_errors_ > 0) j["demote"]["recall_error"] = recall_error_;
  }
  if (mc_pairs_ > 0) {
    int64_t merged = 0;
    for (const auto& m : merged_) merged += static_cast<int64_t>(m.positions.size());
    j["minicache"] = {{"first_layer", mc_start_},
                      {"pairs", mc_pairs_},
                      {"merged_tokens", merged},
                      {"side_bytes", side_bytes_},
                      {"retain", spec_.minicache_retain}};
  }
  if (!duo_retrieval_.empty()) {
    int64_t n_ret = std::count(duo_retrieval_.begin(), duo_retrieval_.end(), true);
    nlohmann::json ret = nlohmann::json::array();
    for (bool b : duo_retrieval_) ret.push_back(b ? 1 : 0);
    j["duo"] = {{"head_map", duo_map_path_},
                {"retrieval_heads", n_ret},
                {"streaming_heads", static_cast<int64_t>(duo_retrieval_.size()) - n_ret},
                {"sinks", spec_.duo_sinks},
                {"window", spec_.duo_window},
                {"retrieval", ret}};
  }
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
