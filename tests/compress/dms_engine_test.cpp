// DMS from a checkpoint, end to end in the engine: a synthetic DMS model (dms-synth) whose
// decisions are known in advance runs through Forward with the compression driver, and the
// paged cache holds exactly the tokens the delayed-eviction rule leaves: key p of kv head h
// is gone once p + window < length and the token at p + 1 has (id even) == (h even).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "compress/dms_model.h"
#include "compress/driver.h"
#include "compress/kv_for_spec.h"
#include "engine/forward.h"
#include "engine/model_loader.h"
#include "kv/contiguous_cache.h"
#include "model/hf_config.h"
#include "model/synth.h"
#include "test_util.h"

namespace lk::compress {
namespace {

namespace fs = std::filesystem;

constexpr const char* kConfig = R"({"architectures":["LlamaForCausalLM"],"model_type":"llama",
  "hidden_size":64,"intermediate_size":96,"num_hidden_layers":2,"num_attention_heads":4,
  "num_key_value_heads":2,"head_dim":16,"max_position_embeddings":256,"rms_norm_eps":1e-5,
  "rope_theta":10000,"vocab_size":300,"tie_word_embeddings":false})";

// A DMS checkpoint of the given form in a fresh temp folder.
fs::path make_dms(const std::string& tag, bool proj, int window) {
  const fs::path dir = test::temp_dir("dms_engine_" + tag);
  auto spec = model_spec_from_hf_config_text(kConfig, "config.json");
  EXPECT_TRUE(spec.is_ok()) << spec.status().to_string();
  EXPECT_TRUE(synth_write_hf(*spec, SynthOptions{DType::kF32, 3}, (dir / "base").string()).is_ok());
  DmsSynthOptions o;
  o.separate_alpha = proj;
  o.window = window;
  const Status st = dms_synth_checkpoint((dir / "base").string(), (dir / "dms").string(), o);
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  return dir / "dms";
}

std::vector<int32_t> held(const KvManager& kv, SeqId seq, int l, int h) {
  std::vector<int32_t> out;
  for (const KvRun& r : kv.view(seq, l, h).runs)
    out.insert(out.end(), r.positions, r.positions + r.n_tokens);
  return out;
}

// What the rule leaves of tokens[0..len) for kv head h with window w.
std::vector<int32_t> expected(const std::vector<int32_t>& tokens, int64_t len, int h, int w) {
  std::vector<int32_t> out;
  for (int32_t p = 0; p < len; ++p) {
    const bool decided = p + 1 < len;
    const bool evict = decided && ((tokens[p + 1] % 2 == 0) == (h % 2 == 0));
    if (!(evict && p + w < len)) out.push_back(p);
  }
  return out;
}

struct Engine {
  Model model;
  DmsModel dms;
  ModelContext ctx;
  std::unique_ptr<KvManager> kv;
  std::unique_ptr<CompressionDriver> driver;
  std::unique_ptr<Forward> fwd;

  void open(const fs::path& dir, const std::string& spec_text, int chunk) {
    auto m = load_model(dir.string());
    ASSERT_TRUE(m.is_ok()) << m.status().to_string();
    model = std::move(m).value();
    auto d = dms_model_load(model.spec, model.source);
    ASSERT_TRUE(d.is_ok()) << d.status().to_string();
    dms = std::move(d).value();
    ctx = {model.source, &dms};
    auto spec = parse_compression_spec(spec_text);
    ASSERT_TRUE(spec.is_ok());
    const ModelSpec& s = model.spec;
    auto k = kv_manager_for_spec(*spec, {s.n_layers, s.n_kv_heads, s.head_dim, s.max_context, "t"},
                                 KvFormat::kF32);
    ASSERT_TRUE(k.is_ok());
    kv = std::move(k).value();
    auto dr = CompressionDriver::create(*spec, kv.get(), s.n_heads, &ctx);
    ASSERT_TRUE(dr.is_ok()) << dr.status().to_string();
    driver = std::move(dr).value();
    fwd = std::make_unique<Forward>(model, kv.get(), ForwardOptions{chunk});
    fwd->set_observer(driver.get());
    driver->begin(0);
  }
  std::vector<float> feed(std::span<const int32_t> ids) {
    std::vector<float> logits;
    SeqBatch b{0, ids, false};
    EXPECT_TRUE(fwd->forward({&b, 1}, &logits).is_ok());
    return logits;
  }
};

std::vector<int32_t> pattern_tokens(int n) {
  std::vector<int32_t> t(n);
  for (int i = 0; i < n; ++i) t[i] = (i * 7 + (i / 3)) % 300;  // mixed parities
  return t;
}

class DmsEngine : public ::testing::TestWithParam<bool> {};

