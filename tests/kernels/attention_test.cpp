// The tiled online-softmax attention agrees with the plain two-pass scalar attention for
// f32/f16/bf16 runs, several runs per view (lengths that leave partial tiles and partial
// token blocks), gaps in positions, GQA groups of 1-7 rows, decode (K and V read in their
// storage format) and prefill (sgemm path). Tolerance 1e-5 absolute (outputs are O(1)); f16/bf16
// inputs are decoded identically by both so the tolerance does not widen.
#include <gtest/gtest.h>

#include <random>

#include "core/half.h"
#include "kernels/attention.h"

namespace lk {
namespace {

struct Store {
  std::vector<std::vector<uint16_t>> h;
  std::vector<std::vector<float>> f;
  std::vector<std::vector<int32_t>> pos;
};

KvHeadView make_view(KvFormat fmt, const std::vector<int>& run_sizes, int D, Store* st,
                     std::mt19937* rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  KvHeadView view;
  int32_t p = 0;
  for (int n : run_sizes) {
    std::vector<float> k(n * D), v(n * D);
    for (auto& x : k) x = dist(*rng);
    for (auto& x : v) x = dist(*rng);
    std::vector<int32_t> pos(n);
    for (auto& x : pos) x = (p += 1 + ((*rng)() % 2));  // gaps: evicted tokens
    KvRun r;
    r.format = fmt;
    r.n_tokens = n;
    st->pos.push_back(pos);
    r.positions = st->pos.back().data();
    if (fmt == KvFormat::kF32) {
      st->f.push_back(k);
      r.k = st->f.back().data();
      st->f.push_back(v);
      r.v = st->f.back().data();
    } else {
      for (auto* src : {&k, &v}) {
        std::vector<uint16_t> h(src->size());
        for (size_t i = 0; i < h.size(); ++i) {
          h[i] = fmt == KvFormat::kF16 ? f32_to_f16((*src)[i]) : f32_to_bf16((*src)[i]);
        }
        st->h.push_back(h);
      }
      r.k = st->h[st->h.size() - 2].data();
      r.v = st->h.back().data();
    }
    view.runs.push_back(r);
  }
  return view;
}

TEST(Attention, MatchesScalarReference) {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (KvFormat fmt : {KvFormat::kF32, KvFormat::kF16, KvFormat::kBF16}) {
    for (int D : {16, 48, 64, 80, 96, 128}) {
      for (int G : {1, 2, 3, 4, 7}) {  // decode scores take rows 4, then 2, then 1 at a time
        for (int nq : {1, 3, 20}) {
          Store st;
          st.f.reserve(64);
          st.h.reserve(64);
          st.pos.reserve(64);
          KvHeadView view = make_view(fmt, {5, 200, 1, 77}, D, &st, &rng);
          const int32_t last = view.runs.back().positions[view.runs.back().n_tokens - 1];
          std::vector<int32_t> qpos(nq);
          for (int i = 0; i < nq; ++i) qpos[i] = last - (nq - 1 - i) * 7;  // causal prefix
          const int64_t stride = int64_t{G} * D + 3;                       // padded rows
          std::vector<float> q(nq * stride);
          for (auto& x : q) x = dist(rng);
          AttentionQuery aq{q.data(), stride, qpos.data(), nq, G, D, 0.125f};
          std::vector<float> want(nq * stride, 0.0f), got(nq * stride, 0.0f);
          ASSERT_TRUE(attention_kv_head_scalar(view, aq, want.data(), stride).is_ok());
          ASSERT_TRUE(attention_kv_head(view, aq, got.data(), stride).is_ok());
          for (int i = 0; i < nq; ++i) {
            for (int j = 0; j < G * D; ++j) {
              ASSERT_NEAR(got[i * stride + j], want[i * stride + j], 1e-5)
                  << kv_format_name(fmt) << " D=" << D << " G=" << G << " nq=" << nq;
            }
          }
        }
      }
    }
  }
}

// Split-K: a view cut into parts (inside runs), each part's attention with its log-sum-exp,
// merged, equals the attention over the whole view — including parts where a query sees
// no token at all (its lse is -inf).
TEST(Attention, SplitPartsMergeToTheWholeView) {
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (KvFormat fmt : {KvFormat::kF32, KvFormat::kF16}) {
    for (int parts : {1, 2, 3, 5}) {
      Store st;
      st.f.reserve(64);
      st.h.reserve(64);
      st.pos.reserve(64);
      const int D = 64, G = 4, nq = 3;
      KvHeadView view = make_view(fmt, {37, 200, 5}, D, &st, &rng);
      std::vector<KvHeadView> cut = split_view(view, parts, D);
      ASSERT_EQ(static_cast<int>(cut.size()), parts);
      int64_t total = 0;
      for (const auto& c : cut) total += c.n_tokens();
      ASSERT_EQ(total, view.n_tokens());
      // query 0 sees only the first 10 cached tokens: later parts have nothing visible
      std::vector<int32_t> qpos = {view.runs[0].positions[9], view.runs[1].positions[150],
                                   view.runs[2].positions[4]};
      const int64_t stride = int64_t{G} * D;
      std::vector<float> q(nq * stride);
      for (auto& x : q) x = dist(rng);
      AttentionQuery aq{q.data(), stride, qpos.data(), nq, G, D, 0.125f};
      std::vector<float> want(nq * stride);
      ASSERT_TRUE(attention_kv_head(view, aq, want.data(), stride).is_ok());
      std::vector<std::vector<float>> outs(parts, std::vector<float>(nq * stride)),
          lses(parts, std::vector<float>(nq * G));
      std::vector<const float*> op, lp;
      for (int p = 0; p < parts; ++p) {
        ASSERT_TRUE(
            attention_kv_head_lse(cut[p], aq, outs[p].data(), stride, lses[p].data()).is_ok());
        op.push_back(outs[p].data());
        lp.push_back(lses[p].data());
      }
      std::vector<float> got(nq * stride);
      std::vector<float*> dst;
      for (int r = 0; r < nq * G; ++r) dst.push_back(got.data() + r * D);
      attention_merge(op, lp, nq * G, D, dst.data());
      for (int i = 0; i < nq * stride; ++i)
        ASSERT_NEAR(got[i], want[i], 1e-5) << kv_format_name(fmt) << " parts=" << parts;
    }
  }
}

TEST(Attention, QuantizedFormatsAreReportedUnsupported) {
  KvHeadView view;
  KvRun r;
  r.format = KvFormat::kInt8;
  r.n_tokens = 1;
  int32_t pos = 0;
  r.positions = &pos;
  view.runs.push_back(r);
  float q[8] = {}, out[8];
  AttentionQuery aq{q, 8, &pos, 1, 1, 8, 1.0f};
  const Status s = attention_kv_head(view, aq, out, 8);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("int8"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace lk
