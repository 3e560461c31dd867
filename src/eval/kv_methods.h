// The KV methods `longkv eval --kv` accepts. `full` (the uncompressed cache) is always
// registered; compression methods register themselves here as they land (the compression
// work fills this registry; eval never invents a method). A method spec is
// `name[:key=value...]`; the parameters are the method's own business.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace lk::eval {

struct KvMethodInfo {
  std::string name;
  std::string summary;
};

inline constexpr const char* kFullMethod = "full";

// Adds a method (name must be new and non-empty). Returns true so it can initialise a static.
bool register_kv_method(KvMethodInfo info);
const std::vector<KvMethodInfo>& kv_methods();
// "full, ..." for messages.
std::string kv_method_list();

// Splits a --kv value on commas; a piece starting with a digit or '.' continues the previous
// method's parameter list (`snapkv:budget=0.25,full` is two methods).
std::vector<std::string> split_method_list(const std::string& list);
// The name part of a spec ("snapkv:budget=0.25" -> "snapkv").
std::string kv_method_name(const std::string& spec);
// kInvalidArgument naming the valid methods when the name is not registered.
Status check_kv_method(const std::string& spec);

}  // namespace lk::eval
