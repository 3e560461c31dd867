// The bridge from `longkv eval` to longkv's own inference engine and tokenizer: a
// ModelRunner over engine/forward.h (chunked prefill, greedy argmax decode that continues one
// sequence across rounds) with the contiguous KV cache, whose bytes_used() is the peak-KV
// accounting. Models this build's engine cannot load are refused with a clear message:
// eval never fakes a model.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "eval/model_runner.h"
#include "eval/token_counter.h"

namespace lk::eval {

struct BackendOptions {
  std::string tokenizer;  // tokenizer file; empty: the model's own (GGUF / HF directory)
};

// A ModelRunner over the model at `path`: a GGUF file, a Hugging Face directory
// (config.json + safetensors) or a llama2.c checkpoint (engine/model_loader.h).
Result<std::unique_ptr<ModelRunner>> open_model_runner(const std::string& path,
                                                       const BackendOptions& opt);

// The tokenizer of the model at `path`, as a TokenCounter (for --export-tasks).
Result<std::unique_ptr<TokenCounter>> open_token_counter(const std::string& path,
                                                         const std::string& tokenizer);

}  // namespace lk::eval
