// `longkv eval`: the apples-to-apples harness (docs/eval.md). Runs KV methods × task specs ×
// lengths on one model and reports accuracy beside KV bytes and seconds; exports tasks;
// measures fidelity of next-token distributions on a text file.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "cli/load_flag.h"
#include "core/parallel.h"
#include "eval/engine_backend.h"
#include "eval/fidelity.h"
#include "eval/generators.h"
#include "eval/jsonl_tasks.h"
#include "eval/kv_methods.h"
#include "eval/report.h"
#include "eval/runner.h"

namespace lk::cli {
namespace {

using namespace lk::eval;

std::atomic<bool> g_stop{false};
// First Ctrl-C: finish the current sample, write the reports, exit (resumable). Second:
// the default action, at once. Only async-signal-safe calls here.
extern "C" void on_sigint(int) {
  if (g_stop.exchange(true)) {
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
    return;
  }
  static const char kMsg[] =
      "\nlongkv eval: stopping after the current sample (Ctrl-C again to quit at once)\n";
  ssize_t ignored = ::write(2, kMsg, sizeof(kMsg) - 1);
  (void)ignored;
}

// "1024,4k,128K" -> {1024, 4096, 131072}
Result<std::vector<int64_t>> parse_lengths(const std::string& s) {
  std::vector<int64_t> out;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    std::string p = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    int64_t mult = 1;
    if (!p.empty() && (p.back() == 'k' || p.back() == 'K')) mult = 1024, p.pop_back();
    bool digits =
        !p.empty() && p.size() <= 9 && p.find_first_not_of("0123456789") == std::string::npos;
    int64_t v = digits ? std::stoll(p) * mult : 0;
    if (v <= 0)
      return invalid_argument("--lengths: '{}' is not a positive token count (e.g. 1024,4k,32k)",
                              s.substr(start, comma - start));
    out.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string list_text() {
  std::string s = "task families (--tasks family[:key=value...] or FILE.jsonl):\n";
  for (const auto& f : generator_families()) {
    s += fmt::format("  {:<18} {}\n", f.name, f.summary);
    for (const auto& p : f.params)
      s += fmt::format("      {:<30} {}\n", p.name + "=" + p.default_value, p.help);
  }
  s += "KV methods (--kv):\n";
  for (const auto& m : kv_methods()) s += fmt::format("  {:<18} {}\n", m.name, m.summary);
  return s;
}

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return not_found("cannot open '{}'", path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Options {
  std::string model;
  std::string tokenizer;
  std::vector<std::string> tasks;
  std::string kv = kFullMethod;
  std::string lengths = "4096";
  int64_t n = 10;
  bool n_given = false;
  uint64_t seed = 0;
  bool json = false;
  std::string out_dir;
  int threads = 0;
  std::string export_path;
  std::string token_counter = "model";
  std::string fidelity;
  int64_t fidelity_tokens = 256;
  bool no_progress = false;
  bool list = false;
};

int run(int argc, char** argv) {
  const std::string cmd = "eval";
  Options o;
  CLI::App app{
      "Evaluate KV methods on long-context tasks: accuracy, KV bytes, speed (docs/eval.md)",
      "longkv eval"};
  app.add_option("-m,--model", o.model, "model: GGUF file or safetensors directory");
  app.add_option("--tokenizer", o.tokenizer,
                 "tokenizer file (default: the model's own; needed for llama2.c checkpoints)");
  app.add_option("--tasks", o.tasks,
                 "task specs, comma-separated: generator family[:key=value...] or FILE.jsonl "
                 "(see --list)");
  app.add_option("--kv", o.kv, "KV methods, comma-separated (default full; see --list)");
  app.add_option("--lengths", o.lengths,
                 "context lengths in model tokens, e.g. 1024,4k,32k (default 4096)");
  auto* n_opt =
      app.add_option("-n", o.n, "samples per (task, length) cell (default 10; files: all lines)");
  app.add_option("--seed", o.seed, "task seed (default 0)");
  app.add_flag("--json", o.json, "print the results as JSON instead of a markdown table");
  app.add_option(
      "--out", o.out_dir,
      "output directory: results.{json,csv,md}, samples.jsonl, SVG plots; rerun to resume");
  app.add_option("-t,--threads", o.threads, "threads (default all)");
  bool no_mmap = false;
  add_no_mmap_flag(app, no_mmap);
  app.add_option("--export-tasks", o.export_path,
                 "write the generated tasks to FILE.jsonl and exit");
  app.add_option("--token-counter", o.token_counter,
                 "how task lengths are measured: model (the model's tokenizer) or approx")
      ->check(CLI::IsMember({"model", "approx"}));
  app.add_option("--fidelity", o.fidelity,
                 "text file: KL divergence, top-1 agreement, perplexity vs full");
  app.add_option("--fidelity-tokens", o.fidelity_tokens, "forced positions compared (default 256)");
  app.add_flag("--no-progress", o.no_progress, "no progress lines on stderr");
  app.add_flag("--list", o.list, "list task families, their parameters and the KV methods");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "longkv eval: error: %s\n", e.what());
    return 2;
  }
  o.n_given = n_opt->count() > 0;
  if (o.list) {
    std::fputs(list_text().c_str(), stdout);
    return 0;
  }
  if (o.n < 1) return report_error(cmd, invalid_argument("-n must be at least 1 (got {})", o.n));
  set_num_threads(o.threads);
  apply_no_mmap_flag(no_mmap);

  // Methods, tasks and lengths are all checked before anything runs.
  std::vector<std::string> methods = split_method_list(o.kv);
  if (methods.empty())
    return report_error(cmd, invalid_argument("--kv is empty (valid: {})", kv_method_list()));
  for (const auto& m : methods)
    if (Status st = check_kv_method(m); !st.is_ok()) return report_error(cmd, st);
  auto lengths = parse_lengths(o.lengths);
  if (!lengths.is_ok()) return report_error(cmd, lengths.status());
  std::vector<std::string> specs;
  for (const auto& t : o.tasks)
    for (auto& s : split_task_list(t)) specs.push_back(s);
  if (specs.empty() && o.fidelity.empty())
    return report_error(cmd,
                        invalid_argument("--tasks is required (valid: {})", task_family_list()));
  std::vector<std::string> warnings;
  int64_t bad_lines = 0;
  std::vector<TaskSource> tasks;
  if (!specs.empty()) {
    auto prepared = prepare_tasks(specs, &warnings, &bad_lines);
    for (const auto& w : warnings) std::fprintf(stderr, "longkv eval: warning: %s\n", w.c_str());
    if (!prepared.is_ok()) return report_error(cmd, prepared.status());
    tasks = std::move(*prepared);
    if (bad_lines > 0)
      std::fprintf(stderr, "longkv eval: %lld malformed task line(s) skipped; the rest will run\n",
                   static_cast<long long>(bad_lines));
  }

  if (!o.export_path.empty()) {
    std::unique_ptr<TokenCounter> counter;
    if (o.token_counter == "approx") {
      counter = std::make_unique<ApproxTokenCounter>();
    } else {
      auto c = open_token_counter(o.model, o.tokenizer);
      if (!c.is_ok()) return report_error(cmd, c.status());
      counter = std::move(*c);
    }
    std::ofstream f(o.export_path, std::ios::binary);
    if (!f) return report_error(cmd, io_error("cannot write '{}'", o.export_path));
    int64_t written = 0, failed = 0;
    for (const auto& src : tasks) {
      if (src.spec.is_file()) {
        int64_t n = static_cast<int64_t>(src.file_samples.size());
        if (o.n_given) n = std::min(n, o.n);
        for (int64_t i = 0; i < n; ++i, ++written)
          f << sample_to_jsonl(src.file_samples[static_cast<size_t>(i)]) << "\n";
        continue;
      }
      for (int64_t len : *lengths)
        for (int64_t i = 0; i < o.n; ++i) {
          auto s = generate_sample(src.spec, {o.seed, len, i, counter.get()});
          if (!s.is_ok()) {
            std::fprintf(stderr, "longkv eval: %s length %lld: %s\n", src.spec.label.c_str(),
                         static_cast<long long>(len), s.status().message().c_str());
            ++failed;
            break;  // the same reason holds for every index of this cell
          }
          f << sample_to_jsonl(*s) << "\n";
          ++written;
        }
    }
    f.close();
    if (!f) return report_error(cmd, io_error("error writing '{}'", o.export_path));
    std::fprintf(stderr, "longkv eval: wrote %lld task(s) to %s (lengths measured by %s)\n",
                 static_cast<long long>(written), o.export_path.c_str(), counter->name().c_str());
    return failed > 0 ? 1 : 0;
  }

  if (o.model.empty())
    return report_error(
        cmd, invalid_argument("-m MODEL is required (a GGUF file or a safetensors directory)"));
  if (o.token_counter == "approx")
    return report_error(cmd, invalid_argument("--token-counter approx is for --export-tasks only; "
                                              "a run measures lengths with the model's tokenizer"));
  auto runner = open_model_runner(o.model, {o.tokenizer});
  if (!runner.is_ok()) return report_error(cmd, runner.status());

  EvalConfig cfg;
  cfg.tasks = std::move(tasks);
  cfg.methods = methods;
  cfg.lengths = *lengths;
  cfg.n = o.n;
  cfg.n_file = o.n_given ? o.n : -1;
  cfg.seed = o.seed;
  cfg.out_dir = o.out_dir;
  cfg.progress = !o.no_progress;
  cfg.stop = &g_stop;
  std::signal(SIGINT, on_sigint);

  EvalOutcome outcome;
  if (!cfg.tasks.empty()) {
    auto out = run_eval(**runner, cfg);
    if (!out.is_ok()) return report_error(cmd, out.status());
    outcome = std::move(*out);
    for (const auto& w : outcome.warnings)
      std::fprintf(stderr, "longkv eval: warning: %s\n", w.c_str());
  }
  std::vector<FidelityRow> fidelity;
  if (!o.fidelity.empty() && !g_stop.load()) {
    auto text = read_text_file(o.fidelity);
    if (!text.is_ok()) return report_error(cmd, text.status());
    auto rows = run_fidelity(**runner, *text, o.fidelity, methods, o.fidelity_tokens);
    if (!rows.is_ok()) return report_error(cmd, rows.status());
    fidelity = std::move(*rows);
  }
  nlohmann::json meta = {{"model", (*runner)->model_name()},
                         {"seed", o.seed},
                         {"lengths", *lengths},
                         {"n", o.n},
                         {"methods", methods},
                         {"tasks", specs},
                         {"token_counter", (*runner)->token_counter().name()},
                         {"bad_task_lines", bad_lines},
                         {"samples_computed", outcome.computed},
                         {"samples_reused", outcome.reused},
                         {"interrupted", outcome.interrupted}};
  if (!o.out_dir.empty()) {
    if (Status st = write_reports(o.out_dir, outcome.rows, outcome.records, fidelity, meta);
        !st.is_ok())
      return report_error(cmd, st);
  }
  if (o.json) {
    std::printf("%s\n", results_document(outcome.rows, fidelity, meta).dump(2).c_str());
  } else {
    if (!outcome.rows.empty()) std::printf("%s", rows_markdown(outcome.rows).c_str());
    if (!fidelity.empty()) std::printf("\n%s", fidelity_markdown(fidelity).c_str());
  }
  if (outcome.interrupted) {
    std::fprintf(stderr, "longkv eval: interrupted; %s\n",
                 o.out_dir.empty()
                     ? "results above are partial (use --out DIR to be able to resume)"
                     : "rerun the same command to resume from --out");
    return 1;
  }
  return 0;
}

}  // namespace

LK_REGISTER_COMMAND("eval", "evaluate KV methods: long-context accuracy, KV bytes, speed", run);

}  // namespace lk::cli
