// Unicode normalization for tokenizers whose tokenizer.json asks for it (Qwen: NFC).
#pragma once

#include <string>
#include <string_view>

namespace lk::tok {

// NFC form of `text` (ICU). Text that is not valid UTF-8 is returned unchanged: HF
// tokenizers never sees such text, and byte-level BPE encodes its bytes as they are.
std::string nfc_normalize(std::string_view text);

}  // namespace lk::tok
