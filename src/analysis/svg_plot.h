// Self-made SVG line plots for sweeps and simulator timelines (no Python in the product):
// a figure of panels in a grid, each with a title, labelled axes with units, linear or log
// scales, categorical x axes, and a legend.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace lk {

enum class TickFormat { kNumber, kTokens, kBytes };

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;  // x: value, or category index for categorical panels
  bool dashed = false;
  int color = -1;  // palette index (-1: the series' position)
  bool markers = true;
};

struct PlotPanel {
  std::string title;
  std::string x_label, y_label;  // with units: "context (tokens)", "prefill (s)"
  bool log_x = false, log_y = false;
  TickFormat x_format = TickFormat::kNumber;
  std::vector<std::string> x_categories;  // non-empty: categorical x (x = index)
  std::vector<PlotSeries> series;
  bool step = false;    // draw as a step function (timelines)
  bool connect = true;  // join points with lines (off for unordered categories)
};

struct PlotFigure {
  std::string title, subtitle;
  int columns = 2;
  double panel_width = 430, panel_height = 300;  // panels grow to fit legends and labels
  bool shared_legend = false;  // one legend under the title (series names shared by panels)
  std::vector<PlotPanel> panels;
};

std::string svg_render(const PlotFigure& fig);
// Writes the SVG; kIoError naming the path when it cannot.
Status svg_write(const PlotFigure& fig, const std::string& path);

}  // namespace lk
