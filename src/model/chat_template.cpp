#include "model/chat_template.h"

namespace lk {

namespace {

bool contains(const std::string& s, std::string_view what) {
  return s.find(what) != std::string::npos;
}

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Python str.strip() / lstrip() / rstrip() over ASCII whitespace, or over `chars`.
std::string strip(std::string_view s, std::string_view chars = {}, bool left = true,
                  bool right = true) {
  const auto drop = [&](char c) {
    return chars.empty() ? is_ws(c) : chars.find(c) != std::string_view::npos;
  };
  size_t b = 0, e = s.size();
  if (left)
    while (b < e && drop(s[b])) ++b;
  if (right)
    while (e > b && drop(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

Status check_roles(const std::vector<ChatMessage>& msgs) {
  for (size_t i = 0; i < msgs.size(); ++i) {
    const auto& r = msgs[i].role;
    if (r != "system" && r != "user" && r != "assistant")
      return invalid_argument("message {} has role '{}' (valid: system, user, assistant)", i, r);
  }
  return Status::ok();
}

// [INST] families: after an optional leading system message, roles must alternate
// user/assistant starting with user (the templates raise_exception otherwise).
Status check_alternating(const std::vector<ChatMessage>& msgs, size_t first) {
  for (size_t i = first; i < msgs.size(); ++i) {
    const bool want_user = (i - first) % 2 == 0;
    if ((msgs[i].role == "user") != want_user || msgs[i].role == "system")
      return invalid_argument(
          "conversation roles must alternate user/assistant/user/... (message {} is '{}')", i,
          msgs[i].role);
  }
  return Status::ok();
}

constexpr const char* kQwenDefaultSystem =
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

}  // namespace

const char* chat_family_name(ChatFamily f) {
  switch (f) {
    case ChatFamily::kLlama3:
      return "llama3";
    case ChatFamily::kChatml:
      return "chatml";
    case ChatFamily::kQwen3:
      return "qwen3";
    case ChatFamily::kMistral:
      return "mistral";
    case ChatFamily::kLlama2:
      return "llama2";
  }
  return "?";
}

Result<ChatTemplate> ChatTemplate::from_name(const std::string& name, std::string bos,
                                             std::string eos) {
  ChatTemplate t;
  t.bos_ = std::move(bos);
  t.eos_ = std::move(eos);
  if (name == "llama3")
    t.family_ = ChatFamily::kLlama3;
  else if (name == "chatml")
    t.family_ = ChatFamily::kChatml;
  else if (name == "qwen3")
    t.family_ = ChatFamily::kQwen3;
  else if (name == "mistral")
    t.family_ = ChatFamily::kMistral;
  else if (name == "llama2")
    t.family_ = ChatFamily::kLlama2;
  else
    return invalid_argument(
        "unknown chat template '{}' (valid: llama3, chatml, qwen3, mistral, "
        "llama2; or --raw for no template)",
        name);
  return t;
}

Result<ChatTemplate> ChatTemplate::detect(const std::string& jinja, std::string bos,
                                          std::string eos) {
  if (jinja.empty())
    return not_found(
        "the model has no chat template (tokenizer_config.json chat_template / "
        "GGUF tokenizer.chat_template); name one with --chat-template "
        "(llama3, chatml, qwen3, mistral, llama2) or use --raw");
  ChatTemplate t;
  t.bos_ = std::move(bos);
  t.eos_ = std::move(eos);
  if (contains(jinja, "<|start_header_id|>")) {
    if (contains(jinja, "Cutting Knowledge Date") || contains(jinja, "tools"))
      return unsupported(
          "this Llama 3.1+ chat template (tools, knowledge-date system header) is "
          "not supported; use --chat-template llama3 for the Llama 3 layout or "
          "--raw");
    t.family_ = ChatFamily::kLlama3;
    t.trim_content_ = contains(jinja, "| trim");
    t.bos_in_template_ = contains(jinja, "bos_token");
    t.always_gen_prompt_ = !contains(jinja, "add_generation_prompt");
  } else if (contains(jinja, "<|im_start|>")) {
    t.family_ = (contains(jinja, "<think>") || contains(jinja, "reasoning_content"))
                    ? ChatFamily::kQwen3
                    : ChatFamily::kChatml;
    if (t.family_ == ChatFamily::kChatml && contains(jinja, kQwenDefaultSystem))
      t.default_system_ = kQwenDefaultSystem;
  } else if (contains(jinja, "<<SYS>>")) {
    t.family_ = ChatFamily::kLlama2;
  } else if (contains(jinja, "[INST]")) {
    t.family_ = ChatFamily::kMistral;
  } else {
    return unsupported(
        "unrecognised chat template (known families: llama3 <|start_header_id|>, "
        "chatml/qwen <|im_start|>, mistral [INST], llama2 <<SYS>>); use --raw to "
        "send the prompt untemplated or --chat-template NAME");
  }
  return t;
}

Result<std::string> ChatTemplate::render(const std::vector<ChatMessage>& msgs,
                                         bool add_generation_prompt) const {
  LK_RETURN_IF_ERROR(check_roles(msgs));
  std::string out;
  switch (family_) {
    case ChatFamily::kLlama3: {
      for (size_t i = 0; i < msgs.size(); ++i) {
        if (i == 0 && bos_in_template_) out += bos_;
        out += "<|start_header_id|>" + msgs[i].role + "<|end_header_id|>\n\n";
        out += trim_content_ ? strip(msgs[i].content) : msgs[i].content;
        out += "<|eot_id|>";
      }
      if (add_generation_prompt || always_gen_prompt_)
        out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      break;
    }
    case ChatFamily::kChatml: {
      if (!default_system_.empty() && (msgs.empty() || msgs[0].role != "system"))
        out += "<|im_start|>system\n" + default_system_ + "<|im_end|>\n";
      for (const auto& m : msgs) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      break;
    }
    case ChatFamily::kQwen3: {
      if (msgs.empty())
        return invalid_argument("the qwen3 chat template needs at least one message");
      // Index of the last user query: assistant turns after it keep their reasoning.
      size_t last_query = msgs.size() - 1;
      for (size_t k = msgs.size(); k-- > 0;)
        if (msgs[k].role == "user") {
          last_query = k;
          break;
        }
      for (size_t i = 0; i < msgs.size(); ++i) {
        const auto& m = msgs[i];
        if (m.role == "user" || m.role == "system") {
          out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
          continue;
        }
        std::string content = m.content, reasoning;
        const size_t close = m.content.find("</think>");
        if (close != std::string::npos) {
          content = strip(m.content.substr(m.content.rfind("</think>") + 8), "\n", true, false);
          std::string before = strip(m.content.substr(0, close), "\n", false, true);
          const size_t open = before.rfind("<think>");
          if (open != std::string::npos) before = before.substr(open + 7);
          reasoning = strip(before, "\n", true, false);
        }
        const bool last = i + 1 == msgs.size();
        if (i > last_query && (last || !reasoning.empty()))
          out += "<|im_start|>assistant\n<think>\n" + strip(reasoning, "\n") + "\n</think>\n\n" +
                 strip(content, "\n", true, false);
        else
          out += "<|im_start|>assistant\n" + content;
        out += "<|im_end|>\n";
      }
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      break;
    }
    case ChatFamily::kMistral: {
      // Mistral-7B-Instruct v0.1/v0.2: no system role in the template.
      if (!msgs.empty() && msgs[0].role == "system")
        return invalid_argument(
            "the mistral chat template has no system role (its Jinja raises); "
            "put the instructions in the first user message");
      LK_RETURN_IF_ERROR(check_alternating(msgs, 0));
      out += bos_;
      for (const auto& m : msgs) {
        if (m.role == "user")
          out += "[INST] " + m.content + " [/INST]";
        else
          out += m.content + eos_;
      }
      break;
    }
    case ChatFamily::kLlama2: {
      size_t first = 0;
      std::string system;
      if (!msgs.empty() && msgs[0].role == "system") {
        system = msgs[0].content;
        first = 1;
      }
      LK_RETURN_IF_ERROR(check_alternating(msgs, first));
      for (size_t i = first; i < msgs.size(); ++i) {
        std::string content = msgs[i].content;
        if (i == first && first == 1) content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content;
        if (msgs[i].role == "user")
          out += bos_ + "[INST] " + strip(content) + " [/INST]";
        else
          out += " " + strip(content) + " " + eos_;
      }
      break;
    }
  }
  return out;
}

}  // namespace lk
