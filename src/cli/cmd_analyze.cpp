// `longkv analyze`: the theoretical peak model of long-context serving (FRAMEWORK.md) for a
// model × hardware × workload × compression plan; `longkv analyze sweep` and
// `longkv analyze figure` add sweeps and SVG plots (cmd_analyze_sweep.cpp).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "analysis/compression.h"
#include "analysis/dtype.h"
#include "analysis/report.h"
#include "analysis/units.h"
#include "cli/analysis_flags.h"
#include "cli/command.h"
#include "model/presets.h"

namespace lk::cli {

int analyze_sweep_main(int argc, char** argv);   // cmd_analyze_sweep.cpp
int analyze_figure_main(int argc, char** argv);  // cmd_analyze_sweep.cpp

namespace {

void print_list() {
  std::printf("model presets:\n");
  for (const auto& id : model_preset_names()) {
    const ModelSpec m = *model_preset(id);
    std::printf("  %-16s %-20s %3d layers, %3d KV heads, %6.1fB params%s\n", id.c_str(),
                m.name.c_str(), m.n_layers, m.is_mla() ? 0 : m.n_kv_heads, m.total_params() / 1e9,
                m.is_mla()   ? " (MLA)"
                : m.is_moe() ? " (MoE)"
                             : "");
  }
  std::printf("\nhardware:\n");
  for (const auto& h : hardware_catalog())
    std::printf("  %-10s %-26s %7.1f TFLOP/s  %5.0f GiB  %5.2f TB/s  %s %.0f GB/s effective\n",
                h.id.c_str(), h.name.c_str(), h.flops / 1e12, h.mem_bytes / (1 << 30), h.bw / 1e12,
                h.link_name.c_str(), h.link / 1e9);
  std::printf("\ncompression methods (--compress a,b composes by multiplication):\n");
  for (const auto& m : compression_methods())
    std::printf("  %-16s %-7s %-26s %s\n", m.id.c_str(), m.dimension.c_str(), m.typical.c_str(),
                m.source.c_str());
  std::printf("\ndtypes:");
  for (const auto& d : dtype_names()) std::printf(" %s", d.c_str());
  std::printf("\n");
}

int run_analyze(int argc, char** argv) {
  if (argc >= 2 && !std::strcmp(argv[1], "sweep")) return analyze_sweep_main(argc - 1, argv + 1);
  if (argc >= 2 && !std::strcmp(argv[1], "figure")) return analyze_figure_main(argc - 1, argv + 1);

  CLI::App app{
      "longkv analyze: theoretical peak of long-context serving (FRAMEWORK.md).\n"
      "Subcommands: `longkv analyze sweep --help`, `longkv analyze figure --help`.",
      "longkv analyze"};
  ScenarioFlags flags;
  bool json = false, csv = false, explain = false, list = false, no_errata = false;
  add_scenario_flags(app, flags);
  app.add_flag("--json", json, "JSON: FRAMEWORK.md's metrics at the top level (first context)");
  app.add_flag("--csv", csv, "CSV: one row per context");
  app.add_flag("--explain", explain, "errata of FRAMEWORK.md's running example, with reasons");
  app.add_flag("--no-errata", no_errata, "leave the errata out of the report");
  app.add_flag("--list", list, "list presets, hardware, compression methods and dtypes");
  if (int rc = parse_flags(app, argc, argv); rc >= 0) return rc;
  if (json && csv) return report_error("analyze", invalid_argument("give one of --json, --csv"));
  if (list) {
    print_list();
    return 0;
  }

  auto scenario = scenario_resolve(flags);
  if (!scenario) return report_error("analyze", scenario.status());
  const Scenario& s = *scenario;
  std::vector<Metrics> points;
  for (int64_t c : s.contexts) {
    auto m = analyze_point(s.model, s.deploy, scenario_workload(s, c), s.plan);
    if (!m) return report_error("analyze", m.status());
    points.push_back(*m);
  }

  if (json) {
    std::printf("%s\n", report_json(s, points, explain).dump(2).c_str());
    return 0;
  }
  if (csv) {
    std::printf("%s", csv_header().c_str());
    for (const auto& p : points)
      std::printf("%s", csv_row(format_tokens(static_cast<double>(p.context_tokens)), p).c_str());
    return 0;
  }
  std::printf("longkv analyze · theoretical peak of long-context serving (FRAMEWORK.md)\n\n");
  std::printf("%s\n", report_header(s).c_str());
  std::printf("%s", report_table(s, points).c_str());
  if (!no_errata) {
    std::printf("\nErrata · FRAMEWORK.md's running example, figure by figure\n\n");
    std::printf("%s", report_errata(explain).c_str());
  }
  return 0;
}

}  // namespace

LK_REGISTER_COMMAND("analyze",
                    "theoretical peak of long-context serving: KV, concurrency, "
                    "prefill, decode, switching, sessions/h; sweeps, plots",
                    run_analyze);

}  // namespace lk::cli
