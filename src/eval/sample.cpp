#include "eval/sample.h"

namespace lk::eval {

const char* score_mode_name(ScoreMode m) {
  switch (m) {
    case ScoreMode::kExact:
      return "exact";
    case ScoreMode::kContains:
      return "contains";
    case ScoreMode::kAll:
      return "all";
  }
  return "?";
}

bool score_mode_from_name(const std::string& s, ScoreMode* out) {
  if (s == "exact")
    *out = ScoreMode::kExact;
  else if (s == "contains")
    *out = ScoreMode::kContains;
  else if (s == "all")
    *out = ScoreMode::kAll;
  else
    return false;
  return true;
}

std::string round_text(const EvalSample& s, size_t round) {
  const EvalRound& r = s.rounds[round];
  std::string head = round == 0 ? s.context + "\n\n" : std::string("\n\n");
  return head + r.question + "\n" + r.answer_prefix;
}

}  // namespace lk::eval
