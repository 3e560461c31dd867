// longkv tokenize: shows how a model's tokenizer splits a prompt (ids and pieces), with the
// chat template applied on request.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/command.h"
#include "model/chat_prompt.h"
#include "model/tokenizer/tokenizer.h"

namespace lk::cli {
namespace {

// Piece bytes made printable: control characters and invalid UTF-8 escaped.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\\')
      out += "\\\\";
    else if (c < 0x20 || c == 0x7F)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  return out;
}

int run_batch(const Tokenizer& t, const std::string& path, const EncodeOptions& opts) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return report_error("tokenize", not_found("cannot open --batch '{}'", path));
  std::string line;
  for (int n = 1; std::getline(f, line); ++n) {
    std::string text;
    try {
      text = nlohmann::json::parse(line).get<std::string>();
    } catch (const nlohmann::json::exception& e) {
      return report_error(
          "tokenize", invalid_argument("--batch {}:{}: not a JSON string: {}", path, n, e.what()));
    }
    const auto ids = t.encode(text, opts);
    std::string out;
    for (size_t i = 0; i < ids.size(); ++i) out += (i ? " " : "") + std::to_string(ids[i]);
    std::printf("%s\n", out.c_str());
  }
  return 0;
}

int run_tokenize(int argc, char** argv) {
  CLI::App app{"Tokenize a prompt with a model's tokenizer and print ids and pieces"};
  std::string model, prompt, prompt_file, system, template_name;
  bool ids_only = false, no_bos = false, chat = false, raw = false, no_special = false;
  app.add_option("-m,--model", model,
                 "model.gguf, tokenizer.json, an HF model folder, or a llama2.c tokenizer.bin")
      ->required();
  app.add_option("-p,--prompt", prompt, "text to tokenize");
  app.add_option("-f,--file", prompt_file, "read the text from a file");
  app.add_flag("--ids-only", ids_only, "print only the ids, space separated");
  app.add_flag("--no-bos", no_bos, "do not prepend BOS");
  app.add_flag("--no-special", no_special,
               "treat special-token text such as <|eot_id|> as plain text (untrusted input)");
  app.add_flag("--chat", chat, "wrap the prompt as one user turn with the model's chat template");
  app.add_option("--system", system, "system message for --chat");
  app.add_option("--chat-template", template_name,
                 "template family instead of the model's (llama3, chatml, qwen3, mistral, llama2)");
  app.add_flag("--raw", raw, "no chat template (overrides --chat)");
  std::string batch;
  app.add_option("--batch", batch,
                 "tokenize many texts: each line of this file is a JSON string; prints one line "
                 "of ids per input (for scripts and cross-checks)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (app.count("--prompt") + app.count("--file") + app.count("--batch") != 1)
    return report_error("tokenize",
                        invalid_argument("give exactly one of -p TEXT, -f FILE or --batch FILE"));
  if (!prompt_file.empty()) {
    std::ifstream f(prompt_file, std::ios::binary);
    if (!f) return report_error("tokenize", not_found("cannot open --file '{}'", prompt_file));
    std::stringstream ss;
    ss << f.rdbuf();
    prompt = ss.str();
  }
  auto tok = load_tokenizer(model);
  if (!tok) return report_error("tokenize", tok.status());
  const Tokenizer& t = *tok.value();
  if (!batch.empty()) return run_batch(t, batch, EncodeOptions{!no_bos, !no_special});

  std::string text = prompt;
  bool add_bos = !no_bos;
  if (chat && !raw) {
    auto rendered = render_chat_prompt(t, template_name, system, prompt);
    if (!rendered) return report_error("tokenize", rendered.status());
    text = rendered.value();
    add_bos = false;  // the template writes BOS itself where the model wants one
  }
  const auto ids = t.encode(text, EncodeOptions{add_bos, !no_special});
  if (ids_only) {
    for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
    std::printf("\n");
    return 0;
  }
  std::printf("# %s\n# %zu tokens\n", t.describe().c_str(), ids.size());
  for (int32_t id : ids)
    std::printf("%8d  %-24s '%s'\n", id, printable(t.token_text(id)).c_str(),
                printable(t.token_to_piece(id, /*render_special=*/true)).c_str());
  return 0;
}

}  // namespace
LK_REGISTER_COMMAND("tokenize", "tokenize a prompt: ids and pieces (--chat applies the template)",
                    run_tokenize);
}  // namespace lk::cli
