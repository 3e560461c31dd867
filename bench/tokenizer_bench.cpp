// Tokenizer throughput on a long prompt (~128K tokens), for each real vocabulary in
// ../shared/models. The text is read from $LONGKV_TOKENIZER_BENCH_TEXT (written by
// tools/tokenizer_bench_peer.py, which times HF tokenizers on the same file) so the two
// are comparable. Reports tokens/s and bytes/s.
//   build/bench/tokenizer_bench --benchmark_min_time=1s
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "model/tokenizer/tokenizer.h"

namespace {

std::string models_dir() {
  const char* e = std::getenv("LONGKV_SHARED_MODELS");
  return e ? e : "../shared/models";
}

const std::string& bench_text() {
  static const std::string text = [] {
    const char* p = std::getenv("LONGKV_TOKENIZER_BENCH_TEXT");
    std::ifstream f(p ? p : "/tmp/longkv_tokenizer_bench.txt", std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }();
  return text;
}

void encode_bench(benchmark::State& state, const char* rel) {
  auto tok = lk::load_tokenizer(models_dir() + "/" + rel);
  if (!tok) {
    state.SkipWithError(tok.status().to_string().c_str());
    return;
  }
  const std::string& text = bench_text();
  if (text.empty()) {
    state.SkipWithError("no bench text: run tools/tokenizer_bench_peer.py first");
    return;
  }
  size_t n = 0;
  for (auto _ : state) {
    auto ids = tok.value()->encode(text, false);
    n = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.counters["tokens"] = static_cast<double>(n);
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

// First encode after loading: the per-word cache of byte-level BPE is empty.
void encode_cold_bench(benchmark::State& state, const char* rel) {
  const std::string& text = bench_text();
  for (auto _ : state) {
    state.PauseTiming();
    auto tok = lk::load_tokenizer(models_dir() + "/" + rel);
    state.ResumeTiming();
    if (!tok || text.empty()) {
      state.SkipWithError("tokenizer or bench text missing");
      break;
    }
    benchmark::DoNotOptimize(tok.value()->encode(text, false).data());
  }
}

void load_bench(benchmark::State& state, const char* rel) {
  for (auto _ : state) {
    auto tok = lk::load_tokenizer(models_dir() + "/" + rel);
    if (!tok) state.SkipWithError(tok.status().to_string().c_str());
  }
}

BENCHMARK_CAPTURE(encode_bench, llama3_json, "tokenizers/llama3")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(encode_bench, qwen3_json, "tokenizers/qwen3")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(encode_bench, llama2_gguf, "tokenizers/ggml-vocab-llama-spm.gguf")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(encode_bench, gpt2_gguf, "tokenizers/ggml-vocab-gpt-2.gguf")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(encode_cold_bench, llama3_json, "tokenizers/llama3")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK_CAPTURE(load_bench, llama3_json, "tokenizers/llama3")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK_CAPTURE(load_bench, llama2_gguf, "tokenizers/ggml-vocab-llama-spm.gguf")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

}  // namespace
