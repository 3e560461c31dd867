// The same real model as GGUF and as a Hugging Face folder: ModelSpecs agree, tensors agree
// bit for bit, and Q/K differ exactly by the llama-arch row permutation (qk_permute.h).
#include <gtest/gtest.h>

#include <cstring>

#include "model/checkpoint.h"
#include "model/qk_permute.h"
#include "test_util.h"

namespace lk {
namespace {

TEST(CheckpointModel, Stories260KGgufMatchesHfFolder) {
  LK_REQUIRE_SHARED_MODELS();
  auto g = Checkpoint::open((test::shared_models_dir() / "stories260K.gguf").string());
  auto h = Checkpoint::open((test::shared_models_dir() / "stories260K-hf").string());
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  ASSERT_TRUE(h.is_ok()) << h.status().to_string();
  const ModelSpec& gs = (*g)->spec();
  const ModelSpec& hs = (*h)->spec();
  EXPECT_EQ(gs.n_layers, hs.n_layers);
  EXPECT_EQ(gs.d_model, hs.d_model);
  EXPECT_EQ(gs.n_kv_heads, hs.n_kv_heads);
  EXPECT_EQ(gs.head_dim, hs.head_dim);
  EXPECT_EQ(gs.ffn_dim, hs.ffn_dim);
  EXPECT_EQ(gs.vocab_size, hs.vocab_size);

  auto same = [](const TensorView& a, const TensorView& b) {
    return a.nbytes == b.nbytes && a.ne == b.ne && std::memcmp(a.data, b.data, a.nbytes) == 0;
  };
  EXPECT_TRUE(same(*(*g)->tensor("token_embd.weight"), *(*h)->tensor("model.embed_tokens.weight")));
  EXPECT_TRUE(same(*(*g)->tensor("blk.3.ffn_down.weight"),
                   *(*h)->tensor("model.layers.3.mlp.down_proj.weight")));
  EXPECT_TRUE(same(*(*g)->tensor("blk.1.attn_v.weight"),
                   *(*h)->tensor("model.layers.1.self_attn.v_proj.weight")));
  for (const char* role : {"q", "k"}) {
    const TensorView gq = *(*g)->tensor(fmt::format("blk.2.attn_{}.weight", role));
    const TensorView hq =
        *(*h)->tensor(fmt::format("model.layers.2.self_attn.{}_proj.weight", role));
    ASSERT_EQ(gq.ne, hq.ne);
    EXPECT_FALSE(same(gq, hq)) << role;
    const auto* p = static_cast<const uint8_t*>(hq.data);
    std::vector<uint8_t> hf(p, p + hq.nbytes);
    auto perm = qk_permute_hf_to_gguf(hf, hq.ne[1], hq.row_bytes(), gs.head_dim);
    EXPECT_EQ(std::memcmp(perm.data(), gq.data, gq.nbytes), 0) << role;
  }
}

}  // namespace
}  // namespace lk
