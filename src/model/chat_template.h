// Chat templates: turns a conversation into the prompt text a chat model was trained on.
// longkv does not run Jinja; it recognises the common template families by their markers
// and renders them the way the Jinja template does (verified against transformers'
// apply_chat_template, tests/python/test_chat_template.py):
//   llama3   <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>
//   chatml   <|im_start|>role\ncontent<|im_end|>\n (Qwen2/2.5; Qwen3 adds <think> handling)
//   mistral  [INST] user [/INST] assistant</s>
//   llama2   [INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST]
// An unrecognised template is an error that names the escape hatch (--raw: no template).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace lk {

struct ChatMessage {
  std::string role;  // system | user | assistant
  std::string content;
};

enum class ChatFamily { kLlama3, kChatml, kQwen3, kMistral, kLlama2 };

const char* chat_family_name(ChatFamily f);

class ChatTemplate {
 public:
  // Recognises `jinja` (tokenizer_config.json chat_template or GGUF tokenizer.chat_template).
  // bos/eos are the texts of the BOS/EOS tokens ("<s>", "<|begin_of_text|>"), "" if none.
  static Result<ChatTemplate> detect(const std::string& jinja, std::string bos, std::string eos);
  // A family by name ("llama3", "chatml", "qwen3", "mistral", "llama2"), for --chat-template.
  static Result<ChatTemplate> from_name(const std::string& name, std::string bos, std::string eos);

  // The prompt text; special tokens appear as text (encode with parse_special, no extra BOS).
  // Errors (kInvalidArgument) on roles or orders the family does not allow.
  Result<std::string> render(const std::vector<ChatMessage>& messages,
                             bool add_generation_prompt) const;

  ChatFamily family() const { return family_; }

 private:
  ChatFamily family_ = ChatFamily::kChatml;
  std::string bos_, eos_;
  // Variants seen in real templates of one family.
  bool trim_content_ = true;        // llama3: message['content'] | trim
  bool bos_in_template_ = true;     // llama3 / mistral / llama2 write bos_token themselves
  bool always_gen_prompt_ = false;  // llama3 base template appends the header unconditionally
  std::string default_system_;      // chatml (Qwen2.5): system message used when none is given
};

}  // namespace lk
