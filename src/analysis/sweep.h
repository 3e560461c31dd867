// Sweeps of the cost model over one factor (context, hardware, tensor parallelism, KV heads,
// compression plan), for each of the scenario's contexts, and the SVG figures made from
// them, including FRAMEWORK.md's Figure 2 and Figure 3.
#pragma once

#include <string>
#include <vector>

#include "analysis/scenario.h"
#include "analysis/svg_plot.h"

namespace lk {

struct SweepPoint {
  std::string series;  // the line it belongs to ("4K", "Yi-34B-200K", ...)
  std::string label;   // the x value as shown ("50K", "h100-sxm", "snapkv+kivi")
  double x = 0;        // numeric x (category index for hardware and compression)
  Metrics m;
};

struct SweepResult {
  std::string over;                     // context | hardware | tp | kv-heads | compression
  std::vector<std::string> categories;  // x labels for categorical sweeps
  std::vector<SweepPoint> points;
};

std::vector<std::string> sweep_dimensions();
// Default values swept when --values is not given.
std::vector<std::string> sweep_default_values(const std::string& over, const Scenario& base);
// Runs the sweep; values are as typed ("4K", "h100-sxm", "8", "snapkv+kivi", "none").
Result<SweepResult> sweep_run(const Scenario& base, const std::string& over,
                              const std::vector<std::string>& values);

// Four panels (concurrency, prefill, decode, context switch) plus sessions per hour.
PlotFigure sweep_figure(const SweepResult& r, const Scenario& base);

// FRAMEWORK.md Figure 2: the four metrics vs context length 4K → 1M (Yi-34B-200K on A100,
// H100, B200) and vs hardware generation (at 4K, 50K and 200K).
Result<PlotFigure> figure2(std::vector<SweepResult>* data);
// FRAMEWORK.md Figure 3: prefill vs decode time for Yi-34B-200K and Command R+ over input
// length and over the number of rounds.
Result<PlotFigure> figure3(std::vector<SweepResult>* data);

}  // namespace lk
