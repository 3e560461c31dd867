// Turns one user prompt (and an optional system message) into the text a chat model expects,
// with the model's own template (detected from its tokenizer) or a named one. Shared by
// `longkv run --chat` and `longkv tokenize --chat`.
#pragma once

#include <string>

#include "core/status.h"
#include "model/tokenizer/tokenizer.h"

namespace lk {

// template_name empty: detect the family from the tokenizer's chat_template. The rendered text
// carries BOS itself where the model wants one, so encode it without add_bos.
Result<std::string> render_chat_prompt(const Tokenizer& tok, const std::string& template_name,
                                       const std::string& system, const std::string& user);

}  // namespace lk
