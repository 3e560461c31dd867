#include "eval/runner.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "eval/report.h"
#include "fake_model_runner.h"
#include "test_util.h"

namespace lk::eval {
namespace {

namespace fs = std::filesystem;
using test::FakeModelRunner;

EvalConfig config(const std::vector<std::string>& specs, std::vector<std::string> methods,
                  std::vector<int64_t> lengths, int64_t n) {
  std::vector<std::string> warnings;
  int64_t bad = 0;
  auto tasks = prepare_tasks(specs, &warnings, &bad);
  EXPECT_TRUE(tasks.is_ok()) << tasks.status().to_string();
  EvalConfig c;
  c.tasks = *tasks;
  c.methods = std::move(methods);
  c.lengths = std::move(lengths);
  c.n = n;
  c.seed = 5;
  return c;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

const CellRow* find_row(const std::vector<CellRow>& rows, const std::string& m,
                        const std::string& t, int64_t len) {
  for (const auto& r : rows)
    if (r.method == m && r.task == t && r.length == len) return &r;
  return nullptr;
}

TEST(Runner, MatrixOfMethodsTasksLengths) {
  FakeModelRunner fake;
  EvalConfig cfg = config({"passkey:depths=0,0.25,0.75,1", "niah_single:depths=0,0.25,0.75,1"},
                          {"full", "test_forget_front"}, {1024, 2048}, 8);
  auto out = run_eval(fake, cfg);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  ASSERT_EQ(out->rows.size(), 2u * 2u * 2u);
  ASSERT_EQ(out->records.size(), 2u * 2u * 2u * 8u);
  for (const auto& r : out->rows) {
    EXPECT_EQ(r.n, 8) << r.task;
    EXPECT_EQ(r.n_failed, 0);
    EXPECT_GT(r.peak_kv_bytes, 0);
    EXPECT_GT(r.kv_bytes_read_per_token, 0);
    EXPECT_GT(r.prefill_s, 0);
    EXPECT_GT(r.decode_tok_s, 0);
    EXPECT_GT(r.prompt_tokens, r.length * 0.9);
    if (r.method == "full") EXPECT_DOUBLE_EQ(r.accuracy, 1.0) << r.task << " " << r.length;
    // Forgetting the first half of the context loses the needles there (depth 0 and 0.25).
    if (r.method == "test_forget_front")
      EXPECT_DOUBLE_EQ(r.accuracy, 0.5) << r.task << " " << r.length;
  }
  const std::string pk = "passkey:depths=0,0.25,0.75,1";
  const CellRow* f = find_row(out->rows, "full", pk, 2048);
  const CellRow* h = find_row(out->rows, "test_forget_front", pk, 2048);
  ASSERT_TRUE(f && h);
  EXPECT_LT(h->peak_kv_bytes, f->peak_kv_bytes);
  // Every method got the same prompts: the same ids and answers.
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(out->records[i].answers, out->records[i + 8].answers);
}

TEST(Runner, TooLongCellFailsClearlyAndTheRestRuns) {
  FakeModelRunner fake(3000);
  EvalConfig cfg = config({"passkey"}, {"full"}, {1024, 4096}, 3);
  auto out = run_eval(fake, cfg);
  ASSERT_TRUE(out.is_ok());
  const CellRow* ok = find_row(out->rows, "full", "passkey", 1024);
  const CellRow* bad = find_row(out->rows, "full", "passkey", 4096);
  ASSERT_TRUE(ok && bad);
  EXPECT_EQ(ok->n, 3);
  EXPECT_EQ(bad->n, 0);
  EXPECT_EQ(bad->n_failed, 3);
  EXPECT_NE(bad->error.find("exceeds the model's limit of 3000"), std::string::npos) << bad->error;
  EXPECT_NE(rows_markdown(out->rows).find("Failed cells"), std::string::npos);
  // A session that only overflows with its answers is refused per sample, before compute.
  FakeModelRunner tight(1024 + 30);
  auto out2 = run_eval(tight, config({"multi_round:rounds=3"}, {"full"}, {1024}, 1));
  ASSERT_TRUE(out2.is_ok());
  EXPECT_NE(out2->rows[0].error.find("context too long"), std::string::npos) << out2->rows[0].error;
  EXPECT_EQ(tight.decode_calls, 0);
}

TEST(Runner, MethodRefusedByBackendIsACellError) {
  FakeModelRunner fake;
  auto out = run_eval(fake, config({"passkey"}, {"test_refuse", "full"}, {512}, 2));
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ(out->rows[0].n_failed, 2);
  EXPECT_NE(out->rows[0].error.find("refuses"), std::string::npos);
  EXPECT_EQ(out->rows[1].n, 2);
}

TEST(Runner, MultiRoundAndUserFiles) {
  fs::path dir = lk::test::temp_dir("eval_jsonl");
  {
    std::ofstream f(dir / "mine.jsonl");
    f << R"({"id": "a", "context": "The special code for red-fox is 4242.", "question": "What is the special code for red-fox in the text above?", "answer": "4242"})"
      << "\n{broken\n"
      << R"({"id": "b", "context": "The special code for blue-owl is 77. The special code for old-elk is 99.", "rounds": [{"question": "What is the special code for blue-owl in the text?", "answer": "77"}, {"question": "What is the special code for old-elk in the text?", "answer": ["99"]}]})"
      << "\n";
  }
  std::vector<std::string> warnings;
  int64_t bad = 0;
  auto tasks =
      prepare_tasks({(dir / "mine.jsonl").string(), "multi_round:rounds=3"}, &warnings, &bad);
  ASSERT_TRUE(tasks.is_ok()) << tasks.status().to_string();
  EXPECT_EQ(bad, 1);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("mine.jsonl:2:"), std::string::npos) << warnings[0];
  EvalConfig cfg;
  cfg.tasks = *tasks;
  cfg.methods = {"full"};
  cfg.lengths = {1024};
  cfg.n = 2;
  FakeModelRunner fake;
  auto out = run_eval(fake, cfg);
  ASSERT_TRUE(out.is_ok());
  ASSERT_EQ(out->rows.size(), 2u);
  EXPECT_EQ(out->rows[0].task, "mine");
  EXPECT_EQ(out->rows[0].length, 0);
  EXPECT_EQ(out->rows[0].n, 2);
  EXPECT_DOUBLE_EQ(out->rows[0].accuracy, 1.0);
  EXPECT_DOUBLE_EQ(out->rows[1].accuracy, 1.0);
  EXPECT_EQ(out->records[1].predictions.size(), 2u);  // both rounds of "b" answered
  EXPECT_EQ(out->records[2].round_scores.size(), 3u);
  // A missing file is an error before anything runs.
  auto missing = prepare_tasks({(dir / "nope.jsonl").string()}, &warnings, &bad);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(Runner, InterruptAndResumeGivesTheSameResultWithoutRecomputing) {
  EvalConfig base = config({"passkey", "niah_single"}, {"full", "test_forget_front"}, {1024}, 5);
  FakeModelRunner ref_fake;
  auto ref = run_eval(ref_fake, base);
  ASSERT_TRUE(ref.is_ok());

  fs::path dir = lk::test::temp_dir("eval_resume");
  EvalConfig cfg = base;
  cfg.out_dir = dir.string();
  std::atomic<bool> stop{false};
  cfg.stop = &stop;
  FakeModelRunner first;
  first.stop_after_decodes = 7;
  first.stop_flag = &stop;
  auto a = run_eval(first, cfg);
  ASSERT_TRUE(a.is_ok());
  EXPECT_TRUE(a->interrupted);
  EXPECT_EQ(a->computed, 7);

  // Simulate a kill during a write: a torn last line.
  { std::ofstream(dir / "samples.jsonl", std::ios::app) << "{\"method\": \"full\", \"ta"; }
  stop = false;
  FakeModelRunner second;
  auto b = run_eval(second, cfg);
  ASSERT_TRUE(b.is_ok());
  EXPECT_FALSE(b->interrupted);
  EXPECT_EQ(second.decode_calls, 20 - 7);  // only the missing samples ran
  EXPECT_EQ(b->computed, 13);
  EXPECT_EQ(b->reused, 7);
  ASSERT_EQ(b->warnings.size(), 1u);
  EXPECT_NE(b->warnings[0].find("incomplete last line"), std::string::npos);
  ASSERT_EQ(b->records.size(), ref->records.size());
  for (size_t i = 0; i < ref->records.size(); ++i) {
    EXPECT_EQ(b->records[i].predictions, ref->records[i].predictions) << i;
    EXPECT_EQ(b->records[i].score, ref->records[i].score) << i;
  }
  // Every sample logged exactly once across both runs (plus nothing torn).
  std::string log = slurp(dir / "samples.jsonl");
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 20);

  // Resuming with another seed is refused: the logged samples belong to seed 5.
  EvalConfig other = cfg;
  other.seed = 6;
  FakeModelRunner third;
  auto c = run_eval(third, other);
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.status().message().find("seed"), std::string::npos) << c.status().message();
}

TEST(Runner, SameSeedSameTasksSameGreedyAnswers) {
  EvalConfig cfg =
      config({"niah_multikey", "variable_tracking", "common_words"}, {"full"}, {1024}, 3);
  FakeModelRunner f1, f2;
  auto a = run_eval(f1, cfg), b = run_eval(f2, cfg);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  ASSERT_EQ(a->records.size(), b->records.size());
  for (size_t i = 0; i < a->records.size(); ++i)
    EXPECT_EQ(sample_record_to_json(a->records[i]), sample_record_to_json(b->records[i]));
}

TEST(Reports, FilesTablesAndPlots) {
  FakeModelRunner fake;
  EvalConfig cfg =
      config({"passkey:depths=0,0.5,1"}, {"full", "test_forget_front"}, {512, 1024}, 3);
  cfg.tasks[0].spec.label = "passkey";  // a plain label for the file names below
  auto out = run_eval(fake, cfg);
  ASSERT_TRUE(out.is_ok());
  fs::path dir = lk::test::temp_dir("eval_reports");
  ASSERT_TRUE(
      write_reports(dir.string(), out->rows, out->records, {}, {{"model", "fake"}}).is_ok());
  auto doc = nlohmann::json::parse(slurp(dir / "results.json"));
  ASSERT_EQ(doc["results"].size(), 4u);
  for (const auto& col : {"method", "task", "length", "accuracy", "peak_kv_bytes",
                          "kv_bytes_read_per_token", "prefill_s", "decode_tok_s", "n"})
    EXPECT_TRUE(doc["results"][0].contains(col)) << col;
  std::string csv = slurp(dir / "results.csv");
  EXPECT_EQ(csv.rfind("method,task,length,accuracy,peak_kv_bytes,kv_bytes_read_per_token,prefill_s,"
                      "decode_tok_s,n",
                      0),
            0u);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5);
  EXPECT_NE(slurp(dir / "results.md").find("| full | passkey | 512 | 1.000 |"), std::string::npos);
  std::string heat = slurp(dir / "heatmap_test_forget_front_passkey.svg");
  EXPECT_NE(heat.find("needle depth"), std::string::npos);
  EXPECT_NE(heat.find("context length (tokens)"), std::string::npos);
  EXPECT_NE(heat.find(">0.00<"), std::string::npos);  // depth 0 lost
  std::string pareto = slurp(dir / "pareto.svg");
  EXPECT_NE(pareto.find("peak KV cache (bytes)"), std::string::npos);
  EXPECT_NE(pareto.find("context length 1024 tokens"), std::string::npos);
  EXPECT_NE(pareto.find("Pareto front"), std::string::npos);
  EXPECT_NE(pareto.find("test_forget_front"), std::string::npos);
}

TEST(Reports, ParetoFrontKeepsOnlyUndominatedPoints) {
  std::vector<std::pair<double, double>> p = {{10, 0.9}, {5, 0.95}, {2, 0.5}, {7, 0.4}, {1, 0.1}};
  EXPECT_EQ(pareto_front(p), (std::vector<size_t>{4, 2, 1}));
}

}  // namespace
}  // namespace lk::eval
