// Task specs: the strings users pass to --tasks. A spec is a generator family with optional
// parameters, `family[:key=value[:key=value...]]` (values may hold commas, e.g.
// `niah_single:depths=0,0.5,1`), or the path of a user JSONL file (ends with .jsonl).
// A --tasks list separates specs with commas; a comma-separated piece starts a new spec only
// when it names a family or a .jsonl file, so parameter lists survive the split.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace lk::eval {

struct TaskSpec {
  std::string family;                         // generator family, or "jsonl"
  std::map<std::string, std::string> params;  // generator parameters (validated)
  std::string path;                           // jsonl: the file
  std::string label;                          // row label: canonical spec or file stem
  bool is_file() const { return family == "jsonl"; }
};

// Families and their parameters, for help texts and errors.
const std::vector<std::string>& task_family_names();
// "passkey, niah_single, ..." for error messages.
std::string task_family_list();

// Splits a --tasks value into spec strings (see the header comment).
std::vector<std::string> split_task_list(const std::string& list);

// Parses and validates one spec (unknown family / parameter / bad value: kInvalidArgument
// naming the valid choices). The label is canonical: parameters in sorted order.
Result<TaskSpec> parse_task_spec(const std::string& spec);

}  // namespace lk::eval
