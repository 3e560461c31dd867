#include "eval/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "analysis/svg_plot.h"
#include "eval/svg_heatmap.h"

namespace lk::eval {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  return u == 0 ? fmt::format("{:.0f} B", b) : fmt::format("{:.2f} {}", b, units[u]);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

std::string md_cell(std::string s) {
  for (auto& c : s)
    if (c == '|' || c == '\n' || c == '\r') c = ' ';
  return s;
}

std::string file_safe(const std::string& s) {
  std::string o;
  for (char c : s)
    o += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  return o;
}

Status write_file(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  f.close();
  if (!f) return io_error("cannot write '{}'", p.string());
  return Status::ok();
}

}  // namespace

std::vector<size_t> pareto_front(const std::vector<std::pair<double, double>>& xy) {
  std::vector<size_t> idx(xy.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    return xy[a].first != xy[b].first ? xy[a].first < xy[b].first : xy[a].second > xy[b].second;
  });
  std::vector<size_t> front;
  double best = -std::numeric_limits<double>::infinity();
  for (size_t i : idx)
    if (xy[i].second > best) {
      front.push_back(i);
      best = xy[i].second;
    }
  return front;
}

const std::vector<std::string>& row_columns() {
  static const std::vector<std::string> c = {
      "method",    "task",         "length", "accuracy", "peak_kv_bytes", "kv_bytes_read_per_token",
      "prefill_s", "decode_tok_s", "n",      "n_failed", "prompt_tokens", "error"};
  return c;
}

std::string rows_markdown(const std::vector<CellRow>& rows) {
  std::string s =
      "| method | task | length | accuracy | peak KV | KV read/token | prefill s | decode tok/s | "
      "n | "
      "failed |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  std::vector<std::string> errors;
  for (const auto& r : rows) {
    bool has = r.n > 0;
    s += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", md_cell(r.method),
                     md_cell(r.task), r.length == 0 ? "file" : std::to_string(r.length),
                     has ? fmt::format("{:.3f}", r.accuracy) : "—",
                     has ? human_bytes(static_cast<double>(r.peak_kv_bytes)) : "—",
                     has ? human_bytes(r.kv_bytes_read_per_token) : "—",
                     has ? fmt::format("{:.3f}", r.prefill_s) : "—",
                     has ? fmt::format("{:.1f}", r.decode_tok_s) : "—", r.n, r.n_failed);
    if (!r.error.empty())
      errors.push_back(
          fmt::format("- {} / {} / {}: {}", r.method, r.task, r.length, md_cell(r.error)));
  }
  if (!errors.empty()) {
    s += "\nFailed cells (first reason each):\n";
    for (const auto& e : errors) s += e + "\n";
  }
  return s;
}

std::string rows_csv(const std::vector<CellRow>& rows) {
  std::string s;
  for (size_t i = 0; i < row_columns().size(); ++i) s += (i ? "," : "") + row_columns()[i];
  s += "\n";
  for (const auto& r : rows) {
    bool has = r.n > 0;
    s += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{}\n", csv_field(r.method),
                     csv_field(r.task), r.length, has ? fmt::format("{:.6g}", r.accuracy) : "",
                     has ? std::to_string(r.peak_kv_bytes) : "",
                     has ? fmt::format("{:.6g}", r.kv_bytes_read_per_token) : "",
                     has ? fmt::format("{:.6g}", r.prefill_s) : "",
                     has ? fmt::format("{:.6g}", r.decode_tok_s) : "", r.n, r.n_failed,
                     has ? fmt::format("{:.6g}", r.prompt_tokens) : "", csv_field(r.error));
  }
  return s;
}

