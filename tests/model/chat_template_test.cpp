// Chat templates rendered by longkv against transformers' apply_chat_template (real Jinja),
// from the committed fixture data/chat_template_ref.json (tools/chat_template_fixtures.py).
#include "model/chat_template.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"

namespace lk {
namespace {

using json = nlohmann::json;

json load_fixture() {
  std::ifstream f(test::source_dir() / "tests/model/data/chat_template_ref.json");
  std::stringstream ss;
  ss << f.rdbuf();
  return json::parse(ss.str());
}

TEST(ChatTemplate, MatchesTransformersApplyChatTemplate) {
  const json fx = load_fixture();
  ASSERT_GE(fx["templates"].size(), 7u);
  int compared = 0, errors = 0;
  for (const auto& t : fx["templates"]) {
    const std::string name = t["name"];
    auto tmpl = ChatTemplate::detect(t["template"], t["bos"], t["eos"]);
    ASSERT_TRUE(tmpl.is_ok()) << name << ": " << tmpl.status().to_string();
    for (const auto& c : t["cases"]) {
      std::vector<ChatMessage> msgs;
      for (const auto& m : c["messages"]) msgs.push_back({m["role"], m["content"]});
      const bool gen = c["add_generation_prompt"];
      auto got = tmpl->render(msgs, gen);
      if (c.contains("error")) {
        EXPECT_FALSE(got.is_ok()) << name << ": Jinja raised '" << c["error"]
                                  << "' but longkv rendered";
        ++errors;
        continue;
      }
      ASSERT_TRUE(got.is_ok()) << name << ": " << got.status().to_string();
      EXPECT_EQ(got.value(), c["text"].get<std::string>())
          << name << " (" << chat_family_name(tmpl->family()) << "), gen=" << gen
          << ", messages: " << c["messages"].dump();
      ++compared;
    }
  }
  EXPECT_GE(compared, 80);
  EXPECT_GE(errors, 4);
}

TEST(ChatTemplate, DetectsFamiliesByMarkers) {
  const auto fam = [](const std::string& j) {
    auto t = ChatTemplate::detect(j, "<s>", "</s>");
    return t.is_ok() ? std::string(chat_family_name(t->family())) : t.status().to_string();
  };
  EXPECT_EQ(fam("{{ '<|start_header_id|>' }}{% if add_generation_prompt %}{% endif %}"), "llama3");
  EXPECT_EQ(fam("{{'<|im_start|>' + m}}"), "chatml");
  EXPECT_EQ(fam("{{'<|im_start|>'}}<think>"), "qwen3");
  EXPECT_EQ(fam("[INST] {{ m }} [/INST]"), "mistral");
  EXPECT_EQ(fam("[INST] <<SYS>>"), "llama2");
}

TEST(ChatTemplate, UnknownTemplateSuggestsRaw) {
  auto t = ChatTemplate::detect("{% for m in messages %}<turn>{{ m.content }}{% endfor %}", "", "");
  ASSERT_FALSE(t.is_ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(t.status().message().find("--raw"), std::string::npos);
  auto none = ChatTemplate::detect("", "", "");
  ASSERT_FALSE(none.is_ok());
  EXPECT_NE(none.status().message().find("--raw"), std::string::npos);
  auto bad = ChatTemplate::from_name("vicuna", "", "");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("valid: llama3"), std::string::npos);
}

TEST(ChatTemplate, RejectsUnknownRoles) {
  auto t = ChatTemplate::from_name("chatml", "", "");
  ASSERT_TRUE(t.is_ok());
  auto r = t->render({{"robot", "x"}}, true);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("valid: system, user, assistant"), std::string::npos);
}

}  // namespace
}  // namespace lk
