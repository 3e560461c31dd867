// `longkv simulate`: discrete-event simulation of many users' sessions on D replicas with a
// KV memory budget, continuous batching, chunked prefill and context switching.
#include <cstdio>
#include <string>

#include "analysis/report.h"
#include "analysis/sim_report.h"
#include "analysis/simulator.h"
#include "analysis/units.h"
#include "cli/analysis_flags.h"
#include "cli/command.h"
#include "core/timer.h"

namespace lk::cli {

namespace {

template <typename E>
Status pick(const std::string& field, const std::string& v,
            std::initializer_list<std::pair<const char*, E>> choices, E* out) {
  std::string valid;
  for (const auto& [name, e] : choices) {
    if (v == name) {
      *out = e;
      return Status::ok();
    }
    valid += (valid.empty() ? "" : ", ") + std::string(name);
  }
  return invalid_argument("{}: unknown value '{}' (valid: {})", field, v, valid);
}

int run_simulate(int argc, char** argv) {
  CLI::App app{
      "longkv simulate: discrete-event simulation of U users' multi-round sessions on D "
      "replicas with a KV memory budget (continuous batching, chunked prefill, admission "
      "control, context switching over the host link).",
      "longkv simulate"};
  ScenarioFlags flags;
  flags.contexts = {"4K"};
  SimConfig c;
  std::string arrival = "all", length = "fixed", think_dist = "fixed", swap = "lazy";
  std::string ctx_min = "1K", ctx_max = "100K", chunk = "8192", timeline, rate = "60";
  bool json = false;
  add_scenario_flags(app, flags);
  app.add_option("--users", c.users, "users, one session each (default 20)");
  app.add_option("--devices", c.devices, "replicas, each of --tp devices (default 1)");
  app.add_option("--arrival", arrival, "all | poisson | uniform (default all at t=0)");
  app.add_option("--rate", rate, "poisson arrivals per hour (default 60)");
  app.add_option("--window", c.arrival_window_s, "uniform arrivals over this many seconds");
  app.add_option("--length", length, "document length: fixed | uniform | lognormal");
  app.add_option("--context-min", ctx_min, "shortest document (uniform / lognormal clamp)");
  app.add_option("--context-max", ctx_max, "longest document (uniform / lognormal clamp)");
  app.add_option("--length-sigma", c.length_sigma, "lognormal sigma of ln(tokens) (default 0.5)");
  app.add_option("--think-dist", think_dist, "think time: fixed | exp (exponential, mean --think)");
  app.add_option("--chunk", chunk, "prefill tokens per step (chunked prefill, default 8192)");
  app.add_option("--max-batch", c.max_batch, "sequences per step at most (default 256)");
  app.add_option("--swap", swap, "lazy (offload idle sessions when memory is needed) | eager");
  app.add_option("--seed", c.seed, "random seed (default 1)");
  app.add_option("--timeline", timeline, "write the timeline plot (SVG) here");
  app.add_flag("--json", json, "JSON output");
  if (int rc = parse_flags(app, argc, argv); rc >= 0) return rc;
  auto fail = [](const Status& s) { return report_error("simulate", s); };
  if (flags.contexts.size() != 1)
    return fail(invalid_argument("--context: give one document length (or use --length)"));
  auto s = scenario_resolve(flags);
  if (!s) return fail(s.status());
  c.model = s->model;
  c.deploy = s->deploy;
  c.plan = s->plan;
  c.context_tokens = s->workload.context_tokens;
  c.question_tokens = s->workload.question_tokens;
  c.gen_tokens = s->workload.gen_tokens;
  c.rounds = s->workload.rounds;
  c.think_s = s->workload.think_s;
  Status st = pick<ArrivalProcess>("--arrival", arrival,
                                   {{"all", ArrivalProcess::kAllAtOnce},
                                    {"poisson", ArrivalProcess::kPoisson},
                                    {"uniform", ArrivalProcess::kUniform}},
                                   &c.arrival);
  if (!st) return fail(st);
  st = pick<LengthDistribution>("--length", length,
                                {{"fixed", LengthDistribution::kFixed},
                                 {"uniform", LengthDistribution::kUniform},
                                 {"lognormal", LengthDistribution::kLogNormal}},
                                &c.length);
  if (!st) return fail(st);
  bool exp_think = false;
  st = pick<bool>("--think-dist", think_dist, {{"fixed", false}, {"exp", true}}, &exp_think);
  if (!st) return fail(st);
  c.think_exponential = exp_think;
  st = pick<SwapPolicy>("--swap", swap,
                        {{"lazy", SwapPolicy::kLazy}, {"eager", SwapPolicy::kEager}}, &c.swap);
  if (!st) return fail(st);
  auto r1 = parse_tokens(ctx_min, "--context-min");
  auto r2 = parse_tokens(ctx_max, "--context-max");
  auto r3 = parse_tokens(chunk, "--chunk");
  auto r4 = parse_quantity(rate, "--rate");
  for (const Status& x : {r1.status(), r2.status(), r3.status(), r4.status()})
    if (!x) return fail(x);
  c.context_min = *r1;
  c.context_max = *r2;
  c.chunk_tokens = *r3;
  c.arrival_rate_per_h = *r4;

  Timer timer;
  auto r = simulate(c);
  if (!r) return fail(r.status());
  const double wall = timer.seconds();
  const std::string title =
      fmt::format("{} on {} replica{} of {} × {}: {} users at {} context", c.model.name, c.devices,
                  c.devices == 1 ? "" : "s", c.deploy.tp, c.deploy.hw.name, c.users,
                  format_tokens(static_cast<double>(c.context_tokens)));
  if (!timeline.empty()) {
    Status w = svg_write(sim_timeline_figure(c, *r, title), timeline);
    if (!w) return fail(w);
  }
  if (json) {
    nlohmann::json j = sim_json(c, *r);
    j["wall_s"] = wall;
    j["scenario"] = scenario_json(*s);
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("longkv simulate · %s\n\n", title.c_str());
  std::printf("%s", sim_report(c, *r, title).c_str());
  std::printf("\n  simulated in %.2f s of wall time%s%s\n", wall,
              timeline.empty() ? "" : "; timeline: ", timeline.c_str());
  return 0;
}

}  // namespace

LK_REGISTER_COMMAND("simulate",
                    "discrete-event simulation of many users' sessions: sessions/h, "
                    "TTFT, switching, utilization",
                    run_simulate);

}  // namespace lk::cli