json rows_json(const std::vector<CellRow>& rows) {
  json a = json::array();
  for (const auto& r : rows) {
    bool has = r.n > 0;
    json j = {{"method", r.method},
              {"task", r.task},
              {"length", r.length},
              {"n", r.n},
              {"n_failed", r.n_failed}};
    j["accuracy"] = has ? json(r.accuracy) : json(nullptr);
    j["peak_kv_bytes"] = has ? json(r.peak_kv_bytes) : json(nullptr);
    j["kv_bytes_read_per_token"] = has ? json(r.kv_bytes_read_per_token) : json(nullptr);
    j["prefill_s"] = has ? json(r.prefill_s) : json(nullptr);
    j["decode_tok_s"] = has ? json(r.decode_tok_s) : json(nullptr);
    j["prompt_tokens"] = has ? json(r.prompt_tokens) : json(nullptr);
    j["error"] = r.error.empty() ? json(nullptr) : json(r.error);
    a.push_back(j);
  }
  return a;
}

std::string fidelity_markdown(const std::vector<FidelityRow>& rows) {
  std::string s =
      "| method | file | context tokens | forced tokens | KL mean (nats) | KL max | top-1 "
      "agreement | "
      "ppl | ppl full |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& r : rows) {
    if (!r.error.empty()) {
      s += fmt::format("| {} | {} | {} | failed: {} | | | | | |\n", md_cell(r.method),
                       md_cell(r.file), r.context_tokens, md_cell(r.error));
      continue;
    }
    s += fmt::format("| {} | {} | {} | {} | {:.4g} | {:.4g} | {:.3f} | {:.3f} | {:.3f} |\n",
                     md_cell(r.method), md_cell(r.file), r.context_tokens, r.n_tokens, r.kl_mean,
                     r.kl_max, r.top1_agreement, r.ppl, r.ppl_full);
  }
  return s;
}

json fidelity_json(const std::vector<FidelityRow>& rows) {
  json a = json::array();
  for (const auto& r : rows)
    a.push_back({{"method", r.method},
                 {"file", r.file},
                 {"context_tokens", r.context_tokens},
                 {"n_tokens", r.n_tokens},
                 {"kl_mean", r.kl_mean},
                 {"kl_max", r.kl_max},
                 {"top1_agreement", r.top1_agreement},
                 {"ppl", r.ppl},
                 {"ppl_full", r.ppl_full},
                 {"error", r.error.empty() ? json(nullptr) : json(r.error)}});
  return a;
}

json results_document(const std::vector<CellRow>& rows, const std::vector<FidelityRow>& fidelity,
                      const json& meta) {
  return {{"results", rows_json(rows)}, {"fidelity", fidelity_json(fidelity)}, {"meta", meta}};
}

