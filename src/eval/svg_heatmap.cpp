#include "eval/svg_heatmap.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace lk::eval {

namespace {

// 0 -> red, 0.5 -> yellow, 1 -> green (accuracy colours).
std::string heat_colour(double v) {
  v = std::clamp(v, 0.0, 1.0);
  int r = v < 0.5 ? 215 : static_cast<int>(215 - (v - 0.5) * 2 * (215 - 40));
  int g = v < 0.5 ? static_cast<int>(48 + v * 2 * (200 - 48))
                  : static_cast<int>(200 - (v - 0.5) * 2 * (200 - 160));
  int b = v < 0.5 ? 39 : static_cast<int>(39 + (v - 0.5) * 2 * (80 - 39));
  return fmt::format("#{:02x}{:02x}{:02x}", r, g, b);
}

std::string header(int w, int h, const std::string& title) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"{0}\" height=\"{1}\" "
      "fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" "
      "font-weight=\"bold\">{3}</text>\n",
      w, h, w / 2, svg_escape(title));
}

}  // namespace

std::string svg_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string svg_heatmap(const HeatmapSpec& h) {
  const int cols = static_cast<int>(h.x_ticks.size()), rows = static_cast<int>(h.y_ticks.size());
  const int cell_w = std::max(40, 480 / std::max(1, cols)),
            cell_h = std::max(24, 300 / std::max(1, rows));
  const int left = 90, top = 50, plot_w = cell_w * cols, plot_h = cell_h * rows;
  const int width = left + plot_w + 120, height = top + plot_h + 70;
  std::string s = header(width, height, h.title);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      double v = r < static_cast<int>(h.values.size()) && c < static_cast<int>(h.values[r].size())
                     ? h.values[r][c]
                     : std::numeric_limits<double>::quiet_NaN();
      int x = left + c * cell_w, y = top + r * cell_h;
      bool missing = std::isnan(v);
      s += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"white\"/>\n", x,
          y, cell_w, cell_h, missing ? "#dddddd" : heat_colour(v));
      s += fmt::format(
          "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" dominant-baseline=\"middle\">{}</text>\n",
          x + cell_w / 2, y + cell_h / 2, missing ? "n/a" : fmt::format("{:.2f}", v));
    }
    s += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text>\n",
        left - 6, top + r * cell_h + cell_h / 2, svg_escape(h.y_ticks[r]));
  }
  for (int c = 0; c < cols; ++c)
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                     left + c * cell_w + cell_w / 2, top + plot_h + 16, svg_escape(h.x_ticks[c]));
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", left + plot_w / 2,
                   top + plot_h + 40, svg_escape(h.x_label));
  s += fmt::format(
      "<text x=\"18\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 18 "
      "{0})\">{1}</text>\n",
      top + plot_h / 2, svg_escape(h.y_label));
  // Colour bar.
  const int bx = left + plot_w + 30, bh = std::max(100, plot_h);
  for (int i = 0; i < 20; ++i)
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"16\" height=\"{}\" fill=\"{}\"/>\n", bx,
                     top + bh - (i + 1) * bh / 20, bh / 20 + 1, heat_colour(i / 19.0));
  s += fmt::format("<text x=\"{}\" y=\"{}\">1.0</text>\n", bx + 20, top + 10);
  s += fmt::format("<text x=\"{}\" y=\"{}\">0.0</text>\n", bx + 20, top + bh);
  s += fmt::format(
      "<text x=\"{0}\" y=\"{1}\" transform=\"rotate(-90 {0} {1})\" "
      "text-anchor=\"middle\">{2}</text>\n",
      bx + 60, top + bh / 2, svg_escape(h.value_label));
  return s + "</svg>\n";
}

}  // namespace lk::eval
