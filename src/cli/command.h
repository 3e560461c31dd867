// Subcommand registry of the `longkv` binary. Each src/cli/cmd_<name>.cpp defines one
// subcommand and registers it with LK_REGISTER_COMMAND; main.cpp dispatches on argv[1].
// Exit codes: 0 success, 1 runtime failure, 2 bad input (flags, files, requests).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace lk::cli {

using CommandFn = int (*)(int argc, char** argv);  // argv[0] is "longkv <name>"

struct Command {
  std::string name;
  std::string summary;
  CommandFn run;
};

bool register_command(Command command);
const std::vector<Command>& commands();

// Prints "longkv <cmd>: error: <message>" and returns the exit code for the status
// (2 for bad input — invalid argument, not found, corrupt, unsupported — 1 otherwise).
int report_error(const std::string& cmd, const Status& status);

}  // namespace lk::cli

#define LK_REGISTER_COMMAND(name, summary, fn) \
  static const bool LK_CONCAT(lk_cmd_registered_, __LINE__) = ::lk::cli::register_command({name, summary, fn})
