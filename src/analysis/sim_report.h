// Output of `longkv simulate`: the text report, JSON, and the timeline plot.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "analysis/simulator.h"
#include "analysis/svg_plot.h"

namespace lk {

std::string sim_report(const SimConfig& c, const SimResult& r, const std::string& scenario_name);
nlohmann::json sim_json(const SimConfig& c, const SimResult& r);
// Three panels over simulated time: KV resident vs the budget; running / waiting / idle
// sessions; bytes moved over the host links.
PlotFigure sim_timeline_figure(const SimConfig& c, const SimResult& r, const std::string& title);

}  // namespace lk
