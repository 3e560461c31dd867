#include "eval/kv_methods.h"

#include "core/check.h"

namespace lk::eval {

namespace {
std::vector<KvMethodInfo>& registry() {
  static std::vector<KvMethodInfo> r = {
      {kFullMethod, "no compression: every token of every layer and head kept in full precision"}};
  return r;
}
}  // namespace

bool register_kv_method(KvMethodInfo info) {
  LK_CHECK(!info.name.empty());
  for (const auto& m : registry())
    LK_CHECK_MSG(m.name != info.name, "kv method '{}' registered twice", info.name);
  registry().push_back(std::move(info));
  return true;
}

const std::vector<KvMethodInfo>& kv_methods() {
  return registry();
}

std::string kv_method_list() {
  std::string s;
  for (const auto& m : registry()) s += (s.empty() ? "" : ", ") + m.name;
  return s;
}

std::vector<std::string> split_method_list(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t comma = list.find(',', start);
    std::string piece =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    bool continues =
        !out.empty() && !piece.empty() && ((piece[0] >= '0' && piece[0] <= '9') || piece[0] == '.');
    if (continues)
      out.back() += "," + piece;
    else if (!piece.empty())
      out.push_back(piece);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string kv_method_name(const std::string& spec) {
  return spec.substr(0, spec.find(':'));
}

Status check_kv_method(const std::string& spec) {
  const std::string name = kv_method_name(spec);
  for (const auto& m : registry())
    if (m.name == name) return Status::ok();
  return invalid_argument("unknown KV method '{}' (valid: {})", name, kv_method_list());
}

}  // namespace lk::eval
