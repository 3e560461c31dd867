// The needle heatmap of eval reports (depth × length, accuracy per cell) as SVG, with a
// title, labelled axes and a colour bar. Line and scatter charts (the Pareto plot) use the
// analysis module's svg_plot.h; it has no heatmap, hence this one.
#pragma once

#include <string>
#include <vector>

namespace lk::eval {

struct HeatmapSpec {
  std::string title, x_label, y_label, value_label;
  std::vector<std::string> x_ticks, y_ticks;  // column / row names
  std::vector<std::vector<double>> values;    // [row][col] in [0, 1]; NaN = no data
};
std::string svg_heatmap(const HeatmapSpec& h);

// Escapes &, <, >, " for SVG text.
std::string svg_escape(const std::string& s);

}  // namespace lk::eval
