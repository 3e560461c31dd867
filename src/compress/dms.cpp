#include "compress/dms.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/check.h"

namespace lk::compress {

namespace fs = std::filesystem;

Result<DmsModelConfig> dms_config_from_json(const nlohmann::json& j) {
  DmsModelConfig c;
  if (!j.is_object()) return invalid_argument("config.json: top level is not an object");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key().rfind("dms_", 0) == 0) c.present = true;
  if (!c.present) return c;
  auto num = [&](const char* key, double* out) -> Status {
    if (!j.contains(key)) return Status::ok();
    if (!j[key].is_number()) return invalid_argument("config.json: {} must be a number", key);
    *out = j[key].get<double>();
    return Status::ok();
  };
  auto boolean = [&](const char* key, bool* out) -> Status {
    if (!j.contains(key)) return Status::ok();
    if (!j[key].is_boolean()) return invalid_argument("config.json: {} must be true or false", key);
    *out = j[key].get<bool>();
    return Status::ok();
  };
  double window = c.window_size, block = c.paged_attention_block_size;
  LK_RETURN_IF_ERROR(num("dms_alpha_scale", &c.alpha_scale));
  LK_RETURN_IF_ERROR(num("dms_initial_alpha_offset", &c.initial_alpha_offset));
  LK_RETURN_IF_ERROR(num("dms_window_size", &window));
  LK_RETURN_IF_ERROR(num("dms_paged_attention_block_size", &block));
  LK_RETURN_IF_ERROR(num("dms_cr", &c.cr));
  LK_RETURN_IF_ERROR(boolean("dms_separate_alpha", &c.separate_alpha));
  LK_RETURN_IF_ERROR(boolean("dms_disable_eviction", &c.disable_eviction));
  if (window < 0 || window != std::floor(window) || window > (1 << 24))
    return invalid_argument("config.json: dms_window_size must be a non-negative integer (got {})",
                            window);
  c.window_size = static_cast<int>(window);
  c.paged_attention_block_size = static_cast<int>(block);
  if (j.contains("dms_alpha_per")) {
    if (!j["dms_alpha_per"].is_string())
      return invalid_argument("config.json: dms_alpha_per must be a string (valid: head, layer)");
    c.alpha_per = j["dms_alpha_per"].get<std::string>();
    if (c.alpha_per != "head" && c.alpha_per != "layer")
      return invalid_argument("config.json: dms_alpha_per '{}' is not valid (valid: head, layer)",
                              c.alpha_per);
  }
  return c;
}

Result<DmsModelConfig> dms_config_from_file(const std::string& path) {
  fs::path p = path;
  std::error_code ec;
  if (fs::is_directory(p, ec)) p /= "config.json";
  std::ifstream in(p);
  if (!in) return not_found("cannot open '{}'", p.string());
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) return invalid_argument("'{}' is not valid JSON", p.string());
  auto r = dms_config_from_json(j);
  if (!r.is_ok()) return r.status().with_context(p.string());
  return r;
}

void dms_neuron_logits(float* q, int64_t n_tokens, int n_heads, int n_kv_heads, int head_dim,
                       const DmsModelConfig& cfg, float* logits) {
  LK_CHECK(n_kv_heads > 0 && n_heads % n_kv_heads == 0);
  const int group = n_heads / n_kv_heads;
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int h = 0; h < n_kv_heads; ++h) {
      float& ch = q[(t * n_heads + int64_t{h} * group) * head_dim + head_dim - 1];
      logits[t * n_kv_heads + h] =
          static_cast<float>(ch * cfg.alpha_scale - cfg.initial_alpha_offset);
      ch = 0.0f;
    }
}

void dms_zero_decision_channel(float* q, int64_t n_tokens, int n_heads, int n_kv_heads,
                               int head_dim) {
  const int group = n_heads / n_kv_heads;
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int h = 0; h < n_kv_heads; ++h)
      q[(t * n_heads + int64_t{h} * group) * head_dim + head_dim - 1] = 0.0f;
}

