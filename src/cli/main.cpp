// longkv: one binary, subcommands registered by src/cli/cmd_*.cpp.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/command.h"

namespace {

void print_usage() {
  std::printf("longkv — serve long-context LLMs cheaply: analyze, run, serve, measure.\n\n");
  std::printf("usage: longkv <command> [options]   (longkv <command> --help for details)\n\n");
  std::printf("commands:\n");
  auto cmds = lk::cli::commands();
  std::sort(cmds.begin(), cmds.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (const auto& c : cmds) std::printf("  %-14s %s\n", c.name.c_str(), c.summary.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::printf("longkv 0.1.0\n");
    return 0;
  }
  const std::string name = argv[1];
  for (const auto& c : lk::cli::commands()) {
    if (c.name == name) {
      std::string prog = "longkv " + name;
      std::vector<char*> args(argv + 1, argv + argc);
      args[0] = prog.data();
      return c.run(static_cast<int>(args.size()), args.data());
    }
  }
  std::string valid;
  for (const auto& c : lk::cli::commands()) valid += (valid.empty() ? "" : ", ") + c.name;
  std::fprintf(stderr, "longkv: error: unknown command '%s' (valid: %s)\n", name.c_str(),
               valid.c_str());
  return 2;
}
