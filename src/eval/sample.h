// One evaluation sample: a context (the long document) and one or more rounds of
// question / acceptable answers, asked in order over the same context (a session). Both the
// seeded generators and user JSONL files produce these; the runner only sees samples.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lk::eval {

// How a prediction is compared with the acceptable answers (after normalisation, see
// scoring.h). kExact: equals one answer. kContains: contains one answer. kAll: the
// fraction of answers it contains (partial credit, RULER's multi-value/-query scoring).
enum class ScoreMode { kExact, kContains, kAll };

const char* score_mode_name(ScoreMode m);
bool score_mode_from_name(const std::string& s, ScoreMode* out);

struct EvalRound {
  std::string question;
  std::vector<std::string> answers;  // acceptable answers (kAll: all required)
  std::string answer_prefix;         // text the prompt ends with, e.g. "Answer:"
  int max_new_tokens = 32;           // greedy decode budget for this round
};

struct EvalSample {
  std::string task;    // row label: generator spec or JSONL file stem
  std::string id;      // stable id ("niah_single/4096/3" or the JSONL id)
  int64_t length = 0;  // requested length in tokens (generators); 0 for user files
  int64_t index = 0;   // position within its (task, length) cell
  double depth = -1;   // needle depth in [0, 1] for needle tasks, -1 otherwise
  ScoreMode score_mode = ScoreMode::kContains;
  std::string context;
  std::vector<EvalRound> rounds;  // at least one
};

// The prompt format (documented in docs/eval.md). Round r's text fed to the model is
// round_text(sample, r); the model's answer for round r is appended to the sequence before
// round r + 1, so later rounds see the whole session.
//   round 0: context + "\n\n" + question + "\n" + answer_prefix
//   round r: "\n\n" + question + "\n" + answer_prefix
std::string round_text(const EvalSample& s, size_t round);

}  // namespace lk::eval
