#include "eval/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace lk::eval {

namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                    "#9467bd", "#8c564b", "#e377c2", "#17becf"};

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

std::string fmt_tick(double v) {
  if (v == 0) return "0";
  double a = std::fabs(v);
  if (a >= 100) return fmt::format("{:.0f}", v);
  if (a >= 10) return fmt::format("{:.1f}", v);
  if (a >= 1) return fmt::format("{:.2f}", v);
  return fmt::format("{:.3g}", v);
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

std::vector<size_t> pareto_front(const std::vector<ScatterPoint>& pts) {
  std::vector<size_t> idx(pts.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    return pts[a].x != pts[b].x ? pts[a].x < pts[b].x : pts[a].y > pts[b].y;
  });
  std::vector<size_t> front;
  double best = -std::numeric_limits<double>::infinity();
  for (size_t i : idx)
    if (pts[i].y > best) {
      front.push_back(i);
      best = pts[i].y;
    }
  return front;
}

std::string svg_scatter(const ScatterSpec& sp) {
  const int left = 80, top = 50, pw = 560, ph = 340, width = left + pw + 190,
            height = top + ph + 70;
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin;
  for (const auto& se : sp.series)
    for (const auto& p : se.points) {
      double x = sp.log_x ? std::log10(std::max(p.x, 1e-300)) : p.x;
      xmin = std::min(xmin, x);
      xmax = std::max(xmax, x);
    }
  if (!std::isfinite(xmin)) xmin = 0, xmax = 1;
  if (xmax - xmin < 1e-12) xmin -= 0.5, xmax += 0.5;
  const double pad = (xmax - xmin) * 0.08;
  xmin -= pad;
  xmax += pad;
  auto X = [&](double x) {
    double v = sp.log_x ? std::log10(std::max(x, 1e-300)) : x;
    return left + (v - xmin) / (xmax - xmin) * pw;
  };
  auto Y = [&](double y) { return top + ph - (y - sp.y_min) / (sp.y_max - sp.y_min) * ph; };
  std::string s = header(width, height, sp.title);
  s += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"black\"/>\n", left,
      top, pw, ph);
  for (int i = 0; i <= 5; ++i) {  // y grid
    double y = sp.y_min + (sp.y_max - sp.y_min) * i / 5.0;
    s += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eeeeee\"/>\n",
                     left, left + pw, Y(y), Y(y));
    s += fmt::format(
        "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text>\n",
        left - 6, Y(y), fmt_tick(y));
  }
  for (int i = 0; i <= 5; ++i) {  // x ticks
    double v = xmin + (xmax - xmin) * i / 5.0;
    double x = sp.log_x ? std::pow(10.0, v) : v;
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                     left + (v - xmin) / (xmax - xmin) * pw, top + ph + 16, fmt_tick(x));
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", left + pw / 2,
                   top + ph + 40, svg_escape(sp.x_label + (sp.log_x ? " (log scale)" : "")));
  s += fmt::format(
      "<text x=\"18\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 18 "
      "{0})\">{1}</text>\n",
      top + ph / 2, svg_escape(sp.y_label));
  for (size_t k = 0; k < sp.series.size(); ++k) {
    const auto& se = sp.series[k];
    const char* col = kPalette[k % 8];
    if (se.pareto_front && se.points.size() > 1) {
      std::string pts;
      for (size_t i : pareto_front(se.points))
        pts += fmt::format("{:.1f},{:.1f} ", X(se.points[i].x), Y(se.points[i].y));
      s += fmt::format(
          "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-dasharray=\"4 3\"/>\n", pts,
          col);
    }
    for (const auto& p : se.points) {
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"{}\"/>\n", X(p.x),
                       Y(p.y), col);
      if (!p.label.empty())
        s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\">{}</text>\n", X(p.x) + 7,
                         Y(p.y) - 7, svg_escape(p.label));
    }
    s += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"{}\"/>\n", left + pw + 20,
                     top + 10 + 20 * k, col);
    s += fmt::format("<text x=\"{}\" y=\"{}\" dominant-baseline=\"middle\">{}</text>\n",
                     left + pw + 32, top + 10 + 20 * k, svg_escape(se.name));
  }
  s += fmt::format(
      "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#555555\">dashed: Pareto front</text>\n",
      left + pw + 14, top + 20 + 20 * static_cast<int>(sp.series.size()));
  return s + "</svg>\n";
}

}  // namespace lk::eval
