// GGUF reader on the real files in ../shared/models (checked against values printed by
// the gguf Python package's GGUFReader).
#include <gtest/gtest.h>

#include "model/gguf_reader.h"
#include "test_util.h"

namespace lk {
namespace {

TEST(GgufReaderModel, Stories260K) {
  LK_REQUIRE_SHARED_MODELS();
  const auto path = (test::shared_models_dir() / "stories260K.gguf").string();
  auto g = GgufFile::open(path);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  const GgufFile& f = **g;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.metadata().size(), 19u);
  EXPECT_EQ(f.tensors().size(), 48u);
  EXPECT_EQ(*f.get_str("general.architecture"), "llama");
  EXPECT_EQ(*f.get_u32("llama.embedding_length"), 64u);
  EXPECT_EQ(*f.get_u32("llama.feed_forward_length"), 172u);
  EXPECT_EQ(*f.get_u32("llama.attention.head_count_kv"), 4u);
  EXPECT_EQ(*f.get_u32("tokenizer.ggml.seperator_token_id"), 4294967295u);
  auto toks = f.get_str_arr("tokenizer.ggml.tokens");
  ASSERT_TRUE(toks.is_ok());
  EXPECT_EQ(toks->size(), 512u);
  EXPECT_EQ((*toks)[0], "<unk>");
  auto t = f.tensor("blk.0.ffn_down.weight");
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(t->ne[0], 172);
  EXPECT_EQ(t->ne[1], 64);
  // data_offset 370016 relative to the data section, as gguf-py reports (absolute).
  EXPECT_EQ(static_cast<const uint8_t*>(t->data) -
                static_cast<const uint8_t*>(f.tensor("token_embd.weight")->data),
            370016 - 14176);
}

TEST(GgufReaderModel, VocabOnlyFiles) {
  LK_REQUIRE_SHARED_MODELS();
  for (const char* name : {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf"}) {
    auto g = GgufFile::open((test::shared_models_dir() / "tokenizers" / name).string());
    ASSERT_TRUE(g.is_ok()) << g.status().to_string();
    EXPECT_TRUE((*g)->tensors().empty());
    EXPECT_TRUE((*g)->has("tokenizer.ggml.tokens")) << name;
  }
}

TEST(GgufReaderModel, MissingFileNamesPath) {
  auto g = GgufFile::open("/nonexistent/x.gguf");
  EXPECT_EQ(g.status().code(), StatusCode::kNotFound);
  EXPECT_NE(g.status().message().find("/nonexistent/x.gguf"), std::string::npos);
}

}  // namespace
}  // namespace lk
