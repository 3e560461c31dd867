#include "analysis/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

namespace lk {

namespace {

// Okabe–Ito palette: distinguishable with the common colour-vision deficiencies.
const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                          "#E69F00", "#56B4E9", "#000000", "#999999"};
constexpr int kPaletteSize = 8;

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '&')
      o += "&amp;";
    else if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '"')
      o += "&quot;";
    else
      o += c;
  }
  return o;
}

std::string fmt_tick(double v, TickFormat f) {
  if (f == TickFormat::kTokens) {
    if (v >= 1e6) return fmt::format("{:g}M", v / 1e6);
    if (v >= 1e3) return fmt::format("{:g}K", v / 1e3);
    return fmt::format("{:g}", v);
  }
  if (f == TickFormat::kBytes) {
    if (v >= 1e12) return fmt::format("{:g} TB", v / 1e12);
    if (v >= 1e9) return fmt::format("{:g} GB", v / 1e9);
    if (v >= 1e6) return fmt::format("{:g} MB", v / 1e6);
    return fmt::format("{:g} B", v);
  }
  const double a = std::fabs(v);
  if (a == 0) return "0";
  if (a >= 1e5 || a < 1e-3) {
    const int e = static_cast<int>(std::floor(std::log10(a) + 1e-9));
    const double m = v / std::pow(10.0, e);
    if (std::fabs(m - 1) < 1e-9) return fmt::format("1e{}", e);
    return fmt::format("{:g}e{}", std::round(m * 100) / 100, e);
  }
  return fmt::format("{:g}", std::round(v * 1e6) / 1e6);
}

struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  std::vector<double> ticks;
  double map(double v, double a, double b) const {  // value → pixel between a and b
    double t = log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
                   : (v - lo) / (hi - lo);
    return a + t * (b - a);
  }
};

Axis make_axis(double lo, double hi, bool log) {
  Axis ax;
  ax.log = log;
  if (!(lo <= hi)) lo = hi = log ? 1 : 0;
  if (log) {
    // Bounds hug the data (a small margin), ticks at 1-2-5 steps, or decades when the data
    // span more than three of them.
    if (lo == hi) lo /= 2, hi *= 2;
    ax.lo = lo / 1.25;
    ax.hi = hi * 1.25;
    const double l = std::floor(std::log10(ax.lo)), h = std::ceil(std::log10(ax.hi));
    const double decades = h - l;
    const int stride = decades > 9 ? 2 : 1;
    for (double e = l; e <= h + 1e-9; e += stride)
      for (double m : {1.0, 2.0, 5.0}) {
        if (m != 1.0 && decades > 3) continue;
        const double t = m * std::pow(10.0, e);
        if (t >= ax.lo * 0.999 && t <= ax.hi * 1.001) ax.ticks.push_back(t);
      }
    if (ax.ticks.size() < 3) {  // a narrow range: plain 1-2-5 steps, placed on the log scale
      ax.ticks.clear();
      const double raw = (ax.hi - ax.lo) / 4;
      const double mag = std::pow(10.0, std::floor(std::log10(raw)));
      double step = mag;
      for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
        if (m * mag >= raw) {
          step = m * mag;
          break;
        }
      for (double t = std::ceil(ax.lo / step) * step; t <= ax.hi; t += step) ax.ticks.push_back(t);
    }
    return ax;
  }
  if (lo == hi) {
    lo = lo == 0 ? 0 : lo * 0.5;
    hi = hi == 0 ? 1 : hi * 1.5;
  }
  if (lo > 0 && lo < 0.4 * hi) lo = 0;  // start at zero unless the data sit far above it
  const double raw = (hi - lo) / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  ax.lo = std::floor(lo / step) * step;
  ax.hi = std::ceil(hi / step - 1e-9) * step;
  if (ax.hi <= ax.lo) ax.hi = ax.lo + step;
  for (double t = ax.lo; t <= ax.hi + step * 1e-6; t += step) ax.ticks.push_back(t);
  return ax;
}

bool usable(double v, bool log) {
  return std::isfinite(v) && (!log || v > 0);
}

void legend_entry(std::string& o, double x, double y, const PlotSeries& s, int idx) {
  const char* col = kPalette[(s.color >= 0 ? s.color : idx) % kPaletteSize];
  o += fmt::format(
      "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
      "stroke-width=\"2.5\"{}/>",
      x, y, x + 22, y, col, s.dashed ? " stroke-dasharray=\"6,4\"" : "");
  if (s.markers)
    o += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>", x + 11, y, col);
  o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"12\">{}</text>\n", x + 28, y + 4,
                   esc(s.name));
}

