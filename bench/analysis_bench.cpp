// Speed of the analyzer and the simulator (issue 2: "a single analyze point well under a
// second; 10,000 users at 1M context in under a minute"). Benchmarks report; tests assert.
//   make bench && ./build/bench/analysis_bench
#include <benchmark/benchmark.h>

#include "analysis/cost_model.h"
#include "analysis/simulator.h"
#include "model/presets.h"

namespace {

void BM_AnalyzePoint(benchmark::State& state) {
  const lk::ModelSpec m = *lk::model_preset("yi-34b-200k");
  lk::Deployment d;
  d.hw = *lk::hardware_lookup("a100-80gb");
  lk::Workload w;
  w.context_tokens = 50000;
  for (auto _ : state) {
    auto r = lk::analyze_point(m, d, w, {});
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_AnalyzePoint);

// 10,000 users, 1M-token documents, 3 rounds: Llama-3.1-8B with DMS (8×) on 8 H200
// replicas, Poisson arrivals at 80 sessions per hour.
void BM_Simulate10kUsers1M(benchmark::State& state) {
  lk::SimConfig c;
  c.model = *lk::model_preset("llama-3.1-8b");
  c.deploy.hw = *lk::hardware_lookup("h200");
  (void)lk::compression_add_method(c.plan, "dms", c.model);
  c.users = 10000;
  c.devices = 8;
  c.context_tokens = 1000000;
  c.arrival = lk::ArrivalProcess::kPoisson;
  c.arrival_rate_per_h = 80;
  int64_t steps = 0;
  double sph = 0;
  for (auto _ : state) {
    auto r = lk::simulate(c);
    steps = r->steps;
    sph = r->sessions_per_hour;
  }
  state.counters["steps"] = static_cast<double>(steps);
  state.counters["sessions_per_hour"] = sph;
}
BENCHMARK(BM_Simulate10kUsers1M)->Unit(benchmark::kSecond)->Iterations(1);

}  // namespace
