// The bridge from `longkv eval` to longkv's own inference engine and tokenizer. Until the
// engine's generate API and the tokenizer are in this build, both functions fail with a
// clear kUnsupported message: eval never fakes a model.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "eval/model_runner.h"
#include "eval/token_counter.h"

namespace lk::eval {

struct BackendOptions {
  int threads = 0;  // 0: all hardware threads
};

// A ModelRunner over the model file at `path` (GGUF or safetensors directory).
Result<std::unique_ptr<ModelRunner>> open_model_runner(const std::string& path,
                                                       const BackendOptions& opt);

// The tokenizer of the model at `path`, as a TokenCounter (for --export-tasks).
Result<std::unique_ptr<TokenCounter>> open_token_counter(const std::string& path);

}  // namespace lk::eval
