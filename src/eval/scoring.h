// Scoring of predictions (docs/eval.md, "Scoring"). Both prediction and answers are
// normalised first: Unicode-agnostic ASCII case folding, every run of whitespace collapsed to
// one space, leading/trailing whitespace and trailing sentence punctuation (. , ; : ! ?)
// and surrounding quotes removed. Then the sample's ScoreMode decides (sample.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "eval/sample.h"

namespace lk::eval {

std::string normalize_answer(std::string_view s);

// Score in [0, 1]: 0/1 for kExact and kContains, a fraction for kAll.
double score_prediction(ScoreMode mode, std::string_view prediction,
                        const std::vector<std::string>& answers);

}  // namespace lk::eval
