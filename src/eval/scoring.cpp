#include "eval/scoring.h"

namespace lk::eval {

namespace {
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_strip(char c) {
  return c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?' || c == '"' ||
         c == '\'' || c == '`';
}
}  // namespace

std::string normalize_answer(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (char c : s) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  // Strip sentence punctuation and quotes at both ends (and spaces they uncover).
  size_t b = 0, e = out.size();
  while (b < e && (is_strip(out[b]) || out[b] == ' ')) ++b;
  while (e > b && (is_strip(out[e - 1]) || out[e - 1] == ' ')) --e;
  return out.substr(b, e - b);
}

double score_prediction(ScoreMode mode, std::string_view prediction,
                        const std::vector<std::string>& answers) {
  if (answers.empty()) return 0.0;
  const std::string p = normalize_answer(prediction);
  switch (mode) {
    case ScoreMode::kExact:
      for (const auto& a : answers)
        if (p == normalize_answer(a)) return 1.0;
      return 0.0;
    case ScoreMode::kContains:
      for (const auto& a : answers) {
        std::string na = normalize_answer(a);
        if (!na.empty() && p.find(na) != std::string::npos) return 1.0;
      }
      return 0.0;
    case ScoreMode::kAll: {
      int hit = 0;
      for (const auto& a : answers) {
        std::string na = normalize_answer(a);
        if (!na.empty() && p.find(na) != std::string::npos) ++hit;
      }
      return static_cast<double>(hit) / static_cast<double>(answers.size());
    }
  }
  return 0.0;
}

}  // namespace lk::eval