void dms_projection_logits(const float* hidden, int64_t n_tokens, int d_model, const float* norm,
                           float eps, const float* proj, const float* bias, int n_kv_heads,
                           const DmsModelConfig& cfg, float* logits) {
  std::vector<float> xn(d_model);
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float* x = hidden + t * d_model;
    double ss = 0;
    for (int i = 0; i < d_model; ++i) ss += double{x[i]} * x[i];
    const float inv = 1.0f / std::sqrt(static_cast<float>(ss / d_model) + eps);
    for (int i = 0; i < d_model; ++i) xn[i] = x[i] * inv * norm[i];
    for (int h = 0; h < n_kv_heads; ++h) {
      double s = bias ? bias[h] : 0.0;
      const float* w = proj + int64_t{h} * d_model;
      for (int i = 0; i < d_model; ++i) s += double{w[i]} * xn[i];
      logits[t * n_kv_heads + h] =
          static_cast<float>(s * cfg.alpha_scale - cfg.initial_alpha_offset);
    }
  }
}

std::vector<uint8_t> dms_decisions(std::span<const float> logits, int n_kv_heads,
                                   const DmsModelConfig& cfg) {
  std::vector<uint8_t> out(logits.size(), 0);
  if (cfg.disable_eviction) return out;
  const size_t n = logits.size() / n_kv_heads;
  for (size_t t = 0; t < n; ++t)
    for (int h = 0; h < n_kv_heads; ++h) {
      const int src = cfg.alpha_per == "layer" ? 0 : h;
      out[t * n_kv_heads + h] = logits[t * n_kv_heads + src] > 0.0f ? 1 : 0;
    }
  return out;
}

void DmsPolicy::use_model_decisions(const DmsModelConfig& cfg) {
  from_model_ = true;
  c_.window = cfg.window_size;
}

void DmsPolicy::record_decisions(int layer, std::span<const int32_t> positions,
                                 std::span<const uint8_t> evict, int n_kv_heads) {
  LK_CHECK(evict.size() == positions.size() * n_kv_heads);
  for (int h = 0; h < n_kv_heads; ++h) {
    HeadState& s = head(layer, h);
    for (size_t i = 0; i < positions.size(); ++i)
      if (evict[i * n_kv_heads + h]) s.marked.insert(positions[i]);
  }
}

void DmsPolicy::observe(const AttentionObservation& o) {
  if (from_model_) return;
  HeadState& s = head(o.layer, o.kv_head);
  for (int64_t q = 0; q < o.n_queries(); ++q) {
    const int32_t qp = o.query_positions[q];
    for (int64_t k = 0; k < o.n_keys(); ++k) {
      const int32_t kp = o.key_positions[k];
      if (kp > qp || qp - kp > c_.window) continue;  // only the queries inside its window
      s.received[kp] += o.group_sum(q, k) / o.group;
      s.seen[kp] += 1;
    }
  }
}

std::vector<std::vector<int32_t>> DmsPolicy::select(const LayerState& st) {
  std::vector<std::vector<int32_t>> out(st.held.size());
  for (size_t h = 0; h < st.held.size(); ++h) {
    HeadState& s = head(st.layer, static_cast<int>(h));
    for (int32_t p : st.held[h]) {
      if (int64_t{p} + c_.window >= st.seq_len) break;  // still inside its window (ascending)
      if (from_model_) {
        if (s.marked.erase(p)) out[h].push_back(p);
        continue;
      }
      auto it = s.received.find(p);
      if (it == s.received.end()) continue;  // decided earlier (kept)
      const double mean = it->second / std::max(1, s.seen[p]);
      if (mean < c_.threshold) out[h].push_back(p);
      s.received.erase(it);
      s.seen.erase(p);
    }
  }
  return out;
}

int64_t DmsPolicy::pending(int layer, int kv_head) const {
  auto it = heads_.find({layer, kv_head});
  return it == heads_.end() ? 0 : static_cast<int64_t>(it->second.marked.size());
}

bool DmsPolicy::marked(int layer, int kv_head, int32_t pos) const {
  auto it = heads_.find({layer, kv_head});
  return it != heads_.end() && it->second.marked.count(pos) > 0;
}

void DmsPolicy::reset() {
  heads_.clear();
}

}  // namespace lk::compress