// Legend rows: entries laid out left to right, wrapping at `width`; returns the height used.
double legend(std::string& o, double x0, double y0, double width,
              const std::vector<PlotSeries>& ss) {
  double x = x0, y = y0;
  for (size_t i = 0; i < ss.size(); ++i) {
    const double w = 40 + 6.6 * static_cast<double>(ss[i].name.size());
    if (x > x0 && x + w > x0 + width) {
      x = x0;
      y += 18;
    }
    legend_entry(o, x, y, ss[i], static_cast<int>(i));
    x += w + 12;
  }
  return ss.empty() ? 0 : y - y0 + 18;
}

double legend_height(double width, const std::vector<PlotSeries>& ss) {
  std::string scratch;
  return legend(scratch, 0, 0, width, ss);
}

// Extra height taken by category labels rotated because they do not fit side by side.
double rotated_label_height(const PlotPanel& p, double w) {
  size_t widest = 0;
  for (const auto& c : p.x_categories) widest = std::max(widest, c.size());
  const double slot = (w - 88) / std::max<double>(1, static_cast<double>(p.x_categories.size()));
  return !p.x_categories.empty() && 6.5 * static_cast<double>(widest) > 0.95 * slot
             ? 0.5 * 6.5 * static_cast<double>(widest)
             : 0;
}

void render_panel(std::string& o, const PlotPanel& p, double ox, double oy, double w, double h,
                  bool own_legend) {
  const double left = 72, right = 16, top = 28;
  const double leg_h = own_legend ? legend_height(w - left - right, p.series) : 0;
  const double rot_h = rotated_label_height(p, w);
  const double bottom = 60 + leg_h + rot_h;
  const double x0 = ox + left, x1 = ox + w - right, y0 = oy + h - bottom, y1 = oy + top;
  const bool cat = !p.x_categories.empty();

  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  for (const auto& s : p.series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!usable(s.x[i], p.log_x && !cat) || !usable(s.y[i], p.log_y)) continue;
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]);
      ymax = std::max(ymax, s.y[i]);
    }
  if (!std::isfinite(xmin)) xmin = xmax = ymin = ymax = 1;
  Axis ax = cat ? Axis{-0.5, static_cast<double>(p.x_categories.size()) - 0.5, false, {}}
                : make_axis(xmin, xmax, p.log_x);
  if (cat)
    for (size_t i = 0; i < p.x_categories.size(); ++i) ax.ticks.push_back(static_cast<double>(i));
  Axis ay = make_axis(ymin, ymax, p.log_y);

  o += fmt::format(
      "<g>\n<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"13\" font-weight=\"bold\" "
      "text-anchor=\"middle\">{}</text>\n",
      (x0 + x1) / 2, oy + 17, esc(p.title));
  o += fmt::format(
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
      "fill=\"#fcfcfc\" stroke=\"#444\"/>\n",
      x0, y1, x1 - x0, y0 - y1);
  for (double t : ay.ticks) {
    const double py = ay.map(t, y0, y1);
    o += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"end\">{}</text>\n",
        x0, py, x1, py, x0 - 5, py + 4, fmt_tick(t, TickFormat::kNumber));
  }
  size_t widest = 0;
  for (const auto& c : p.x_categories) widest = std::max(widest, c.size());
  const bool rotate = cat && 6.5 * static_cast<double>(widest) >
                                 0.95 * (x1 - x0) / static_cast<double>(p.x_categories.size());
  for (size_t i = 0; i < ax.ticks.size(); ++i) {
    const double t = ax.ticks[i];
    const double px = ax.map(t, x0, x1);
    const double ly = y0 + 15;
    const std::string label = cat ? p.x_categories[i] : fmt_tick(t, p.x_format);
    o += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>", px, y0,
        px, y1);
    if (rotate)
      o += fmt::format(
          "<text transform=\"translate({:.1f},{:.1f}) rotate(-30)\" font-size=\"11\" "
          "text-anchor=\"end\">{}</text>\n",
          px + 3, ly - 4, esc(label));
    else
      o += fmt::format(
          "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" "
          "text-anchor=\"middle\">{}</text>\n",
          px, ly, esc(label));
  }
  o += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"12\" text-anchor=\"middle\">{}</text>\n",
      (x0 + x1) / 2, y0 + 34 + rot_h, esc(p.x_label));
  o += fmt::format(
      "<text transform=\"translate({:.1f},{:.1f}) rotate(-90)\" font-size=\"12\" "
      "text-anchor=\"middle\">{}</text>\n",
      ox + 16, (y0 + y1) / 2, esc(p.y_label));

  for (size_t si = 0; si < p.series.size(); ++si) {
    const auto& s = p.series[si];
    const char* col = kPalette[(s.color >= 0 ? s.color : static_cast<int>(si)) % kPaletteSize];
    std::string path;
    double prev_py = 0;
    bool first = true;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!usable(s.x[i], p.log_x && !cat) || !usable(s.y[i], p.log_y)) {
        first = true;  // a gap, not a line through missing data
        continue;
      }
      const double px = ax.map(s.x[i], x0, x1), py = ay.map(s.y[i], y0, y1);
      if (first)
        path += fmt::format(" M{:.1f},{:.1f}", px, py);
      else if (p.step)
        path += fmt::format(" H{:.1f} V{:.1f}", px, py);
      else
        path += fmt::format(" L{:.1f},{:.1f}", px, py);
      (void)prev_py;
      prev_py = py;
      first = false;
    }
    if (!path.empty() && p.connect)
      o += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>\n", path,
                       col, s.dashed ? " stroke-dasharray=\"6,4\"" : "");
    if (s.markers)
      for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
        if (usable(s.x[i], p.log_x && !cat) && usable(s.y[i], p.log_y))
          o += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>",
                           ax.map(s.x[i], x0, x1), ay.map(s.y[i], y0, y1), col);
    o += "\n";
  }
  if (own_legend) legend(o, x0, y0 + 62 + rot_h, x1 - x0, p.series);
  o += "</g>\n";
}

}  // namespace

