// load_tokenizer: picks the reader by what the path is (folder, JSON, GGUF magic, or
// llama2.c's headerless tokenizer.bin).
#include <cstring>
#include <filesystem>
#include <fstream>

#include "model/tokenizer/loaders.h"
#include "model/tokenizer/tokenizer.h"

namespace lk {

namespace fs = std::filesystem;

Result<std::shared_ptr<const Tokenizer>> load_tokenizer(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    return not_found(
        "tokenizer '{}' does not exist (give a .gguf, tokenizer.json, an HF "
        "model folder, or a llama2.c tokenizer.bin)",
        path);
  Result<TokenizerData> data = Status();
  if (fs::is_directory(path, ec)) {
    data = read_hf_tokenizer(path);
  } else {
    char magic[4] = {};
    std::ifstream f(path, std::ios::binary);
    if (!f) return io_error("cannot open tokenizer '{}'", path);
    f.read(magic, 4);
    if (f.gcount() == 4 && std::memcmp(magic, "GGUF", 4) == 0) {
      data = read_gguf_tokenizer(path);
    } else if (path.ends_with(".json") || (f.gcount() >= 1 && magic[0] == '{')) {
      data = read_hf_tokenizer(path);
    } else {
      data = read_llama2c_tokenizer(path);
    }
  }
  if (!data) return data.status();
  auto tok = Tokenizer::create(std::move(data).value());
  if (!tok) return tok.status().with_context(path);
  return tok;
}

}  // namespace lk
