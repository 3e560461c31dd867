// The eval matrix: methods × tasks × lengths × sample index, run on one ModelRunner. Samples
// are generated once per (task, length, index) and given to every method, so all methods see
// identical prompts. Each finished sample is appended to the run's SampleLog before the next
// starts; with an output directory, a rerun skips samples already logged (resume).
// A cell that cannot run (context longer than the model's limit, a task too long for its
// length, a method the backend refuses) is recorded as failed samples with the reason; the
// rest of the matrix still runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "eval/model_runner.h"
#include "eval/sample.h"
#include "eval/sample_log.h"
#include "eval/task_spec.h"

namespace lk::eval {

// A task of the run: a generator spec, or a user file with its loaded samples.
struct TaskSource {
  TaskSpec spec;
  std::vector<EvalSample> file_samples;  // spec.is_file() only
};

// Parses every spec and loads every JSONL file. Bad specs, unreadable files and duplicate
// labels fail (nothing has run yet); malformed JSONL lines are appended to `warnings`
// ("file:line: message") and skipped, counted in *bad_lines.
Result<std::vector<TaskSource>> prepare_tasks(const std::vector<std::string>& specs,
                                              std::vector<std::string>* warnings,
                                              int64_t* bad_lines);

struct EvalConfig {
  std::vector<TaskSource> tasks;
  std::vector<std::string> methods;  // validated KV method specs
  std::vector<int64_t> lengths;      // tokens; generator tasks only
  int64_t n = 10;                    // samples per generator cell
  int64_t n_file = -1;               // samples per user file (-1: all)
  uint64_t seed = 0;
  std::string out_dir;                      // empty: keep everything in memory, no resume
  bool progress = false;                    // progress lines on stderr
  const std::atomic<bool>* stop = nullptr;  // when set: stop after the current sample
};

// One row of the report: a (method, task, length) cell.
struct CellRow {
  std::string method, task;
  int64_t length = 0;  // 0 for user files (their samples carry their own lengths)
  int64_t n = 0;       // scored samples
  int64_t n_failed = 0;
  double accuracy = 0.0;               // mean score of scored samples (0..1)
  int64_t peak_kv_bytes = 0;           // max over samples
  double kv_bytes_read_per_token = 0;  // total KV bytes read / decode steps
  double prefill_s = 0.0;              // mean context prefill seconds
  double decode_tok_s = 0.0;           // generated tokens / decode seconds
  double prompt_tokens = 0.0;          // mean first-round prompt tokens
  std::string error;                   // first failure reason, if any
};

struct EvalOutcome {
  std::vector<CellRow> rows;
  std::vector<SampleRecord> records;  // the configured cells' records, in matrix order
  std::vector<std::string> warnings;
  int64_t computed = 0;  // samples run now
  int64_t reused = 0;    // samples taken from an earlier, interrupted run
  bool interrupted = false;
};

// Runs the matrix. Fails only on I/O trouble with the output directory or a resume
// mismatch (the directory holds a run of another model or seed).
Result<EvalOutcome> run_eval(ModelRunner& runner, const EvalConfig& cfg);

// Aggregates records of the configured matrix into rows, in config order.
std::vector<CellRow> aggregate_rows(const EvalConfig& cfg,
                                    const std::vector<SampleRecord>& records);

// Runs one sample under one method (begin, feed each round, decode, score).
SampleRecord run_sample(ModelRunner& runner, const std::string& method, const EvalSample& s);

}  // namespace lk::eval
