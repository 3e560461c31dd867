#include "analysis/sim_report.h"

#include <cmath>

#include "analysis/text_table.h"
#include "analysis/units.h"

namespace lk {

namespace {
nlohmann::json pct_json(const Percentiles& p) {
  return {{"p50", p.p50}, {"p99", p.p99}, {"mean", p.mean}, {"max", p.max}, {"n", p.n}};
}
std::string pct(double v) {
  return fmt::format("{:.0f}%", 100 * v);
}
}  // namespace

std::string sim_report(const SimConfig& c, const SimResult& r, const std::string& name) {
  std::string o;
  o += fmt::format("  sessions   {} completed, {} rejected (KV larger than the budget) in {}\n",
                   r.sessions_completed, r.sessions_rejected, format_seconds(r.makespan_s));
  o += fmt::format("  throughput {} sessions per hour\n", format_count(r.sessions_per_hour));
  o += fmt::format(
      "  KV budget  {} per replica · at most {} sessions resident, {} sequences "
      "in one step · {} steps\n",
      format_bytes(r.kv_budget_bytes), r.max_resident, r.max_running, r.steps);
  o += fmt::format("  switching  {} offloads, {} fetches, {} over the host link\n\n", r.swaps_out,
                   r.swaps_in, format_bytes(r.bytes_swapped));
  TextTable t({"per round", "p50", "p99", "mean", "rounds"}, "lrrrr");
  auto row = [&](const char* n, const Percentiles& p) {
    t.add_row({n, format_seconds(p.p50), format_seconds(p.p99), format_seconds(p.mean),
               std::to_string(p.n)});
  };
  row("time to first token", r.ttft_s);
  row("time per output token", r.tpot_s);
  row("switch stall (rounds that waited on transfers)", r.switch_s);
  row("queueing delay", r.queue_s);
  o += t.render();
  o +=
      fmt::format("\n  utilization  compute {} · bandwidth {} · memory {} · host link {}\n",
                  pct(r.util_compute), pct(r.util_bandwidth), pct(r.util_memory), pct(r.util_link));
  (void)c;
  (void)name;
  return o;
}

nlohmann::json sim_json(const SimConfig& c, const SimResult& r) {
  return {
      {"users", c.users},
      {"devices", c.devices},
      {"sessions_completed", r.sessions_completed},
      {"sessions_rejected", r.sessions_rejected},
      {"makespan_s", r.makespan_s},
      {"sessions_per_hour", r.sessions_per_hour},
      {"ttft_s", pct_json(r.ttft_s)},
      {"tpot_s", pct_json(r.tpot_s)},
      {"switch_s", pct_json(r.switch_s)},
      {"queue_s", pct_json(r.queue_s)},
      {"utilization",
       {{"compute", r.util_compute},
        {"bandwidth", r.util_bandwidth},
        {"memory", r.util_memory},
        {"link", r.util_link}}},
      {"swaps_out", r.swaps_out},
      {"swaps_in", r.swaps_in},
      {"bytes_swapped", r.bytes_swapped},
      {"max_resident", r.max_resident},
      {"max_running", r.max_running},
      {"steps", r.steps},
      {"kv_budget_bytes", r.kv_budget_bytes},
  };
}

PlotFigure sim_timeline_figure(const SimConfig& c, const SimResult& r, const std::string& title) {
  const double T = r.makespan_s;
  double scale = 1;
  std::string unit = "s";
  if (T > 36000)
    scale = 3600, unit = "h";
  else if (T > 600)
    scale = 60, unit = "min";
  PlotFigure f;
  f.title = title;
  f.subtitle = fmt::format(
      "{} users, {} rounds, {} replica{}; {} sessions/hour; utilization: "
      "compute {:.0f}%, bandwidth {:.0f}%, memory {:.0f}%, link {:.0f}%",
      c.users, c.rounds, c.devices, c.devices == 1 ? "" : "s", format_count(r.sessions_per_hour),
      100 * r.util_compute, 100 * r.util_bandwidth, 100 * r.util_memory, 100 * r.util_link);
  f.columns = 1;
  f.panel_width = 900;
  f.panel_height = 240;
  const std::string x_label = fmt::format("simulated time ({})", unit);
  PlotPanel mem, seqs, link;
  mem.title = "KV cache on the device(s) vs the budget";
  mem.y_label = "KV resident (GB)";
  seqs.title = "Sessions";
  seqs.y_label = "sessions";
  link.title = "Host link traffic";
  link.y_label = "moved so far (GB)";
  for (PlotPanel* p : {&mem, &seqs, &link}) {
    p->x_label = x_label;
    p->step = true;
  }
  PlotSeries kv{"KV resident", {}, {}, false, 0, false};
  PlotSeries budget{"KV budget (all replicas)", {}, {}, true, 6, false};
  PlotSeries run{"running (prefill or decode)", {}, {}, false, 0, false};
  PlotSeries wait{"waiting for admission", {}, {}, false, 1, false};
  PlotSeries idle{"idle, KV kept on device", {}, {}, false, 2, false};
  PlotSeries moved{"offloaded + fetched", {}, {}, false, 3, false};
  for (const auto& s : r.timeline) {
    const double x = s.t / scale;
    kv.x.push_back(x), kv.y.push_back(s.kv_bytes / 1e9);
    run.x.push_back(x), run.y.push_back(s.running);
    wait.x.push_back(x), wait.y.push_back(s.waiting);
    idle.x.push_back(x), idle.y.push_back(s.resident_idle);
    moved.x.push_back(x), moved.y.push_back(s.swapped_bytes / 1e9);
  }
  budget.x = {0, T / scale};
  budget.y = {r.kv_budget_bytes * c.devices / 1e9, r.kv_budget_bytes * c.devices / 1e9};
  mem.series = {kv, budget};
  seqs.series = {run, wait, idle};
  link.series = {moved};
  f.panels = {mem, seqs, link};
  return f;
}

}  // namespace lk
