// `longkv analyze sweep --over context|hardware|tp|kv-heads|compression` and
// `longkv analyze figure 2|3`: tables of the cost model over one factor, plus SVG plots.
#include <cstdio>
#include <string>
#include <vector>

#include "analysis/report.h"
#include "analysis/sweep.h"
#include "analysis/text_table.h"
#include "analysis/units.h"
#include "cli/analysis_flags.h"
#include "cli/command.h"

namespace lk::cli {

namespace {

std::string sweep_table(const std::vector<SweepResult>& results) {
  TextTable t({"series", "x", "KV/session", "concurrency", "prefill", "decode", "switch",
               "sessions/h", "bound"},
              "llrrrrrrl");
  for (const auto& r : results) {
    for (const auto& p : r.points)
      t.add_row({p.series, p.label, format_bytes(p.m.kv_bytes_per_session),
                 fmt::format("{:.3g}", p.m.concurrency), format_seconds(p.m.prefill_s),
                 format_seconds(p.m.decode_s), format_seconds(p.m.switch_s),
                 format_count(p.m.sessions_per_hour), p.m.bound});
    t.add_rule();
  }
  return t.render();
}

nlohmann::json sweep_json(const std::vector<SweepResult>& results) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : results)
    for (const auto& p : r.points) {
      nlohmann::json j = metrics_json(p.m);
      j["over"] = r.over;
      j["series"] = p.series;
      j["label"] = p.label;
      j["x"] = p.x;
      a.push_back(j);
    }
  return a;
}

int emit(const std::vector<SweepResult>& results, const PlotFigure& fig, const std::string& svg,
         bool json, bool csv, const char* cmd) {
  if (!svg.empty()) {
    Status st = svg_write(fig, svg);
    if (!st) return report_error(cmd, st);
  }
  if (json) {
    std::printf("%s\n",
                nlohmann::json{{"points", sweep_json(results)}, {"svg", svg}}.dump(2).c_str());
  } else if (csv) {
    std::printf("series,%s", csv_header().c_str());
    for (const auto& r : results)
      for (const auto& p : r.points)
        std::printf("%s,%s", p.series.c_str(), csv_row(p.label, p.m).c_str());
  } else {
    std::printf("%s\n\n%s", fig.title.c_str(), sweep_table(results).c_str());
    if (!svg.empty()) std::printf("\nwrote %s\n", svg.c_str());
  }
  return 0;
}

}  // namespace

int analyze_sweep_main(int argc, char** argv) {
  CLI::App app{"longkv analyze sweep: the cost model over one factor, as a table and an SVG plot.",
               "longkv analyze sweep"};
  ScenarioFlags flags;
  std::string over, svg;
  std::vector<std::string> values;
  bool json = false, csv = false;
  add_scenario_flags(app, flags);
  app.add_option("--over", over, "context | hardware | tp | kv-heads | compression")->required();
  app.add_option("--values", values,
                 "values to sweep (default per dimension); compression plans compose with '+'")
      ->delimiter(',');
  app.add_option("--svg", svg, "SVG plot path (default sweep-<over>.svg; '' for none)");
  app.add_flag("--json", json, "JSON array of points");
  app.add_flag("--csv", csv, "CSV rows");
  if (int rc = parse_flags(app, argc, argv); rc >= 0) return rc;
  if (!app.count("--svg")) svg = "sweep-" + over + ".svg";
  auto s = scenario_resolve(flags);
  if (!s) return report_error("analyze sweep", s.status());
  if (values.empty()) values = sweep_default_values(over, *s);
  auto r = sweep_run(*s, over, values);
  if (!r) return report_error("analyze sweep", r.status());
  return emit({*r}, sweep_figure(*r, *s), svg, json, csv, "analyze sweep");
}

int analyze_figure_main(int argc, char** argv) {
  CLI::App app{
      "longkv analyze figure: FRAMEWORK.md's Figure 2 (the four metrics vs context and "
      "vs hardware generation) or Figure 3 (prefill vs decode, Yi-34B and Command R+).",
      "longkv analyze figure"};
  int which = 0;
  std::string svg;
  bool json = false, csv = false;
  app.add_option("number", which, "2 or 3")->required();
  app.add_option("--svg", svg, "SVG path (default figure<N>.svg; '' for none)");
  app.add_flag("--json", json, "JSON array of points");
  app.add_flag("--csv", csv, "CSV rows");
  if (int rc = parse_flags(app, argc, argv); rc >= 0) return rc;
  if (which != 2 && which != 3)
    return report_error("analyze figure",
                        invalid_argument("figure number must be 2 or 3 (got {})", which));
  if (!app.count("--svg")) svg = fmt::format("figure{}.svg", which);
  std::vector<SweepResult> data;
  auto fig = which == 2 ? figure2(&data) : figure3(&data);
  if (!fig) return report_error("analyze figure", fig.status());
  return emit(data, *fig, svg, json, csv, "analyze figure");
}

}  // namespace lk::cli