std::vector<PlotFile> make_plots(const std::vector<CellRow>& rows,
                                 const std::vector<SampleRecord>& records) {
  std::vector<PlotFile> out;
  // Heatmaps: per (method, task) with depths: rows = depths, columns = lengths.
  std::map<std::pair<std::string, std::string>,
           std::map<std::pair<double, int64_t>, std::pair<double, int>>>
      cells;
  std::vector<std::pair<std::string, std::string>> order;
  for (const auto& r : records) {
    if (!r.ok() || r.depth < 0) continue;
    auto key = std::make_pair(r.method, r.task);
    if (!cells.count(key)) order.push_back(key);
    auto& c = cells[key][{r.depth, r.length}];
    c.first += r.score;
    c.second += 1;
  }
  for (const auto& key : order) {
    const auto& m = cells[key];
    std::set<double> depths;
    std::set<int64_t> lengths;
    for (const auto& [dl, v] : m) depths.insert(dl.first), lengths.insert(dl.second);
    HeatmapSpec h;
    h.title = fmt::format("Needle retrieval: {} with KV method {}", key.second, key.first);
    h.x_label = "context length (tokens)";
    h.y_label = "needle depth (0 = start, 1 = end of context)";
    h.value_label = "accuracy (fraction correct)";
    for (int64_t l : lengths) h.x_ticks.push_back(std::to_string(l));
    for (double d : depths) {
      h.y_ticks.push_back(fmt::format("{:.0f}%", d * 100));
      std::vector<double> row;
      for (int64_t l : lengths) {
        auto it = m.find({d, l});
        row.push_back(it == m.end() ? std::numeric_limits<double>::quiet_NaN()
                                    : it->second.first / it->second.second);
      }
      h.values.push_back(row);
    }
    out.push_back({fmt::format("heatmap_{}_{}.svg", file_safe(key.first), file_safe(key.second)),
                   svg_heatmap(h)});
  }
  // Pareto: a panel per length; each method one point (mean accuracy over tasks vs the
  // largest peak KV bytes of its cells), and the dashed front of undominated methods.
  std::map<int64_t, std::map<std::string, std::tuple<double, int, int64_t>>> agg;
  std::vector<std::string> methods;
  for (const auto& r : rows) {
    if (r.n == 0 || r.peak_kv_bytes <= 0) continue;
    auto& a = agg[r.length][r.method];
    std::get<0>(a) += r.accuracy;
    std::get<1>(a) += 1;
    std::get<2>(a) = std::max(std::get<2>(a), r.peak_kv_bytes);
    if (std::find(methods.begin(), methods.end(), r.method) == methods.end())
      methods.push_back(r.method);
  }
  if (!agg.empty()) {
    PlotFigure fig;
    fig.title = "Accuracy vs KV memory across methods";
    fig.subtitle =
        "one point per KV method (mean accuracy over tasks, largest peak KV of its cells); dashed: "
        "Pareto front";
    fig.columns = std::min<int>(2, static_cast<int>(agg.size()));
    fig.shared_legend = true;
    for (const auto& [len, ms] : agg) {
      PlotPanel p;
      p.title = len == 0 ? "user task files" : fmt::format("context length {} tokens", len);
      p.x_label = "peak KV cache (bytes)";
      p.y_label = "accuracy (0-1)";
      p.x_format = TickFormat::kBytes;
      std::vector<std::pair<double, double>> xy;
      double lo = std::numeric_limits<double>::infinity(), hi = 0;
      for (size_t i = 0; i < methods.size();
           ++i) {  // every panel lists every method: shared legend
        PlotSeries se;
        se.name = methods[i];
        se.color = static_cast<int>(i);
        auto it = ms.find(methods[i]);
        if (it != ms.end()) {
          double bytes = static_cast<double>(std::get<2>(it->second));
          double acc = std::get<0>(it->second) / std::get<1>(it->second);
          se.x = {bytes};
          se.y = {acc};
          xy.push_back({bytes, acc});
          lo = std::min(lo, bytes);
          hi = std::max(hi, bytes);
        }
        p.series.push_back(se);
      }
      PlotSeries front;
      front.name = "Pareto front";
      front.dashed = true;
      front.markers = false;
      front.color = static_cast<int>(methods.size());
      for (size_t i : pareto_front(xy)) {
        front.x.push_back(xy[i].first);
        front.y.push_back(xy[i].second);
      }
      p.series.push_back(front);
      p.log_x = hi > 10 * lo;
      fig.panels.push_back(p);
    }
    out.push_back({"pareto.svg", svg_render(fig)});
  }
  return out;
}

Status write_reports(const std::string& dir, const std::vector<CellRow>& rows,
                     const std::vector<SampleRecord>& records,
                     const std::vector<FidelityRow>& fidelity, const json& meta) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return io_error("cannot create '{}': {}", dir, ec.message());
  const fs::path d(dir);
  LK_RETURN_IF_ERROR(
      write_file(d / "results.json", results_document(rows, fidelity, meta).dump(2) + "\n"));
  LK_RETURN_IF_ERROR(write_file(d / "results.csv", rows_csv(rows)));
  std::string md = rows.empty() ? std::string() : rows_markdown(rows);
  if (!fidelity.empty()) md += (md.empty() ? "" : "\n") + fidelity_markdown(fidelity);
  LK_RETURN_IF_ERROR(write_file(d / "results.md", md));
  for (const auto& p : make_plots(rows, records)) LK_RETURN_IF_ERROR(write_file(d / p.name, p.svg));
  return Status::ok();
}

}  // namespace lk::eval
