// longkv's tokenizers against HF `tokenizers` on a varied corpus, for the real Llama 2,
// Llama 3, Qwen3, GPT-2 and stories260K vocabularies in ../shared/models. The expected ids
// are committed in data/tokenizer_ref.json (regenerate: python3 tools/tokenizer_fixtures.py).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/tokenizer/tokenizer.h"
#include "test_util.h"

namespace lk {
namespace {

using json = nlohmann::json;

const json& fixture() {
  static const json j = [] {
    std::ifstream f(test::source_dir() / "tests/model/data/tokenizer_ref.json");
    std::stringstream ss;
    ss << f.rdbuf();
    return json::parse(ss.str());
  }();
  return j;
}

// Compares every corpus entry (and the special-token inputs) for one vocabulary, loaded from
// `rel` (relative to ../shared/models).
void check_vocab(const std::string& name, const std::string& rel, bool check_special = true) {
  const json& v = fixture()["vocabs"][name];
  const auto path = (test::shared_models_dir() / rel).string();
  auto tok = load_tokenizer(path);
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  const Tokenizer& t = *tok.value();
  const json& corpus = fixture()["corpus"];
  ASSERT_EQ(corpus.size(), v["ids"].size());
  int mismatches = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const std::string text = corpus[i];
    const auto want = v["ids"][i].get<std::vector<int32_t>>();
    const auto got = t.encode(text, /*add_bos=*/false);
    EXPECT_EQ(got, want) << name << " (" << rel << ") text #" << i << ": '" << text << "'";
    mismatches += got != want;
    // Byte-level BPE and byte fallback are lossless: decoding gives the text back, except
    // where a normalizer (Qwen's NFC) changed it.
    if (!t.data().normalize_nfc) EXPECT_EQ(t.decode(got), text) << name << " text #" << i;
  }
  if (check_special) {
    for (const auto& s : v["special"]) {
      const std::string text = s["text"];
      EXPECT_EQ(t.encode(text, /*add_bos=*/false), s["ids"].get<std::vector<int32_t>>())
          << name << " special: '" << text << "'";
    }
  }
  EXPECT_EQ(mismatches, 0) << name;
}

TEST(TokenizerFixture, Llama3TokenizerJson) {
  LK_REQUIRE_SHARED_MODELS();
  check_vocab("llama3", "tokenizers/llama3");
}

TEST(TokenizerFixture, Qwen3TokenizerJson) {
  LK_REQUIRE_SHARED_MODELS();
  check_vocab("qwen3", "tokenizers/qwen3");
}

TEST(TokenizerFixture, Stories260KTokenizerJson) {
  LK_REQUIRE_SHARED_MODELS();
  check_vocab("stories260K", "stories260K-hf");
}

TEST(TokenizerFixture, Llama2FromLlama2cBin) {
  LK_REQUIRE_SHARED_MODELS();
  // The same 32000-piece vocabulary as llama2.c exported it (no special-token parsing).
  check_vocab("llama2", "tokenizers/llama2c-tokenizer.bin", /*check_special=*/false);
}

TEST(TokenizerFixture, Llama2FromGguf) {
  LK_REQUIRE_SHARED_MODELS();
  check_vocab("llama2", "tokenizers/ggml-vocab-llama-spm.gguf");
}

TEST(TokenizerFixture, Gpt2FromGguf) {
  LK_REQUIRE_SHARED_MODELS();
  check_vocab("gpt2", "tokenizers/ggml-vocab-gpt-2.gguf");
}

}  // namespace
}  // namespace lk
