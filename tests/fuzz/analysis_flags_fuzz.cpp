// Fuzzes the analyzer's input path: each line of the input is one flag value (context list,
// question, gen, rounds, think, hardware overrides, dtypes, compression, budgets) given to
// scenario_resolve; valid scenarios are priced and, when small, simulated. Nothing may
// crash or hang: bad values come back as a Status.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "analysis/scenario.h"
#include "analysis/simulator.h"
#include "analysis/sweep.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> v;
  std::string cur;
  for (size_t i = 0; i < size && v.size() < 16; ++i) {
    if (data[i] == '\n')
      v.push_back(cur), cur.clear();
    else
      cur += static_cast<char>(data[i]);
  }
  v.push_back(cur);
  v.resize(16);
  lk::ScenarioFlags f;
  if (!v[0].empty()) f.contexts = {v[0]};
  if (!v[1].empty()) f.question = v[1];
  if (!v[2].empty()) f.gen = v[2];
  f.rounds = std::atoi(v[3].c_str()) % 8;
  f.think_s = std::atof(v[4].c_str());
  f.flops = v[5];
  f.mem = v[6];
  f.bw = v[7];
  f.link = v[8];
  if (!v[9].empty()) f.kv_dtype = v[9];
  if (!v[10].empty()) f.compress = {v[10]};
  if (!v[11].empty()) f.token_budget = v[11];
  f.tp = std::atoi(v[12].c_str());
  f.kv_bits = std::atof(v[13].c_str());
  if (!v[14].empty()) f.model = v[14];
  auto s = lk::scenario_resolve(f);
  if (!s) return 0;
  for (int64_t c : s->contexts)
    (void)lk::analyze_point(s->model, s->deploy, lk::scenario_workload(*s, c), s->plan);
  (void)lk::sweep_run(*s, v[15].empty() ? "tp" : v[15], {"1", "2"});
  const lk::Workload& w = s->workload;
  if (w.context_tokens <= 200000 && w.gen_tokens <= 500 && w.rounds <= 3 &&
      w.question_tokens <= 10000 && w.think_s <= 1e4) {
    lk::SimConfig c;
    c.model = s->model;
    c.deploy = s->deploy;
    c.plan = s->plan;
    c.users = 3;
    c.context_tokens = w.context_tokens;
    c.question_tokens = w.question_tokens;
    c.gen_tokens = w.gen_tokens;
    c.rounds = w.rounds;
    c.think_s = w.think_s;
    c.timeline_points = 16;
    (void)lk::simulate(c);
  }
  return 0;
}
