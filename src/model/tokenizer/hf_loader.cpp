#include "model/tokenizer/loaders.h"

namespace lk {
Result<TokenizerData> read_hf_tokenizer(const std::string& path_or_dir) {
  return unsupported("{}: tokenizer.json loading is not implemented yet", path_or_dir);
}
}  // namespace lk
