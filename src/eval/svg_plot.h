// Small, dependency-free SVG charts for eval reports: a heatmap (needle depth × length) and
// a scatter plot with a Pareto front (accuracy vs KV bytes). Every chart has a title,
// labelled axes with units and a legend or colour bar. (The analysis module has no shared
// plotting helper on main yet; if one lands, these charts should move onto it.)
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

struct ScatterPoint {
  double x = 0, y = 0;
  std::string label;  // drawn beside the point
};
struct ScatterSeries {
  std::string name;  // legend entry
  std::vector<ScatterPoint> points;
  bool pareto_front = true;  // connect the points no other point beats (less x, more y)
};
struct ScatterSpec {
  std::string title, x_label, y_label;
  bool log_x = false;
  double y_min = 0, y_max = 1;
  std::vector<ScatterSeries> series;
};
std::string svg_scatter(const ScatterSpec& s);

// Indices of the Pareto-optimal points (minimal x, maximal y), sorted by x.
std::vector<size_t> pareto_front(const std::vector<ScatterPoint>& pts);

// Escapes &, <, >, " for SVG text.
std::string svg_escape(const std::string& s);

}  // namespace lk::eval
