// Sweeps and their SVG figures: values in order, each factor applied, Figure 2 and 3 made
// with titled, labelled axes and legends; bad sweep input names the field.
#include "analysis/sweep.h"

#include <gtest/gtest.h>

namespace lk {
namespace {

Scenario base(std::vector<std::string> contexts = {"4K", "50K"}) {
  ScenarioFlags f;
  f.contexts = std::move(contexts);
  f.rounds = 1;
  auto s = scenario_resolve(f);
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  return *s;
}

TEST(Sweep, ContextSweepFollowsTheCostModel) {
  const Scenario s = base();
  auto r = sweep_run(s, "context", {"4K", "50K", "1M"});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->points.size(), 3u);
  EXPECT_EQ(r->points[0].m.context_tokens, 4000);
  EXPECT_EQ(r->points[2].m.context_tokens, 1000000);
  EXPECT_NEAR(r->points[0].m.concurrency / r->points[1].m.concurrency, 12.5, 1e-9);
}

TEST(Sweep, HardwareTpKvHeadsAndCompressionApplyTheirFactor) {
  const Scenario s = base({"50K"});
  auto hw = sweep_run(s, "hardware", {"a100-80gb", "h200"});
  ASSERT_TRUE(hw.is_ok());
  EXPECT_LT(hw->points[1].m.decode_s, hw->points[0].m.decode_s);
  auto tp = sweep_run(s, "tp", {"1", "2", "4"});
  ASSERT_TRUE(tp.is_ok());
  EXPECT_NEAR(tp->points[0].m.decode_s / tp->points[2].m.decode_s, 4.0, 1e-9);
  auto kv = sweep_run(s, "kv-heads", {"8", "32"});
  ASSERT_TRUE(kv.is_ok());
  EXPECT_DOUBLE_EQ(kv->points[1].m.kv_bytes_per_session / kv->points[0].m.kv_bytes_per_session, 4);
  auto c = sweep_run(s, "compression", {"none", "int8+h2o"});
  ASSERT_TRUE(c.is_ok());
  EXPECT_NEAR(c->points[0].m.kv_bytes_per_session / c->points[1].m.kv_bytes_per_session, 10, 1e-9);
}

TEST(Sweep, BadInputNamesTheField) {
  const Scenario s = base();
  auto r = sweep_run(s, "colour", {"1"});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("context, hardware, tp, kv-heads, compression"),
            std::string::npos);
  r = sweep_run(s, "hardware", {"a100-80gb", "tpu"});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("--values"), std::string::npos);
  EXPECT_FALSE(sweep_run(s, "kv-heads", {"57"}).is_ok());
  EXPECT_FALSE(sweep_run(s, "context", {"-1"}).is_ok());
  EXPECT_FALSE(sweep_run(s, "compression", {"snapkv+nope"}).is_ok());
}

TEST(Sweep, FiguresHaveTitlesAxesUnitsAndLegends) {
  std::vector<SweepResult> data;
  auto f2 = figure2(&data);
  ASSERT_TRUE(f2.is_ok()) << f2.status().to_string();
  EXPECT_EQ(f2->panels.size(), 8u);
  const std::string svg = svg_render(*f2);
  for (const char* s : {"Figure 2", "context (tokens, log scale)", "prefill (s)", "decode (s)",
                        "concurrent sessions", "1 out + 1 in (s)", "a100-80gb", "b200",
                        "hardware generation", "4K context", "200K context", "1M", "MI300X"})
    EXPECT_NE(svg.find(s), std::string::npos) << s;
  // Top row: 4K → 1M on three generations.
  EXPECT_EQ(data[0].points.front().m.context_tokens, 4000);
  EXPECT_EQ(data[0].points.back().m.context_tokens, 1000000);

  data.clear();
  auto f3 = figure3(&data);
  ASSERT_TRUE(f3.is_ok());
  const std::string svg3 = svg_render(*f3);
  for (const char* s : {"Figure 3", "Yi-34B-200K prefill", "Command-R-Plus-104B decode 250 tokens",
                        "rounds per session", "input length (tokens, log scale)"})
    EXPECT_NE(svg3.find(s), std::string::npos) << s;
  // Decode dominates prefill as rounds grow; prefill dominates at long inputs.
  const auto& by_len = f3->panels[0].series;
  EXPECT_GT(by_len[0].y.back(), by_len[1].y.back());    // Yi prefill > decode at 128K
  EXPECT_LT(by_len[0].y.front(), by_len[1].y.front());  // and < at 1K
}

TEST(SvgPlot, EscapesTextAndSkipsUnplottablePoints) {
  PlotFigure f;
  f.title = "a < b & c";
  PlotPanel p;
  p.title = "t";
  p.log_y = true;
  p.series.push_back({"s", {1, 2, 3}, {1, 0, 10}, false, -1, true});
  f.panels.push_back(p);
  const std::string svg = svg_render(f);
  EXPECT_NE(svg.find("a &lt; b &amp; c"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
}

}  // namespace
}  // namespace lk
