// Seeded task generators in the RULER family (docs/eval.md lists every template and the
// seed derivation). Deterministic: the same (seed, spec, length, index) gives the same
// sample byte for byte, whatever the method under test, so every method sees the same
// tasks. Lengths are in tokens of the TokenCounter given (the model's tokenizer): the
// haystack is filled so that the first round's prompt is as long as possible without
// exceeding the requested length.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "eval/sample.h"
#include "eval/task_spec.h"
#include "eval/token_counter.h"

namespace lk::eval {

struct GeneratorParam {
  std::string name;
  std::string default_value;
  std::string help;
};

struct GeneratorFamily {
  std::string name;
  std::string summary;
  std::vector<GeneratorParam> params;
  bool has_depth = false;  // samples carry a needle depth (heatmap rows)
};

const std::vector<GeneratorFamily>& generator_families();
const GeneratorFamily* find_generator_family(const std::string& name);
Status validate_generator_params(const GeneratorFamily& fam,
                                 const std::map<std::string, std::string>& params);

// The namespace string mixed into every evaluation seed. Training data generators must use
// a different namespace (and different templates) so eval tasks never leak into training.
inline constexpr const char* kEvalSeedNamespace = "longkv-eval-v1";

struct GenerateOptions {
  uint64_t seed = 0;
  int64_t length = 4096;  // tokens of the first round's prompt (upper bound)
  int64_t index = 0;      // sample index within the (task, length) cell
  const TokenCounter* counter = nullptr;
};

// One sample of a generator spec (spec.is_file() must be false). Fails with
// kInvalidArgument when the length cannot hold the task even without filler.
Result<EvalSample> generate_sample(const TaskSpec& spec, const GenerateOptions& opt);

// The sample seed: mix of kEvalSeedNamespace, seed, spec label, length, index.
uint64_t sample_seed(uint64_t seed, const std::string& label, int64_t length, int64_t index);

}  // namespace lk::eval
