// Renders `longkv analyze` results: a readable terminal report, JSON (FRAMEWORK.md's
// metric keys at the top level, for the first context) and CSV (one row per context).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/errata.h"
#include "analysis/scenario.h"

namespace lk {

// The scenario header (model, hardware, workload, compression).
std::string report_header(const Scenario& s);
// Metrics side by side, one column per context, with the resource bounding each.
std::string report_table(const Scenario& s, const std::vector<Metrics>& points);
// The errata of FRAMEWORK.md's running example; `full` adds the explanation of every row.
std::string report_errata(bool full);

nlohmann::json metrics_json(const Metrics& m);
nlohmann::json scenario_json(const Scenario& s);
nlohmann::json errata_json();
// Top level: the first point's metrics, then "scenario", "points" (all contexts).
nlohmann::json report_json(const Scenario& s, const std::vector<Metrics>& points, bool errata);

std::string csv_header();
std::string csv_row(const std::string& label, const Metrics& m);

}  // namespace lk
