#include "model/tokenizer/loaders.h"

namespace lk {
Result<TokenizerData> read_gguf_tokenizer(const std::string& path) {
  return unsupported("{}: GGUF tokenizer loading is not implemented yet", path);
}
}  // namespace lk
