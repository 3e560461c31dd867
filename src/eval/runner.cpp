#include "eval/runner.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/timer.h"
#include "eval/generators.h"
#include "eval/jsonl_tasks.h"
#include "eval/scoring.h"

namespace lk::eval {

namespace fs = std::filesystem;
using nlohmann::json;

Result<std::vector<TaskSource>> prepare_tasks(const std::vector<std::string>& specs,
                                              std::vector<std::string>* warnings,
                                              int64_t* bad_lines) {
  std::vector<TaskSource> out;
  std::set<std::string> labels;
  *bad_lines = 0;
  for (const auto& s : specs) {
    LK_ASSIGN_OR_RETURN(TaskSpec spec, parse_task_spec(s));
    if (!labels.insert(spec.label).second)
      return invalid_argument("two tasks share the label '{}' (rename one of the files)",
                              spec.label);
    TaskSource src{spec, {}};
    if (spec.is_file()) {
      LK_ASSIGN_OR_RETURN(JsonlTasks t, load_task_jsonl(spec.path, spec.label));
      for (const auto& e : t.errors)
        warnings->push_back(fmt::format("{}:{}: {}", spec.path, e.line, e.message));
      *bad_lines += static_cast<int64_t>(t.errors.size());
      if (t.samples.empty())
        return invalid_argument("task file '{}' holds no valid sample ({} bad lines)", spec.path,
                                t.errors.size());
      src.file_samples = std::move(t.samples);
    }
    out.push_back(std::move(src));
  }
  if (out.empty()) return invalid_argument("no task given (valid: {})", task_family_list());
  return out;
}

SampleRecord run_sample(ModelRunner& runner, const std::string& method, const EvalSample& s) {
  SampleRecord r;
  r.method = method;
  r.task = s.task;
  r.length = s.length;
  r.index = s.index;
  r.id = s.id;
  r.depth = s.depth;
  for (const auto& round : s.rounds) r.answers.push_back(round.answers);
  const TokenCounter& counter = runner.token_counter();
  const int64_t limit = runner.max_context();

  // Refuse before any compute when the whole session cannot fit the model's context.
  int64_t need = 0;
  for (size_t i = 0; i < s.rounds.size(); ++i) {
    int64_t t = counter.count(round_text(s, i));
    if (i == 0) r.prompt_tokens = t;
    need += t + s.rounds[i].max_new_tokens;
  }
  if (need > limit) {
    r.error = fmt::format(
        "context too long: the session needs up to {} tokens (prompt {} + "
        "answers), the model's limit is {}",
        need, r.prompt_tokens, limit);
    return r;
  }
  if (Status st = runner.begin(method); !st.is_ok()) {
    r.error = st.to_string();
    return r;
  }
  for (size_t i = 0; i < s.rounds.size(); ++i) {
    auto fed = runner.feed(round_text(s, i));
    if (!fed.is_ok()) {
      r.error = fed.status().to_string();
      return r;
    }
    if (i == 0) r.prefill_s = fed->seconds;
    auto dec = runner.decode(s.rounds[i].max_new_tokens, /*stop_at_newline=*/true);
    if (!dec.is_ok()) {
      r.error = dec.status().to_string();
      return r;
    }
    r.decode_tokens += dec->tokens;
    r.decode_s += dec->seconds;
    r.predictions.push_back(dec->text);
    r.round_scores.push_back(score_prediction(s.score_mode, dec->text, s.rounds[i].answers));
  }
  double sum = 0;
  for (double x : r.round_scores) sum += x;
  r.score = sum / static_cast<double>(r.round_scores.size());
  KvStats kv = runner.kv_stats();
  r.peak_kv_bytes = kv.peak_bytes;
  r.kv_bytes_read = kv.bytes_read;
  r.kv_read_tokens = kv.decode_tokens;
  r.held_kv_bytes = kv.held_bytes;
  r.compression = kv.compression;
  return r;
}

namespace {

// The cells of the matrix, in report order: task, length, method.
struct Cell {
  size_t task;
  int64_t length;  // 0 for files
  int64_t n;
};

std::vector<Cell> matrix_cells(const EvalConfig& cfg) {
  std::vector<Cell> cells;
  for (size_t t = 0; t < cfg.tasks.size(); ++t) {
    const TaskSource& src = cfg.tasks[t];
    if (src.spec.is_file()) {
      int64_t n = static_cast<int64_t>(src.file_samples.size());
      if (cfg.n_file >= 0) n = std::min(n, cfg.n_file);
      cells.push_back({t, 0, n});
    } else {
      for (int64_t len : cfg.lengths) cells.push_back({t, len, cfg.n});
    }
  }
  return cells;
}

Status check_run_meta(const std::string& out_dir, const json& meta) {
  const fs::path p = fs::path(out_dir) / "run.json";
  std::error_code ec;
  if (fs::exists(p, ec)) {
    std::ifstream f(p);
    json old = json::parse(f, nullptr, false);
    if (old.is_discarded() || !old.is_object())
      return corrupt("'{}' is not valid JSON; use a fresh --out directory", p.string());
    for (const char* key : {"model", "seed", "token_counter"}) {
      if (old.value(key, json()) != meta[key])
        return invalid_argument(
            "--out {} holds a run with {} = {} but this run has {}; resume with the same "
            "settings or use a fresh --out directory",
            out_dir, key, old.value(key, json()).dump(), meta[key].dump());
    }
    return Status::ok();
  }
  std::ofstream f(p);
  f << meta.dump(2) << "\n";
  if (!f) return io_error("cannot write '{}'", p.string());
  return Status::ok();
}

class Progress {
 public:
  Progress(bool on, int64_t total) : on_(on), total_(total), tty_(isatty_stderr()) {}
  void step(const std::string& what, int64_t done) {
    if (!on_) return;
    const double el = timer_.seconds();
    const double eta =
        done > 0 ? el / static_cast<double>(done) * static_cast<double>(total_ - done) : 0;
    std::string line =
        fmt::format("eval: [{}/{}] {}  elapsed {:.0f}s  eta {:.0f}s", done, total_, what, el, eta);
    if (tty_) {
      std::fprintf(stderr, "\r%-110s", line.c_str());
      if (done == total_) std::fprintf(stderr, "\n");
    } else if (done == total_ || el - last_ >= 5.0) {
      std::fprintf(stderr, "%s\n", line.c_str());
      last_ = el;
    }
    std::fflush(stderr);
  }

