#include "cli/command.h"

#include <cstdio>

namespace lk::cli {

namespace {
std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}
}  // namespace

bool register_command(Command command) {
  registry().push_back(std::move(command));
  return true;
}

const std::vector<Command>& commands() { return registry(); }

int report_error(const std::string& cmd, const Status& status) {
  std::fprintf(stderr, "longkv %s: error: %s\n", cmd.c_str(), status.to_string().c_str());
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kCorrupt:
    case StatusCode::kUnsupported:
    case StatusCode::kOutOfMemory:
      return 2;
    default:
      return 1;
  }
}

}  // namespace lk::cli
