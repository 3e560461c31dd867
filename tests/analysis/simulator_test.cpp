// The session simulator against the analyzer's closed forms: one user reproduces the
// analytic latencies; users within the formula's concurrency never switch; a 50K pair on
// one A100 pays (KV out + KV in) / link per switch; batching amortizes the weight read;
// runs are deterministic for a seed; bad configuration names the flag.
#include "analysis/simulator.h"

#include <gtest/gtest.h>

#include "model/presets.h"

namespace lk {
namespace {

SimConfig yi_on_a100(int users, int64_t ctx) {
  SimConfig c;
  c.model = *model_preset("yi-34b-200k");
  c.deploy.hw = *hardware_lookup("a100-80gb");
  c.users = users;
  c.context_tokens = ctx;
  c.timeline_points = 0;
  return c;
}

SimResult run(const SimConfig& c) {
  auto r = simulate(c);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : SimResult{};
}

Workload workload_of(const SimConfig& c) {
  Workload w;
  w.context_tokens = c.context_tokens;
  w.question_tokens = c.question_tokens;
  w.gen_tokens = c.gen_tokens;
  w.rounds = c.rounds;
  w.think_s = c.think_s;
  return w;
}

TEST(Simulator, OneUserEqualsTheAnalyticLatencies) {
  for (int64_t chunk : {int64_t{1} << 29, int64_t{1000}}) {  // whole prompt, then chunked
    SCOPED_TRACE(chunk);
    SimConfig c = yi_on_a100(1, 4000);
    c.chunk_tokens = chunk;
    c.rounds = 3;
    const SimResult r = run(c);
    const Metrics m = *analyze_point(c.model, c.deploy, workload_of(c), c.plan);
    const double W = weight_bytes(c.model, 16), kvpt = kv_bytes_per_token(c.model, 16);
    const double bw = c.deploy.bw(), flops = c.deploy.flops();
    const double d_attn = attention_width(c.model, c.deploy);
    // Round 1: TTFT = the analyzer's prefill; decode = 250 steps, each reading the weights
    // and the KV as it grows (mean length ctx + 124.5).
    ASSERT_EQ(r.ttft_s.n, 3u);
    const double dec1 = decode_seconds(250, W, kvpt * (4000 + 124.5), bw);
    auto dec = [&](double start) { return decode_seconds(250, W, kvpt * (start + 124.5), bw); };
    EXPECT_NEAR(r.tpot_s.p50 * 250 / dec(4000 + 300), 1.0, 1e-9);      // round 2
    EXPECT_NEAR(r.tpot_s.max * 250 / dec(4000 + 2 * 300), 1.0, 1e-9);  // round 3: longest KV
    EXPECT_NEAR(r.tpot_s.mean * 750 / (dec1 + dec(4300) + dec(4600)), 1.0, 1e-9);
    EXPECT_NEAR(dec1 / m.decode_s, 1.0, 0.01);  // the formula reads the KV at its start size
    // Whole session: prefill + decode per round, the think time between rounds.
    double total = 0, past = 0;
    for (int round = 0; round < 3; ++round) {
      const double n = round == 0 ? 4000 : 50;
      total += std::max(prefill_flop(c.model, d_attn, n, past) / flops, (W + kvpt * past) / bw);
      past += n;
      total += decode_seconds(250, W, kvpt * (past + 124.5), bw);
      past += 250;
    }
    EXPECT_NEAR(r.makespan_s, total + 2 * 60.0, 1e-6);
    EXPECT_NEAR(r.ttft_s.max / m.prefill_s, 1.0, 1e-9);
    EXPECT_EQ(r.swaps_out, 0);
    EXPECT_EQ(r.sessions_completed, 1);
  }
}

TEST(Simulator, UsersWithinTheFormulasConcurrencyNeverSwitch) {
  SimConfig c = yi_on_a100(1, 4000);
  const Metrics m = *analyze_point(c.model, c.deploy, workload_of(c), c.plan);
  ASSERT_EQ(m.concurrency_sessions, 14);  // 17.1 GB free / 1.19 GB per 3-round session
  c.users = static_cast<int>(m.concurrency_sessions);
  SimResult r = run(c);
  EXPECT_EQ(r.sessions_completed, c.users);
  EXPECT_EQ(r.swaps_out, 0);
  EXPECT_EQ(r.max_resident, c.users);
  // FRAMEWORK.md's "~20 users at 4K": all at once they do not fit one A100, so idle
  // sessions are offloaded and fetched back.
  c.users = 20;
  r = run(c);
  EXPECT_EQ(r.sessions_completed, 20);
  EXPECT_GT(r.swaps_out, 0);
  EXPECT_LE(r.max_resident, 17);
}

TEST(Simulator, TwentyUsersAt4kArrivingOverTenMinutesFitWithoutSwitching) {
  SimConfig c = yi_on_a100(20, 4000);
  c.arrival = ArrivalProcess::kUniform;
  c.arrival_window_s = 600;
  const SimResult r = run(c);
  EXPECT_EQ(r.sessions_completed, 20);
  EXPECT_EQ(r.swaps_out, 0);
  EXPECT_EQ(r.switch_s.n, 0u);
  EXPECT_LE(r.max_resident, 14);
}

TEST(Simulator, FiftyKPairPaysOneOutAndOneInPerSwitch) {
  SimConfig c = yi_on_a100(2, 50000);
  c.deploy.hw.link = 20e9;  // FRAMEWORK.md's effective PCIe rate
  const SimResult r = run(c);
  EXPECT_EQ(r.sessions_completed, 2);
  EXPECT_EQ(r.max_resident, 1);  // one 50K session fits at a time
  const double kv = kv_bytes_per_token(c.model, 16) * 50000;
  // A returning user waits for the other's KV to go out and its own to come back.
  EXPECT_NEAR(r.switch_s.p50 / (2 * kv / 20e9), 1.0, 0.02);
  EXPECT_NEAR(r.switch_s.p50, 1.1, 0.15);  // FRAMEWORK.md: ~1.1 s per user pair
  EXPECT_GT(r.swaps_in, 0);
}

TEST(Simulator, BatchedDecodeReadsWeightsOncePerStep) {
  SimConfig c = yi_on_a100(8, 4000);
  c.rounds = 1;
  c.chunk_tokens = 8 * 4000;  // all prefills in one step, so decodes start together
  const SimResult r = run(c);
  const double W = weight_bytes(c.model, 16), kvpt = kv_bytes_per_token(c.model, 16);
  const double step = (W + 8 * kvpt * (4000 + 124.5)) / c.deploy.bw();
  EXPECT_NEAR(r.tpot_s.p50 / step, 1.0, 1e-6);
  EXPECT_EQ(r.max_running, 8);
}

TEST(Simulator, DeterministicForASeed) {
  SimConfig c = yi_on_a100(50, 4000);
  c.arrival = ArrivalProcess::kPoisson;
  c.arrival_rate_per_h = 300;
  c.length = LengthDistribution::kLogNormal;
  c.context_min = 1000;
  c.context_max = 40000;
  c.think_exponential = true;
  const SimResult a = run(c), b = run(c);
  EXPECT_EQ(a.makespan_s, b.makespan_s);
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.ttft_s.p99, b.ttft_s.p99);
  c.seed = 2;
  const SimResult d = run(c);
  EXPECT_NE(a.makespan_s, d.makespan_s);
}

TEST(Simulator, SessionsLargerThanTheBudgetAreRefused) {
  SimConfig c = yi_on_a100(3, 1000000);  // 246 GB of KV on an 80 GiB device
  const SimResult r = run(c);
  EXPECT_EQ(r.sessions_completed, 0);
  EXPECT_EQ(r.sessions_rejected, 3);
}

TEST(Simulator, EagerOffloadSwitchesEveryRound) {
  SimConfig c = yi_on_a100(2, 4000);
  c.swap = SwapPolicy::kEager;
  const SimResult r = run(c);
  EXPECT_EQ(r.swaps_out, 2 * 2);  // each user, after rounds 1 and 2
  EXPECT_EQ(r.swaps_in, 2 * 2);
  EXPECT_GT(r.util_link, 0);
}

TEST(Simulator, BadConfigurationNamesTheFlag) {
  SimConfig c = yi_on_a100(0, 4000);
  auto r = simulate(c);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("--users"), std::string::npos);
  c = yi_on_a100(2, 4000);
  c.chunk_tokens = 0;
  r = simulate(c);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("--chunk"), std::string::npos);
  c = yi_on_a100(2, 4000);
  c.deploy.hw.link = -1;
  EXPECT_FALSE(simulate(c).is_ok());
}

}  // namespace
}  // namespace lk
