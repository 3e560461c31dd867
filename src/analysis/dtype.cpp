#include "analysis/dtype.h"

#include <utility>

namespace lk {

namespace {
// GGUF block formats carry one f16 scale per 32 elements (q8_0: 34 bytes / 32, q4_0: 18
// bytes / 32); k-quants per ggml's block layouts (q4_k: 144 bytes / 256, q6_k: 210 / 256).
const std::vector<std::pair<std::string, double>>& table() {
  static const std::vector<std::pair<std::string, double>> t = {
      {"f32", 32},   {"fp32", 32}, {"f16", 16},   {"fp16", 16},     {"bf16", 16},
      {"fp8", 8},    {"int8", 8},  {"q8_0", 8.5}, {"q6_k", 6.5625}, {"q4_k", 4.5},
      {"q4_0", 4.5}, {"int4", 4},  {"int2", 2},
  };
  return t;
}
}  // namespace

std::vector<std::string> dtype_names() {
  std::vector<std::string> n;
  for (const auto& [k, v] : table()) n.push_back(k);
  return n;
}

Result<double> dtype_bits(const std::string& name, const std::string& field) {
  for (const auto& [k, v] : table())
    if (k == name) return v;
  std::string valid;
  for (const auto& [k, v] : table()) valid += (valid.empty() ? "" : ", ") + k;
  return invalid_argument("{}: unknown dtype '{}' (valid: {})", field, name, valid);
}

}  // namespace lk
