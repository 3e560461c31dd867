// Reports of an eval run: the rows as a markdown table, CSV and JSON; the needle heatmaps
// (depth × length per method and needle task) and the accuracy-vs-KV-bytes Pareto plot; and
// writing all of them into the output directory.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "eval/fidelity.h"
#include "eval/runner.h"

namespace lk::eval {

// Column order shared by every format.
const std::vector<std::string>& row_columns();

std::string rows_markdown(const std::vector<CellRow>& rows);
std::string rows_csv(const std::vector<CellRow>& rows);
nlohmann::json rows_json(const std::vector<CellRow>& rows);  // a list of objects
std::string fidelity_markdown(const std::vector<FidelityRow>& rows);
nlohmann::json fidelity_json(const std::vector<FidelityRow>& rows);

// {"results": [...], "fidelity": [...], "meta": meta}
nlohmann::json results_document(const std::vector<CellRow>& rows,
                                const std::vector<FidelityRow>& fidelity,
                                const nlohmann::json& meta);

struct PlotFile {
  std::string name;  // file name, e.g. "heatmap_full_niah_single.svg"
  std::string svg;
};
// Heatmaps for every (method, task) whose samples carry depths and a Pareto plot when any
// row has KV bytes.
std::vector<PlotFile> make_plots(const std::vector<CellRow>& rows,
                                 const std::vector<SampleRecord>& records);

// Indices of the Pareto-optimal points (least x, most y), sorted by x: a point is dropped
// when another has no more bytes and more accuracy.
std::vector<size_t> pareto_front(const std::vector<std::pair<double, double>>& xy);

// Writes results.json, results.csv, results.md and the plots into dir (samples.jsonl and
// run.json are written by the runner as it goes).
Status write_reports(const std::string& dir, const std::vector<CellRow>& rows,
                     const std::vector<SampleRecord>& records,
                     const std::vector<FidelityRow>& fidelity, const nlohmann::json& meta);

}  // namespace lk::eval
