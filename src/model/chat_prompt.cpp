#include "model/chat_prompt.h"

#include <vector>

#include "model/chat_template.h"

namespace lk {

Result<std::string> render_chat_prompt(const Tokenizer& tok, const std::string& template_name,
                                       const std::string& system, const std::string& user) {
  const auto name = [&](int32_t id) { return id >= 0 ? tok.token_text(id) : std::string(); };
  auto tmpl = template_name.empty() ? ChatTemplate::detect(tok.data().chat_template,
                                                           name(tok.bos_id()), name(tok.eos_id()))
                                    : ChatTemplate::from_name(template_name, name(tok.bos_id()),
                                                              name(tok.eos_id()));
  if (!tmpl) return tmpl.status();
  std::vector<ChatMessage> msgs;
  if (!system.empty()) msgs.push_back({"system", system});
  msgs.push_back({"user", user});
  return tmpl->render(msgs, /*add_generation_prompt=*/true);
}

}  // namespace lk
