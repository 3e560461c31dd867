#include "eval/jsonl_tasks.h"

#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace lk::eval {

namespace {

using nlohmann::json;

constexpr int kDefaultMaxNewTokens = 32;
constexpr const char* kDefaultPrefix = "Answer:";

// Reads "answer": a non-empty string or a non-empty list of non-empty strings.
Status read_answers(const json& j, const std::string& where, std::vector<std::string>* out) {
  auto it = j.find("answer");
  if (it == j.end()) return invalid_argument("{}: missing field 'answer'", where);
  if (it->is_string()) {
    out->push_back(it->get<std::string>());
  } else if (it->is_array()) {
    for (const auto& a : *it) {
      if (!a.is_string())
        return invalid_argument("{}: 'answer' list must hold strings only", where);
      out->push_back(a.get<std::string>());
    }
  } else {
    return invalid_argument("{}: 'answer' must be a string or a list of strings", where);
  }
  if (out->empty()) return invalid_argument("{}: 'answer' list is empty", where);
  for (const auto& a : *out)
    if (a.find_first_not_of(" \t\r\n") == std::string::npos)
      return invalid_argument("{}: an answer is empty", where);
  return Status::ok();
}

Status read_string(const json& j, const char* key, const std::string& where, bool required,
                   std::string* out) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) return invalid_argument("{}: missing field '{}'", where, key);
    return Status::ok();
  }
  if (!it->is_string()) return invalid_argument("{}: '{}' must be a string", where, key);
  *out = it->get<std::string>();
  return Status::ok();
}

Status read_max_new(const json& j, const std::string& where, int* out) {
  auto it = j.find("max_new_tokens");
  if (it == j.end()) return Status::ok();
  if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 4096)
    return invalid_argument("{}: 'max_new_tokens' must be an integer in [1, 4096]", where);
  *out = static_cast<int>(it->get<int64_t>());
  return Status::ok();
}

Status read_round(const json& j, const std::string& where, const std::string& prefix, int max_new,
                  EvalRound* r) {
  if (!j.is_object()) return invalid_argument("{}: a round must be an object", where);
  LK_RETURN_IF_ERROR(read_string(j, "question", where, true, &r->question));
  LK_RETURN_IF_ERROR(read_answers(j, where, &r->answers));
  r->answer_prefix = prefix;
  LK_RETURN_IF_ERROR(read_string(j, "answer_prefix", where, false, &r->answer_prefix));
  r->max_new_tokens = max_new;
  return read_max_new(j, where, &r->max_new_tokens);
}

Status parse_line(const json& j, EvalSample* s) {
  if (!j.is_object()) return invalid_argument("expected a JSON object");
  LK_RETURN_IF_ERROR(read_string(j, "context", "line", true, &s->context));
  if (auto it = j.find("id"); it != j.end()) {
    if (it->is_string())
      s->id = it->get<std::string>();
    else if (it->is_number_integer())
      s->id = std::to_string(it->get<int64_t>());
    else
      return invalid_argument("'id' must be a string or an integer");
    if (s->id.empty()) return invalid_argument("'id' is empty");
  }
  std::string score = "contains";
  LK_RETURN_IF_ERROR(read_string(j, "score", "line", false, &score));
  if (!score_mode_from_name(score, &s->score_mode))
    return invalid_argument("'score' is '{}' (valid: exact, contains, all)", score);
  std::string prefix = kDefaultPrefix;
  LK_RETURN_IF_ERROR(read_string(j, "answer_prefix", "line", false, &prefix));
  int max_new = kDefaultMaxNewTokens;
  LK_RETURN_IF_ERROR(read_max_new(j, "line", &max_new));
  // Optional fields written by --export-tasks (kept so exports round-trip).
  if (auto it = j.find("depth"); it != j.end() && it->is_number()) s->depth = it->get<double>();
  if (auto it = j.find("length"); it != j.end() && it->is_number_integer())
    s->length = it->get<int64_t>();

  const bool has_rounds = j.contains("rounds"), has_question = j.contains("question");
  if (has_rounds && has_question)
    return invalid_argument("give either 'question'/'answer' or 'rounds', not both");
  if (has_rounds) {
    const json& rounds = *j.find("rounds");
    if (!rounds.is_array() || rounds.empty())
      return invalid_argument("'rounds' must be a non-empty list of {{question, answer}} objects");
    for (size_t i = 0; i < rounds.size(); ++i) {
      EvalRound r;
      LK_RETURN_IF_ERROR(read_round(rounds[i], fmt::format("rounds[{}]", i), prefix, max_new, &r));
      s->rounds.push_back(std::move(r));
    }
  } else {
    if (!has_question) return invalid_argument("missing field 'question' (or 'rounds')");
    EvalRound r;
    LK_RETURN_IF_ERROR(read_round(j, "line", prefix, max_new, &r));
    s->rounds.push_back(std::move(r));
  }
  return Status::ok();
}

}  // namespace

JsonlTasks parse_task_jsonl(std::string_view content, const std::string& label) {
  JsonlTasks out;
  std::set<std::string> ids;
  int64_t line_no = 0;
  size_t start = 0;
  while (start < content.size()) {
    size_t nl = content.find('\n', start);
    std::string_view line =
        content.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? content.size() : nl + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    EvalSample s;
    Status st = j.is_discarded() ? invalid_argument("not valid JSON") : parse_line(j, &s);
    if (st.is_ok() && s.id.empty()) s.id = fmt::format("line{}", line_no);
    if (st.is_ok() && !ids.insert(s.id).second) st = invalid_argument("duplicate id '{}'", s.id);
    if (!st.is_ok()) {
      std::string msg = st.message();
      if (msg.rfind("line: ", 0) == 0) msg = msg.substr(6);
      out.errors.push_back({line_no, msg});
      continue;
    }
    s.task = label;
    s.index = static_cast<int64_t>(out.samples.size());
    out.samples.push_back(std::move(s));
  }
  return out;
}

Result<JsonlTasks> load_task_jsonl(const std::string& path, const std::string& label) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return not_found("cannot open task file '{}'", path);
  std::stringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return io_error("error reading task file '{}'", path);
  return parse_task_jsonl(ss.str(), label);
}

std::string sample_to_jsonl(const EvalSample& s) {
  json j;
  j["id"] = s.id;
  j["task"] = s.task;
  j["length"] = s.length;
  j["index"] = s.index;
  if (s.depth >= 0) j["depth"] = s.depth;
  j["score"] = score_mode_name(s.score_mode);
  j["context"] = s.context;
  json rounds = json::array();
  for (const auto& r : s.rounds)
    rounds.push_back({{"question", r.question},
                      {"answer", r.answers},
                      {"answer_prefix", r.answer_prefix},
                      {"max_new_tokens", r.max_new_tokens}});
  j["rounds"] = rounds;
  // Replace invalid UTF-8 rather than throw: user contexts may hold any bytes.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace lk::eval
