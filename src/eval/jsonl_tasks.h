// User tasks in JSONL (docs/eval.md, "Bring your own tasks"): one JSON object per line,
//   {"id": "q1", "context": "...", "question": "...", "answer": "Paris" | ["Paris", "paris,
//   france"]}
// or the multi-round form over one context,
//   {"context": "...", "rounds": [{"question": "...", "answer": ...}, ...]}
// Optional per line: "score" ("exact" | "contains" | "all", default contains),
// "answer_prefix" (default "Answer:"; also per round), "max_new_tokens" (default 32; also
// per round). Unknown fields are ignored, blank lines skipped. A malformed line is reported
// with its line number and skipped; the other lines still load.
// The same format is what `longkv eval --export-tasks` writes, so exports load back.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "eval/sample.h"

namespace lk::eval {

struct JsonlLineError {
  int64_t line = 0;  // 1-based
  std::string message;
};

struct JsonlTasks {
  std::vector<EvalSample> samples;
  std::vector<JsonlLineError> errors;
};

// Parses file contents; `label` becomes each sample's task. Never fails as a whole: bad
// lines land in errors.
JsonlTasks parse_task_jsonl(std::string_view content, const std::string& label);

// Reads and parses a file (kNotFound / kIoError when it cannot be read).
Result<JsonlTasks> load_task_jsonl(const std::string& path, const std::string& label);

// One line (no newline) in the format above, with id, task, length, index, depth, score,
// context and rounds (answer always a list).
std::string sample_to_jsonl(const EvalSample& s);

}  // namespace lk::eval