 private:
  static bool isatty_stderr() { return ::isatty(2) != 0; }
  bool on_;
  int64_t total_;
  bool tty_;
  Timer timer_;
  double last_ = -1e9;
};

}  // namespace

std::vector<CellRow> aggregate_rows(const EvalConfig& cfg,
                                    const std::vector<SampleRecord>& records) {
  std::map<std::tuple<std::string, std::string, int64_t>, std::vector<const SampleRecord*>> by_cell;
  for (const auto& r : records) by_cell[{r.method, r.task, r.length}].push_back(&r);
  std::vector<CellRow> rows;
  for (const Cell& c : matrix_cells(cfg)) {
    for (const auto& m : cfg.methods) {
      CellRow row;
      row.method = m;
      row.task = cfg.tasks[c.task].spec.label;
      row.length = c.length;
      auto it = by_cell.find({m, row.task, c.length});
      if (it == by_cell.end()) {
        rows.push_back(row);
        continue;
      }
      double score = 0, prefill = 0, prompt = 0, dec_s = 0;
      int64_t dec_tok = 0, read = 0, read_tok = 0;
      for (const SampleRecord* r : it->second) {
        if (!r->ok()) {
          ++row.n_failed;
          if (row.error.empty()) row.error = r->error;
          continue;
        }
        ++row.n;
        score += r->score;
        prefill += r->prefill_s;
        prompt += static_cast<double>(r->prompt_tokens);
        dec_s += r->decode_s;
        dec_tok += r->decode_tokens;
        read += r->kv_bytes_read;
        read_tok += r->kv_read_tokens;
        row.peak_kv_bytes = std::max(row.peak_kv_bytes, r->peak_kv_bytes);
      }
      if (row.n > 0) {
        const double n = static_cast<double>(row.n);
        row.accuracy = score / n;
        row.prefill_s = prefill / n;
        row.prompt_tokens = prompt / n;
        row.decode_tok_s = dec_s > 0 ? static_cast<double>(dec_tok) / dec_s : 0.0;
        row.kv_bytes_read_per_token =
            read_tok > 0 ? static_cast<double>(read) / static_cast<double>(read_tok) : 0.0;
      }
      rows.push_back(row);
    }
  }
  return rows;
}

Result<EvalOutcome> run_eval(ModelRunner& runner, const EvalConfig& cfg) {
  for (const auto& m : cfg.methods) LK_CHECK_MSG(!m.empty(), "empty method");
  EvalOutcome out;
  SampleLog log;
  if (!cfg.out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(cfg.out_dir, ec);
    if (ec) return io_error("cannot create --out directory '{}': {}", cfg.out_dir, ec.message());
    json meta = {{"model", runner.model_name()},
                 {"seed", cfg.seed},
                 {"token_counter", runner.token_counter().name()}};
    LK_RETURN_IF_ERROR(check_run_meta(cfg.out_dir, meta));
    LK_RETURN_IF_ERROR(log.open((fs::path(cfg.out_dir) / "samples.jsonl").string()));
    out.warnings = log.warnings();
  } else {
    log.open_in_memory();
  }

  const std::vector<Cell> cells = matrix_cells(cfg);
  auto done = [&](const std::string& m, const std::string& task, int64_t len, int64_t i) {
    auto it = log.records().find({m, task, len, i});
    return it != log.records().end() && it->second.ok();
  };
  int64_t total = 0;
  for (const Cell& c : cells)
    for (int64_t i = 0; i < c.n; ++i)
      for (const auto& m : cfg.methods)
        if (!done(m, cfg.tasks[c.task].spec.label, c.length, i)) ++total;
  Progress progress(cfg.progress, total);
  if (cfg.progress && total == 0 && !cells.empty())
    std::fprintf(stderr, "eval: every sample is already in %s; reporting only\n",
                 cfg.out_dir.c_str());

  for (const Cell& c : cells) {
    const TaskSource& src = cfg.tasks[c.task];
    const std::string& label = src.spec.label;
    for (int64_t i = 0; i < c.n && !out.interrupted; ++i) {
      bool any = false;
      for (const auto& m : cfg.methods) any = any || !done(m, label, c.length, i);
      if (!any) continue;
      // The sample, shared by every method.
      EvalSample sample;
      std::string gen_error;
      if (src.spec.is_file()) {
        sample = src.file_samples[static_cast<size_t>(i)];
      } else if (c.length > runner.max_context()) {
        gen_error =
            fmt::format("context too long: length {} exceeds the model's limit of {} tokens",
                        c.length, runner.max_context());
      } else {
        auto g = generate_sample(src.spec, {cfg.seed, c.length, i, &runner.token_counter()});
        if (g.is_ok())
          sample = std::move(*g);
        else
          gen_error = g.status().to_string();
      }
      for (const auto& m : cfg.methods) {
        if (done(m, label, c.length, i)) continue;
        if (cfg.stop && cfg.stop->load()) {
          out.interrupted = true;
          break;
        }
        SampleRecord r;
        if (!gen_error.empty()) {
          r.method = m;
          r.task = label;
          r.length = c.length;
          r.index = i;
          r.id = fmt::format("{}/{}/{}", label, c.length, i);
          r.error = gen_error;
        } else {
          r = run_sample(runner, m, sample);
          r.length = c.length;  // files: cell length 0
        }
        LK_RETURN_IF_ERROR(log.append(r));
        ++out.computed;
        progress.step(fmt::format("{} {} len={} #{}{}", m, label, c.length, i,
                                  r.ok() ? fmt::format(" score={:.2f}", r.score) : " FAILED"),
                      out.computed);
      }
    }
  }
  // Records of the configured matrix, in matrix order.
  for (const Cell& c : cells)
    for (const auto& m : cfg.methods)
      for (int64_t i = 0; i < c.n; ++i) {
        auto it = log.records().find({m, cfg.tasks[c.task].spec.label, c.length, i});
        if (it != log.records().end()) out.records.push_back(it->second);
      }
  out.reused = static_cast<int64_t>(out.records.size()) - out.computed;
  if (out.reused < 0) out.reused = 0;
  out.rows = aggregate_rows(cfg, out.records);
  return out;
}

}  // namespace lk::eval
