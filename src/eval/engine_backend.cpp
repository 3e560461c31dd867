#include "eval/engine_backend.h"

#include <filesystem>

namespace lk::eval {

namespace {
Status check_model_path(const std::string& path) {
  if (path.empty())
    return invalid_argument("-m MODEL is required (a GGUF file or a safetensors directory)");
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return not_found("model '{}' does not exist", path);
  return Status::ok();
}
}  // namespace

Result<std::unique_ptr<ModelRunner>> open_model_runner(const std::string& path,
                                                       const BackendOptions&) {
  LK_RETURN_IF_ERROR(check_model_path(path));
  return Status(StatusCode::kUnavailable,
                "no inference engine is available in this build of longkv (the engine's generate "
                "API has not landed yet), so nothing was evaluated; `longkv eval --export-tasks "
                "FILE --token-counter approx` works without one");
}

Result<std::unique_ptr<TokenCounter>> open_token_counter(const std::string& path) {
  LK_RETURN_IF_ERROR(check_model_path(path));
  return Status(StatusCode::kUnavailable,
                "no tokenizer is available in this build of longkv yet; pass --token-counter "
                "approx to measure lengths with the approximate counter (docs/eval.md)");
}

}  // namespace lk::eval