TEST_P(DmsEngine, HoldsExactlyWhatTheModelsDecisionsLeave) {
  const bool proj = GetParam();
  const int w = 5;
  const fs::path dir = make_dms(proj ? "proj" : "neuron", proj, w);
  Engine e;
  ASSERT_NO_FATAL_FAILURE(e.open(dir, "dms", /*chunk=*/7));
  const auto& dms_cfg = e.dms.cfg;
  EXPECT_TRUE(dms_cfg.present);
  EXPECT_EQ(dms_cfg.window_size, w);
  EXPECT_EQ(dms_cfg.separate_alpha, proj);
  std::vector<int32_t> tokens = pattern_tokens(40);
  e.feed(std::span<const int32_t>(tokens.data(), 30));  // prefill in chunks of 7
  ASSERT_TRUE(e.driver->end_prefill(0).is_ok());
  for (int i = 30; i < 40; ++i) e.feed(std::span<const int32_t>(&tokens[i], 1));  // decode
  e.kv->check_invariants();
  int64_t evicted = 0;
  for (int l = 0; l < 2; ++l)
    for (int h = 0; h < 2; ++h) {
      EXPECT_EQ(held(*e.kv, 0, l, h), expected(tokens, 40, h, w)) << "layer " << l << " head " << h;
      evicted += 40 - static_cast<int64_t>(expected(tokens, 40, h, w).size());
    }
  const auto rep = e.driver->report();
  EXPECT_EQ(rep["evictions"].get<int64_t>(), evicted);
  EXPECT_TRUE(rep["dms"]["from_model"].get<bool>());
  EXPECT_EQ(rep["dms"]["form"].get<std::string>(), proj ? "projection" : "neuron");
}

TEST_P(DmsEngine, WindowOverrideAndNoEvictionMatchesTheMaskedFullRun) {
  const bool proj = GetParam();
  const fs::path dir = make_dms(proj ? "proj_full" : "neuron_full", proj, 4);
  // A window longer than the sequence evicts nothing: logits equal the uncompressed run, which
  // (neuron form) keeps the decision channel out of attention too.
  Engine e;
  ASSERT_NO_FATAL_FAILURE(e.open(dir, "dms:window=100", 16));
  const std::vector<int32_t> tokens = pattern_tokens(24);
  const std::vector<float> a = e.feed(tokens);
  EXPECT_EQ(e.driver->report()["evictions"].get<int64_t>(), 0);

  auto cache = contiguous_cache_create(2, 2, 16, KvFormat::kF32);
  ASSERT_TRUE(cache.is_ok());
  Forward plain(e.model, cache->get(), ForwardOptions{16});
  DmsChannelMask mask(&e.dms);
  if (e.dms.neuron()) plain.set_observer(&mask);
  std::vector<float> b;
  SeqBatch sb{0, tokens, false};
  ASSERT_TRUE(plain.forward({&sb, 1}, &b).is_ok());
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-4) << i;
  if (!proj) {  // the channel matters: without the mask the logits differ
    auto cache2 = contiguous_cache_create(2, 2, 16, KvFormat::kF32);
    Forward raw(e.model, cache2->get(), ForwardOptions{16});
    std::vector<float> c;
    ASSERT_TRUE(raw.forward({&sb, 1}, &c).is_ok());
    double diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, double{std::abs(a[i] - c[i])});
    EXPECT_GT(diff, 1e-3);
  }
}

INSTANTIATE_TEST_SUITE_P(Forms, DmsEngine, ::testing::Values(false, true),
                         [](const auto& i) { return i.param ? "projection" : "neuron"; });

TEST(DmsEngine, ThresholdOnADmsModelAndMissingTensorsAreClearErrors) {
  const fs::path dir = make_dms("errors", true, 4);
  auto m = load_model(dir.string());
  ASSERT_TRUE(m.is_ok());
  auto d = dms_model_load(m->spec, m->source);
  ASSERT_TRUE(d.is_ok());
  ModelContext ctx{m->source, &*d};
  auto spec = parse_compression_spec("dms:threshold=0.01");
  auto kv = kv_manager_for_spec(*spec, {2, 2, 16, 256, "t"}, KvFormat::kF32);
  auto dr = CompressionDriver::create(*spec, kv->get(), 4, &ctx);
  ASSERT_FALSE(dr.is_ok());
  EXPECT_NE(dr.status().message().find("carries its own DMS decisions"), std::string::npos);
  // A config saying separate_alpha without the projection tensors names the missing tensor.
  {
    std::ifstream in(dir / "config.json");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    const fs::path other = test::temp_dir("dms_engine_missing");
    fs::copy_file(dir.parent_path() / "base" / "model.safetensors", other / "model.safetensors");
    std::ofstream(other / "config.json") << text;
    auto bad = dms_model_load(m->spec, other.string());
    ASSERT_FALSE(bad.is_ok());
    EXPECT_NE(bad.status().message().find("dms_proj_alpha_norm.weight"), std::string::npos)
        << bad.status().to_string();
  }
}

}  // namespace
}  // namespace lk::compress
