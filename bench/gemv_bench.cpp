// Micro-benchmarks of the decode GEMV kernels per weight dtype and of attention over a
// contiguous KV view; bytes/s counters compare with `longkv bench`'s measured bandwidth.
// Build: make bench (-DLONGKV_BENCH=ON); run: build/bench/gemv_bench
#include <benchmark/benchmark.h>

#include <immintrin.h>

#include <random>
#include <vector>

#include "core/half.h"
#include "core/parallel.h"
#include "kernels/attention.h"
#include "kernels/gemv.h"
#include "kernels/matmul.h"
#include "model/quant.h"

namespace {

struct Mat {
  std::vector<uint8_t> bytes;
  lk::TensorView view;
};

Mat make(lk::DType t, int64_t n, int64_t m) {
  Mat w;
  w.bytes.resize(lk::dtype_row_bytes(t, n) * m);
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0, 0.02f);
  std::vector<float> row(n);
  for (int64_t r = 0; r < m; ++r) {
    for (auto& v : row) v = d(rng);
    lk::quantize_row(t, row.data(), w.bytes.data() + r * lk::dtype_row_bytes(t, n), n);
  }
  w.view.dtype = t;
  w.view.n_dims = 2;
  w.view.ne = {n, m, 1, 1};
  w.view.data = w.bytes.data();
  w.view.nbytes = static_cast<int64_t>(w.bytes.size());
  return w;
}

// W [8192 x 2048] (~ffn_up of a 1B model) times n_x vectors, single thread.
void BM_Gemv(benchmark::State& st) {
  const auto t = static_cast<lk::DType>(st.range(0));
  const int64_t n_x = st.range(1);
  lk::gemv_set_int8_activations(st.range(2) != 0);
  const int64_t n = 2048, m = 8192;
  Mat w = make(t, n, m);
  std::vector<float> x(n * n_x, 0.5f), y(m * n_x);
  for (auto _ : st) {
    (void)lk::gemv_rows(w.view, 0, m, x.data(), n_x, n, y.data(), m);
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(st.iterations() * static_cast<int64_t>(w.bytes.size()));
  st.SetLabel(std::string(lk::dtype_name(t)) + (st.range(2) ? " int8-x" : " f32-x"));
}
BENCHMARK(BM_Gemv)
    ->ArgsProduct({{int(lk::DType::kF32), int(lk::DType::kF16), int(lk::DType::kBF16),
                    int(lk::DType::kQ8_0), int(lk::DType::kQ4_0)},
                   {1, 4},
                   {0, 1}})
    ->Unit(benchmark::kMicrosecond);

// Decode attention: one query group of 4 heads over n f16 tokens, D = 128.
void BM_AttentionDecode(benchmark::State& st) {
  const int D = 128, G = 4;
  const int n = static_cast<int>(st.range(0));
  std::vector<uint16_t> k(static_cast<size_t>(n) * D, lk::f32_to_f16(0.01f)), v = k;
  std::vector<int32_t> pos(n);
  for (int i = 0; i < n; ++i) pos[i] = i;
  lk::KvHeadView view;
  view.runs.push_back(
      {lk::KvFormat::kF16, n, k.data(), v.data(), nullptr, nullptr, nullptr, nullptr, pos.data()});
  std::vector<float> q(G * D, 0.1f), out(G * D);
  int32_t qpos = n;
  lk::AttentionQuery aq{q.data(), G * D, &qpos, 1, G, D, 0.088f};
  for (auto _ : st) {
    (void)lk::attention_kv_head(view, aq, out.data(), G * D);
    benchmark::DoNotOptimize(out.data());
  }
  st.SetBytesProcessed(st.iterations() * int64_t{n} * D * 2 * 2);
}
BENCHMARK(BM_AttentionDecode)->Arg(4096)->Arg(16384)->Unit(benchmark::kMicrosecond);

// The 16K-token KV of the `longkv bench` model (4 layers x 8 kv heads, D = 64, group 4, f16:
// 134 MB >> L3) decoded head after head, one thread — and a plain read of the same bytes
// (BM_ReadLongKv): their bytes/s ratio is the attention's efficiency per KV byte.
struct LongKv {
  static constexpr int kHeads = 32, kD = 64, kG = 4, kN = 16384;
  std::vector<std::vector<uint16_t>> k, v;
  std::vector<int32_t> pos;
  LongKv() : k(kHeads), v(kHeads), pos(kN) {
    uint32_t st = 1;
    for (int h = 0; h < kHeads; ++h) {
      for (auto* b : {&k[h], &v[h]}) {
        b->resize(size_t{kN} * kD);
        for (auto& x : *b) {
          st = st * 1664525u + 1013904223u;
          x = lk::f32_to_f16(float(int(st >> 20) - 2048) / 1024.0f);
        }
      }
    }
    for (int i = 0; i < kN; ++i) pos[i] = i;
  }
  static const LongKv& get() {
    static const LongKv kv;
    return kv;
  }
  static int64_t bytes() { return int64_t{kHeads} * kN * kD * 2 * 2; }
};

void BM_AttentionDecodeLong(benchmark::State& st) {
  const LongKv& kv = LongKv::get();
  std::vector<float> q(LongKv::kG * LongKv::kD, 0.1f), out(q.size());
  int32_t qpos = LongKv::kN;
  lk::AttentionQuery aq{q.data(), LongKv::kG * LongKv::kD, &qpos, 1, LongKv::kG, LongKv::kD,
                        0.125f};
  for (auto _ : st) {
    for (int h = 0; h < LongKv::kHeads; ++h) {
      lk::KvHeadView view;
      view.runs.push_back({lk::KvFormat::kF16, LongKv::kN, kv.k[h].data(), kv.v[h].data(), nullptr,
                           nullptr, nullptr, nullptr, kv.pos.data()});
      (void)lk::attention_kv_head(view, aq, out.data(), LongKv::kG * LongKv::kD);
    }
    benchmark::DoNotOptimize(out.data());
  }
  st.SetBytesProcessed(st.iterations() * LongKv::bytes());
}
BENCHMARK(BM_AttentionDecodeLong)->Unit(benchmark::kMillisecond);

void BM_ReadLongKv(benchmark::State& st) {
  const LongKv& kv = LongKv::get();
  for (auto _ : st) {
    __m512 s = _mm512_setzero_ps();
    for (int h = 0; h < LongKv::kHeads; ++h) {
      for (const auto* b : {&kv.k[h], &kv.v[h]}) {
        for (size_t i = 0; i < b->size(); i += 32)
          s = _mm512_add_ps(s, _mm512_castsi512_ps(_mm512_loadu_si512(b->data() + i)));
      }
    }
    benchmark::DoNotOptimize(s);
  }
  st.SetBytesProcessed(st.iterations() * LongKv::bytes());
}
BENCHMARK(BM_ReadLongKv)->Unit(benchmark::kMillisecond);

}  // namespace
