// The forward pass on the paged KV manager (engine/kv_setup) against the contiguous cache:
// - f32 / f16 with one block per sequence: the same single run per head reaches the same
//   attention kernel, so the logits are bit-identical;
// - f32 / f16 with 16-token blocks: the kernel's online softmax restarts its tiles at each
//   block (run) boundary, which only reorders float sums: within 2e-5 of the contiguous logits;
// - int8 / KIVI int4 / int2 go through the quantized attention (attention_kv_head_any): equal
//   within 1e-4 to the float kernel over the same cache dequantized (so the quantized path reads
//   what was stored), and within stated bounds of the f32 cache (the quantization's error);
// - a prompt larger than the budget fails before anything is appended; decode past the budget
//   stops generation cleanly (stopped_by_kv_budget).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>

#include "core/half.h"
#include "core/parallel.h"
#include "engine/forward.h"
#include "engine/generate.h"
#include "engine/kv_setup.h"
#include "engine/random_model.h"
#include "kv/contiguous_cache.h"
#include "kv/kv_codec.h"
#include "tiny_spec.h"

namespace lk {
namespace {

ModelSpec spec() {
  return test::tiny_gqa_spec(32, 128, 512);  // head_dim, vocab, context
}

std::vector<int32_t> prompt(int n) {
  std::vector<int32_t> ids;
  for (int i = 0; i < n; ++i) ids.push_back((i * 37 + 5) % 128);
  return ids;
}

// Logits of every position of `ids` (prefill in chunks of 24, then 8 decode steps).
std::vector<float> run_logits(const Model& m, KvCache* cache, const std::vector<int32_t>& ids,
                              int chunk = 24) {
  Forward fwd(m, cache, ForwardOptions{chunk});
  std::vector<float> all, step;
  const size_t n_prefill = ids.size() - 8;
  SeqBatch b{3, std::span<const int32_t>(ids.data(), n_prefill), true};
  EXPECT_TRUE(fwd.forward(std::span<const SeqBatch>(&b, 1), &all).is_ok());
  for (size_t p = n_prefill; p < ids.size(); ++p) {
    SeqBatch d{3, std::span<const int32_t>(&ids[p], 1), false};
    EXPECT_TRUE(fwd.forward(std::span<const SeqBatch>(&d, 1), &step).is_ok());
    all.insert(all.end(), step.begin(), step.end());
  }
  return all;
}

std::vector<float> contiguous_logits(const Model& m, KvFormat f, const std::vector<int32_t>& ids) {
  auto c = contiguous_cache_create(m.spec.n_layers, m.spec.n_kv_heads, m.spec.head_dim, f);
  EXPECT_TRUE(c.is_ok());
  return run_logits(m, c->get(), ids);
}

EngineKvCache paged(const Model& m, const std::string& format, int block, std::string budget = "") {
  KvCacheOptions o;
  o.format = format;
  o.block_tokens = block;
  o.budget = std::move(budget);
  o.max_tokens = 200;
  auto c = make_engine_kv_cache(m, o);
  EXPECT_TRUE(c.is_ok()) << c.status().to_string();
  return std::move(c).value();
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float e = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) e = std::max(e, std::abs(a[i] - b[i]));
  return e;
}

float max_abs(const std::vector<float>& a) {
  float e = 0;
  for (float x : a) e = std::max(e, std::abs(x));
  return e;
}

TEST(ForwardPaged, FloatFormatsMatchTheContiguousCache) {
  auto m = random_model(spec(), DType::kF32, 7);
  ASSERT_TRUE(m.is_ok());
  const auto ids = prompt(100);
  for (KvFormat f : {KvFormat::kF32, KvFormat::kF16}) {
    const std::vector<float> want = contiguous_logits(*m, f, ids);
    // One block holds the whole sequence: identical runs, identical arithmetic.
    EngineKvCache one = paged(*m, kv_format_name(f), 128);
    EXPECT_EQ(run_logits(*m, one.cache.get(), ids), want) << kv_format_name(f);
    one.manager->check_invariants();
    // 16-token blocks: seven runs per head instead of one.
    EngineKvCache blocks = paged(*m, kv_format_name(f), 16);
    EXPECT_LT(max_abs_diff(run_logits(*m, blocks.cache.get(), ids), want), 2e-5f)
        << kv_format_name(f);
    blocks.manager->check_invariants();
    EXPECT_EQ(blocks.manager->seq_length(3), 100);
    EXPECT_EQ(blocks.manager->tokens(3), ids);  // recorded by prepare() for recompute
  }
}

// Decorator over a paged manager whose views are the manager's runs decoded to f32 (rebuilt
// after each append, before the layer's attention reads them): the oracle that attends to
// exactly the stored values with the float kernel.
class DequantizedViews final : public KvCache {
 public:
  explicit DequantizedViews(KvManager* inner) : inner_(inner) {}
  Status prepare(std::span<const SeqTokens> batch) override { return inner_->prepare(batch); }
  Status append(SeqId seq, int layer, std::span<const int32_t> positions, const float* k,
                const float* v) override {
    LK_RETURN_IF_ERROR(inner_->append(seq, layer, positions, k, v));
    for (int h = 0; h < inner_->config().n_kv_heads; ++h) rebuild(seq, layer, h);
    return Status::ok();
  }
  KvHeadView view(SeqId seq, int layer, int kv_head) const override {
    const Head& h = heads_.at({seq, layer, kv_head});
    KvRun r;
    r.format = KvFormat::kF32;
    r.n_tokens = static_cast<int32_t>(h.pos.size());
    r.k = h.k.data();
    r.v = h.v.data();
    r.positions = h.pos.data();
    return KvHeadView{{r}};
  }
  int64_t seq_length(SeqId seq) const override { return inner_->seq_length(seq); }
  void release(SeqId seq) override { inner_->release(seq); }

