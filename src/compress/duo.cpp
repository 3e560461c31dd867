#include "compress/duo.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <nlohmann/json.hpp>

namespace lk::compress {

namespace fs = std::filesystem;

std::string head_map_default_path(const std::string& model_path) {
  std::error_code ec;
  if (fs::is_directory(model_path, ec))
    return (fs::path(model_path) / "longkv_heads.json").string();
  return model_path + ".heads.json";
}

Status head_map_write(const HeadMap& m, const std::string& path) {
  nlohmann::json j;
  j["format"] = "longkv-head-map-v1";
  j["model"] = m.model;
  j["criterion"] = m.criterion;
  j["n_layers"] = m.n_layers;
  j["n_kv_heads"] = m.n_kv_heads;
  j["sinks"] = m.sinks;
  j["window"] = m.window;
  nlohmann::json rows = nlohmann::json::array();
  for (int l = 0; l < m.n_layers; ++l)
    rows.push_back(std::vector<double>(m.scores.begin() + l * m.n_kv_heads,
                                       m.scores.begin() + (l + 1) * m.n_kv_heads));
  j["scores"] = rows;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << j.dump(1) << "\n";
    if (!out) return io_error("cannot write head map '{}'", tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return io_error("cannot rename '{}' to '{}': {}", tmp, path, ec.message());
  return Status::ok();
}

Result<HeadMap> head_map_read(const std::string& path) {
  std::ifstream in(path);
  if (!in) return not_found("head map '{}' not found", path);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return invalid_argument("head map '{}' is not JSON", path);
  if (j.value("format", "") != "longkv-head-map-v1")
    return invalid_argument("head map '{}': format must be longkv-head-map-v1", path);
  HeadMap m;
  try {
    m.model = j.value("model", "");
    m.criterion = j.value("criterion", "");
    m.n_layers = j.at("n_layers").get<int>();
    m.n_kv_heads = j.at("n_kv_heads").get<int>();
    m.sinks = j.value("sinks", 4);
    m.window = j.value("window", 64);
    const auto& rows = j.at("scores");
    if (!rows.is_array() || static_cast<int>(rows.size()) != m.n_layers)
      return invalid_argument("head map '{}': scores must be {} rows", path, m.n_layers);
    for (const auto& r : rows) {
      if (!r.is_array() || static_cast<int>(r.size()) != m.n_kv_heads)
        return invalid_argument("head map '{}': each scores row must have {} values", path,
                                m.n_kv_heads);
      for (const auto& x : r) m.scores.push_back(x.get<double>());
    }
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument("head map '{}': {}", path, e.what());
  }
  if (m.n_layers <= 0 || m.n_kv_heads <= 0)
    return invalid_argument("head map '{}': n_layers and n_kv_heads must be positive", path);
  return m;
}

std::vector<bool> duo_retrieval_heads(const HeadMap& m, double ratio) {
  const size_t n = m.scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return m.scores[a] > m.scores[b]; });
  const size_t keep =
      std::min(n, static_cast<size_t>(std::ceil(ratio * static_cast<double>(n) - 1e-9)));
  std::vector<bool> out(n, false);
  for (size_t i = 0; i < keep; ++i) out[order[i]] = true;
  return out;
}

std::vector<int32_t> duo_streaming_evictions(std::span<const int32_t> held, int64_t seq_len,
                                             int sinks, int window) {
  std::vector<int32_t> out;
  for (int32_t p : held)
    if (p >= sinks && p < seq_len - window) out.push_back(p);
  return out;
}

}  // namespace lk::compress
