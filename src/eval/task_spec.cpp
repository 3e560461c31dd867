#include "eval/task_spec.h"

#include <filesystem>
#include <set>

#include "eval/generators.h"

namespace lk::eval {

namespace {

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

bool starts_new_spec(const std::string& piece) {
  if (ends_with(piece, ".jsonl")) return true;
  std::string head = piece.substr(0, piece.find(':'));
  for (const auto& f : task_family_names())
    if (head == f) return true;
  return false;
}

}  // namespace

const std::vector<std::string>& task_family_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& g : generator_families()) v.push_back(g.name);
    return v;
  }();
  return names;
}

std::string task_family_list() {
  std::string s;
  for (const auto& f : task_family_names()) s += (s.empty() ? "" : ", ") + f;
  return s + ", or a file ending in .jsonl";
}

std::vector<std::string> split_task_list(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string piece =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (out.empty() || starts_new_spec(piece)) {
      out.push_back(piece);
    } else {
      out.back() += "," + piece;
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  // Drop empty specs from stray commas ("a,,b" or a trailing comma).
  std::vector<std::string> clean;
  for (auto& s : out)
    if (!s.empty()) clean.push_back(std::move(s));
  return clean;
}

Result<TaskSpec> parse_task_spec(const std::string& spec) {
  TaskSpec t;
  if (spec.empty()) return invalid_argument("empty task spec (valid: {})", task_family_list());
  if (ends_with(spec, ".jsonl")) {
    t.family = "jsonl";
    t.path = spec;
    t.label = std::filesystem::path(spec).stem().string();
    return t;
  }
  // family[:k=v[:k=v...]]
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t colon = spec.find(':', start);
    parts.push_back(
        spec.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  const GeneratorFamily* fam = find_generator_family(parts[0]);
  if (!fam)
    return invalid_argument("unknown task family '{}' (valid: {})", parts[0], task_family_list());
  t.family = fam->name;
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& kv = parts[i];
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return invalid_argument("task '{}': parameter '{}' is not key=value", spec, kv);
    std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
    bool known = false;
    std::string valid;
    for (const auto& p : fam->params) {
      valid += (valid.empty() ? "" : ", ") + p.name;
      if (p.name == key) known = true;
    }
    if (!known)
      return invalid_argument("task '{}': unknown parameter '{}' for {} (valid: {})", spec, key,
                              fam->name, valid.empty() ? "none" : valid);
    if (t.params.count(key))
      return invalid_argument("task '{}': parameter '{}' given twice", spec, key);
    t.params[key] = value;
  }
  LK_RETURN_IF_ERROR(validate_generator_params(*fam, t.params).with_context("task '" + spec + "'"));
  t.label = fam->name;
  for (const auto& [k, v] : t.params) t.label += ":" + k + "=" + v;
  return t;
}

}  // namespace lk::eval