std::string svg_render(const PlotFigure& fig) {
  const int cols = std::max(1, fig.columns);
  const int rows = static_cast<int>((fig.panels.size() + cols - 1) / cols);
  const double width = cols * fig.panel_width + 20;
  double head = 16 + (fig.title.empty() ? 0 : 26) + (fig.subtitle.empty() ? 0 : 18);
  std::vector<PlotSeries> shared;
  if (fig.shared_legend && !fig.panels.empty()) shared = fig.panels.front().series;
  const double shared_h = shared.empty() ? 0 : legend_height(width - 60, shared) + 8;
  // Panels with their own legend grow to fit it.
  double panel_h = fig.panel_height;
  for (const auto& p : fig.panels)
    panel_h = std::max(
        panel_h, fig.panel_height + rotated_label_height(p, fig.panel_width) +
                     (fig.shared_legend ? 0 : legend_height(fig.panel_width - 88, p.series) - 18));
  const double height = head + shared_h + rows * panel_h + 10;

  std::string o = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" viewBox=\"0 0 "
      "{:.0f} {:.0f}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, height, width, height);
  double y = 14;
  if (!fig.title.empty()) {
    y += 16;
    o += fmt::format(
        "<text x=\"{:.0f}\" y=\"{:.0f}\" font-size=\"18\" font-weight=\"bold\" "
        "text-anchor=\"middle\">{}</text>\n",
        width / 2, y, esc(fig.title));
  }
  if (!fig.subtitle.empty()) {
    y += 18;
    o += fmt::format(
        "<text x=\"{:.0f}\" y=\"{:.0f}\" font-size=\"12\" fill=\"#333\" "
        "text-anchor=\"middle\">{}</text>\n",
        width / 2, y, esc(fig.subtitle));
  }
  y += 10;
  if (!shared.empty()) {
    legend(o, 40, y + 8, width - 60, shared);
    y += shared_h;
  }
  for (size_t i = 0; i < fig.panels.size(); ++i) {
    const double ox = 10 + static_cast<double>(i % cols) * fig.panel_width;
    const double oy = y + static_cast<double>(i / cols) * panel_h;
    render_panel(o, fig.panels[i], ox, oy, fig.panel_width, panel_h, !fig.shared_legend);
  }
  o += "</svg>\n";
  return o;
}

Status svg_write(const PlotFigure& fig, const std::string& path) {
  std::ofstream f(path, std::ios::binary);
  if (!f) return io_error("{}: cannot open for writing", path);
  f << svg_render(fig);
  f.close();
  if (!f) return io_error("{}: write failed", path);
  return Status::ok();
}

}  // namespace lk
