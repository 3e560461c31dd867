#include "eval/sample_log.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace lk::eval {

using nlohmann::json;

std::string sample_record_to_json(const SampleRecord& r) {
  json j = {{"method", r.method},
            {"task", r.task},
            {"length", r.length},
            {"index", r.index},
            {"id", r.id},
            {"score", r.score},
            {"round_scores", r.round_scores},
            {"predictions", r.predictions},
            {"answers", r.answers},
            {"prompt_tokens", r.prompt_tokens},
            {"prefill_s", r.prefill_s},
            {"decode_tokens", r.decode_tokens},
            {"decode_s", r.decode_s},
            {"peak_kv_bytes", r.peak_kv_bytes},
            {"kv_bytes_read", r.kv_bytes_read},
            {"kv_read_tokens", r.kv_read_tokens},
            {"held_kv_bytes", r.held_kv_bytes}};
  if (!r.compression.empty()) j["compression"] = json::parse(r.compression, nullptr, false);
  if (r.depth >= 0) j["depth"] = r.depth;
  if (!r.error.empty()) j["error"] = r.error;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<SampleRecord> sample_record_from_json(const std::string& line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return corrupt("not a JSON object");
  SampleRecord r;
  try {
    r.method = j.at("method").get<std::string>();
    r.task = j.at("task").get<std::string>();
    r.length = j.at("length").get<int64_t>();
    r.index = j.at("index").get<int64_t>();
    r.id = j.value("id", "");
    r.depth = j.value("depth", -1.0);
    r.score = j.value("score", 0.0);
    r.round_scores = j.value("round_scores", std::vector<double>{});
    r.predictions = j.value("predictions", std::vector<std::string>{});
    r.answers = j.value("answers", std::vector<std::vector<std::string>>{});
    r.prompt_tokens = j.value("prompt_tokens", int64_t{0});
    r.prefill_s = j.value("prefill_s", 0.0);
    r.decode_tokens = j.value("decode_tokens", int64_t{0});
    r.decode_s = j.value("decode_s", 0.0);
    r.peak_kv_bytes = j.value("peak_kv_bytes", int64_t{0});
    r.kv_bytes_read = j.value("kv_bytes_read", int64_t{0});
    r.kv_read_tokens = j.value("kv_read_tokens", int64_t{0});
    r.held_kv_bytes = j.value("held_kv_bytes", int64_t{0});
    if (j.contains("compression")) r.compression = j["compression"].dump();
    r.error = j.value("error", "");
  } catch (const json::exception& e) {
    return corrupt("bad field: {}", e.what());
  }
  return r;
}

SampleLog::~SampleLog() {
  if (file_) std::fclose(file_);
}

Status SampleLog::open(const std::string& path) {
  path_ = path;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return io_error("cannot read '{}'", path);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string all = ss.str();
    // Cut a torn last line: everything after the last newline was never completed.
    size_t keep = all.rfind('\n');
    keep = keep == std::string::npos ? 0 : keep + 1;
    if (keep != all.size()) {
      warnings_.push_back(
          fmt::format("{}: dropped an incomplete last line (interrupted write)", path));
      std::filesystem::resize_file(path, keep, ec);
      if (ec) return io_error("cannot truncate '{}': {}", path, ec.message());
      all.resize(keep);
    }
    size_t start = 0;
    int64_t line_no = 0;
    while (start < all.size()) {
      size_t nl = all.find('\n', start);
      std::string line = all.substr(start, nl - start);
      start = nl + 1;
      ++line_no;
      if (line.empty()) continue;
      auto r = sample_record_from_json(line);
      if (!r.is_ok()) {
        warnings_.push_back(fmt::format("{}:{}: skipped: {}", path, line_no, r.status().message()));
        continue;
      }
      records_[sample_key(*r)] = std::move(*r);
    }
  }
  file_ = std::fopen(path.c_str(), "ab");
  if (!file_) return io_error("cannot open '{}' for appending", path);
  return Status::ok();
}

Status SampleLog::append(const SampleRecord& r) {
  records_[sample_key(r)] = r;
  if (in_memory_) return Status::ok();
  LK_CHECK_MSG(file_ != nullptr, "SampleLog::append before open");
  std::string line = sample_record_to_json(r) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    return io_error("cannot write '{}'", path_);
  return Status::ok();
}

}  // namespace lk::eval