 private:
  struct Head {
    std::vector<float> k, v;  // [n][D]
    std::vector<int32_t> pos;
  };
  static float decode(const KvRun& r, bool is_k, int t, int d, int D) {
    const void* base = is_k ? r.k : r.v;
    switch (r.format) {
      case KvFormat::kF32:
        return static_cast<const float*>(base)[t * D + d];
      case KvFormat::kF16:
        return f16_to_f32(static_cast<const uint16_t*>(base)[t * D + d]);
      case KvFormat::kBF16:
        return bf16_to_f32(static_cast<const uint16_t*>(base)[t * D + d]);
      case KvFormat::kInt8:
        return static_cast<const int8_t*>(base)[t * D + d] * (is_k ? r.k_scale : r.v_scale)[t];
      case KvFormat::kInt4:
      case KvFormat::kInt2: {
        const int row = D * (r.format == KvFormat::kInt4 ? 4 : 2) / 8;
        const int c = kivi_code(static_cast<const uint8_t*>(base) + t * row, d, r.format);
        const uint16_t* p = is_k ? r.k_qparams + 2 * d : r.v_qparams + 2 * t;  // (scale, zero)
        return c * f16_to_f32(p[0]) + f16_to_f32(p[1]);
      }
    }
    return 0.0f;
  }
  void rebuild(SeqId seq, int layer, int kv_head) {
    const int D = inner_->config().head_dim;
    Head h;
    for (const KvRun& r : inner_->view(seq, layer, kv_head).runs) {
      for (int t = 0; t < r.n_tokens; ++t) {
        h.pos.push_back(r.positions[t]);
        for (int d = 0; d < D; ++d) {
          h.k.push_back(decode(r, true, t, d, D));
          h.v.push_back(decode(r, false, t, d, D));
        }
      }
    }
    heads_[{seq, layer, kv_head}] = std::move(h);
  }
  KvManager* inner_;
  std::map<std::tuple<SeqId, int, int>, Head> heads_;
};

TEST(ForwardPaged, QuantizedAttentionReadsExactlyWhatIsStored) {
  auto m = random_model(spec(), DType::kF32, 7);
  ASSERT_TRUE(m.is_ok());
  const auto ids = prompt(100);
  for (const char* f : {"int8", "kivi4", "kivi2"}) {
    EngineKvCache direct = paged(*m, f, 16);
    EngineKvCache oracle_store = paged(*m, f, 16);
    DequantizedViews oracle(oracle_store.manager);
    const float e =
        max_abs_diff(run_logits(*m, direct.cache.get(), ids), run_logits(*m, &oracle, ids));
    std::printf("%s: engine vs dequantized oracle %.3g\n", f, e);
    EXPECT_LT(e, 1e-4f) << f;
  }
}

// Decode over a long context with few tasks per thread takes the split-K path; quantized views
// there are attended whole by the quantized kernel (float views are split).
TEST(ForwardPaged, QuantizedDecodeOnTheSplitKPath) {
  ModelSpec sp = spec();
  sp.n_kv_heads = 1;
  sp.max_context = 4096;
  auto m = random_model(sp, DType::kF32, 5);
  ASSERT_TRUE(m.is_ok());
  set_num_threads(4);
  const auto ids = prompt(2200);
  for (const char* f : {"int8"}) {
    KvCacheOptions o;
    o.format = f;
    o.block_tokens = 16;
    o.max_tokens = 2200;
    auto direct = make_engine_kv_cache(*m, o);
    auto store = make_engine_kv_cache(*m, o);
    ASSERT_TRUE(direct.is_ok() && store.is_ok());
    DequantizedViews oracle(store->manager);
    EXPECT_LT(max_abs_diff(run_logits(*m, direct->cache.get(), ids, 1100),
                           run_logits(*m, &oracle, ids, 1100)),
              1e-4f)
        << f;
  }
  set_num_threads(0);
}

TEST(ForwardPaged, QuantizedFormatsRunThroughTheEngine) {
  auto m = random_model(spec(), DType::kF32, 7);
  ASSERT_TRUE(m.is_ok());
  const auto ids = prompt(100);
  const std::vector<float> want = contiguous_logits(*m, KvFormat::kF32, ids);
  const float scale = max_abs(want);
  // Bounds relative to the largest logit, about 1.5x the measured error at this seed (int8
  // 0.54%, KIVI int4 7.2%, int2 27% on this random model, whose keys have no outlier channels
  // for per-channel quantization to exploit); each format must also be worse than the next
  // finer one, so the quantized path is really taken.
  struct Case {
    const char* format;
    float bound;
  };
  float prev = 0;
  for (Case c : {Case{"int8", 0.008f}, Case{"kivi4", 0.11f}, Case{"kivi2", 0.4f}}) {
    EngineKvCache kv = paged(*m, c.format, 16);
    const float err = max_abs_diff(run_logits(*m, kv.cache.get(), ids), want) / scale;
    EXPECT_LT(err, c.bound) << c.format;
    std::printf("%s: max |logit error| / max |logit| = %.4f\n", c.format, err);
    EXPECT_GT(err, prev) << c.format;
    prev = err;
    kv.manager->check_invariants();
  }
}

TEST(ForwardPaged, BudgetErrorsAndStops) {
  auto m = random_model(spec(), DType::kF32, 7);
  ASSERT_TRUE(m.is_ok());
  KvCacheOptions o;
  o.format = "f16";
  o.budget = "1KiB";
  auto small = make_engine_kv_cache(*m, o);
  ASSERT_FALSE(small.is_ok());
  EXPECT_NE(small.status().message().find("give at least"), std::string::npos);
  o.format = "int3";
  o.budget.clear();
  auto bad = make_engine_kv_cache(*m, o);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("int4 (kivi4)"), std::string::npos);
  EXPECT_FALSE(parse_byte_size("12 MiB", "--kv-budget").is_ok());
  EXPECT_EQ(*parse_byte_size("2MiB", "--kv-budget"), 2 << 20);
  EXPECT_EQ(*parse_byte_size("3K", "--kv-budget"), 3072);
  EXPECT_EQ(*parse_byte_size("1GB", "--kv-budget"), 1000000000);

  // 2 layers x 2 heads x 16-token f16 blocks of 2 KiB: a 32 KiB budget holds 4 blocks/head.
  EngineKvCache kv = paged(*m, "f16", 16, "32KiB");
  Forward fwd(*m, kv.cache.get());
  const auto ids = prompt(80);
  std::vector<float> logits;
  SeqBatch b{1, ids, false};
  const Status st = fwd.forward(std::span<const SeqBatch>(&b, 1), &logits);
  EXPECT_EQ(st.code(), StatusCode::kOutOfMemory);
  EXPECT_NE(st.message().find("--kv-budget"), std::string::npos) << st.message();
  EXPECT_EQ(kv.manager->seq_length(1), 0);  // nothing appended
  EXPECT_EQ(kv.manager->usage().used_bytes, 0);
  GenerateOptions opt;
  opt.max_new_tokens = 100;
  opt.sampler.temperature = 0.0f;
  auto r = generate(fwd, 2, std::span<const int32_t>(ids.data(), 40), opt, nullptr);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_TRUE(r->stopped_by_kv_budget);
  EXPECT_EQ(kv.manager->seq_length(2), 64);  // 4 blocks of 16 tokens
  kv.manager->check_invariants();
}

}  // namespace
}  // namespace lk
