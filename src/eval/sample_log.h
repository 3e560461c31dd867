// The per-sample log of a run: samples.jsonl in the output directory, one JSON object per
// finished sample, appended and flushed as each sample completes. It is the run's source of
// truth: an interrupted run resumes from it (samples already logged without error are not
// recomputed), and every report is aggregated from it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "core/check.h"
#include "core/status.h"

namespace lk::eval {

struct SampleRecord {
  std::string method, task;
  int64_t length = 0, index = 0;
  std::string id;
  double depth = -1;
  double score = 0.0;                // mean of round scores
  std::vector<double> round_scores;  // per round
  std::vector<std::string> predictions;
  std::vector<std::vector<std::string>> answers;
  int64_t prompt_tokens = 0;  // tokens of the first round's prompt
  double prefill_s = 0.0;     // first round (context) prefill
  int64_t decode_tokens = 0;
  double decode_s = 0.0;
  int64_t peak_kv_bytes = 0;
  int64_t kv_bytes_read = 0;
  int64_t kv_read_tokens = 0;  // decode steps kv_bytes_read covers
  int64_t held_kv_bytes = 0;   // KV bytes held at the end of the session (after compression)
  std::string compression;     // compression report JSON (counters per layer/head); "" = full
  std::string error;           // non-empty: the sample failed (not scored)

  bool ok() const { return error.empty(); }
};

using SampleKey =
    std::tuple<std::string, std::string, int64_t, int64_t>;  // method, task, length, index
inline SampleKey sample_key(const SampleRecord& r) {
  return {r.method, r.task, r.length, r.index};
}

std::string sample_record_to_json(const SampleRecord& r);
Result<SampleRecord> sample_record_from_json(const std::string& line);

class SampleLog {
 public:
  ~SampleLog();
  // Opens (creating) path for appending, after loading the records already there. A torn
  // last line (the run was killed mid-write) is cut off; other unreadable lines are
  // reported in `warnings` and skipped. Later records of a key replace earlier ones.
  Status open(const std::string& path);
  const std::map<SampleKey, SampleRecord>& records() const { return records_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Appends and flushes one record (and keeps it in records()).
  Status append(const SampleRecord& r);
  // In-memory only (no --out): records are kept but not written.
  void open_in_memory() { in_memory_ = true; }

 private:
  std::map<SampleKey, SampleRecord> records_;
  std::vector<std::string> warnings_;
  std::FILE* file_ = nullptr;
  bool in_memory_ = false;
  std::string path_;
};

}  // namespace lk::eval
