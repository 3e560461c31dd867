// Fuzz target: HF tokenizer.json parsing (any bytes) and, when a tokenizer loads, encoding
// and decoding. Must never crash or trip a sanitizer; bad input is a Status. Ids produced
// are checked to lie inside the vocabulary.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/check.h"
#include "model/tokenizer/loaders.h"
#include "model/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto parsed = lk::parse_hf_tokenizer_json(bytes, "fuzz.json");
  if (!parsed) return 0;
  auto tok = lk::Tokenizer::create(std::move(parsed).value());
  if (!tok) return 0;
  const lk::Tokenizer& t = *tok.value();
  // Text: a fixed mix, then the tail of the input itself (random bytes, often invalid UTF-8).
  const std::string texts[] = {"Hello world  12345 café 你好 🤗\n\t<|end|><s>",
                               std::string(bytes.substr(size > 64 ? size - 64 : 0))};
  for (const auto& text : texts) {
    for (bool special : {true, false}) {
      const auto ids = t.encode(text, lk::EncodeOptions{true, special});
      for (int32_t id : ids) LK_CHECK_MSG(id >= 0 && id < t.vocab_size(), "id {}", id);
      (void)t.decode(ids, special);
    }
  }
  return 0;
}
