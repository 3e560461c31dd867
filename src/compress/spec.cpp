#include "compress/spec.h"

#include "core/byte_size.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "compress/dms.h"
#include "compress/token_methods.h"

namespace lk::compress {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t i = s.find(sep, start);
    out.push_back(s.substr(start, i == std::string::npos ? std::string::npos : i - start));
    if (i == std::string::npos) break;
    start = i + 1;
  }
  return out;
}

bool parse_double(const std::string& s, double* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(*out);
}

// Knobs each token method accepts, with their valid ranges [lo, hi]. A knob with `choices`
// ("max,avg") takes one of those words and stores its index.
struct Knob {
  const char* name;
  double lo, hi, def;
  bool integer;
  const char* choices = nullptr;
};
const std::map<std::string, std::vector<Knob>>& knobs() {
  static const std::map<std::string, std::vector<Knob>> k = {
      {"streaming", {{"sinks", 0, 1 << 20, 4, true}}},
      {"h2o", {{"recent", 0, 1, 0.5, false}, {"score", 0, 1, 0, true, "sum,mean"}}},
      {"tova", {{"scope", 0, 1, 0, true, "group,layer"}}},
      {"snapkv",
       {{"window", 1, 1 << 20, 32, true},
        {"kernel", 1, 255, 7, true},
        {"pool", 0, 1, 0, true, "max,avg"}}},
      {"pyramidkv",
       {{"window", 1, 1 << 20, 32, true},
        {"kernel", 1, 255, 7, true},
        {"beta", 1, 1e6, 20, false},
        {"pool", 0, 1, 0, true, "max,avg"}}},
      {"adakv",
       {{"window", 1, 1 << 20, 32, true},
        {"kernel", 1, 255, 7, true},
        {"floor", 0, 1, 0.2, false},
        {"pool", 0, 1, 0, true, "max,avg"}}},
      {"dms", {{"window", 0, 1 << 20, 256, true}, {"threshold", 0, 1, 0.0, false}}},
  };
  return k;
}

}  // namespace

const std::vector<std::string>& token_method_names() {
  static const std::vector<std::string> v = {"streaming", "h2o",   "tova", "snapkv",
                                             "pyramidkv", "adakv", "dms"};
  return v;
}

const std::vector<std::string>& all_method_names() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> a = token_method_names();
    a.insert(a.end(), {"quest", "duo", "minicache", "demote", "int8", "kivi", "mixed"});
    return a;
  }();
  return v;
}

Result<Budget> parse_budget(const std::string& t) {
  Budget b;
  double x = 0;
  auto bad = [&]() {
    return invalid_argument(
        "budget '{}' is not valid (forms: a ratio in (0, 1] such as 0.25, 'Nx' with N >= 1 "
        "such as 4x, or bytes such as 64MiB, 1GB, 4096B)",
        t);
  };
  if (t.empty()) return bad();
  if (t.back() == 'x' || t.back() == 'X') {
    if (!parse_double(t.substr(0, t.size() - 1), &x) || x < 1.0) return bad();
    b.kind = Budget::Kind::kRatio;
    b.ratio = 1.0 / x;
    return b;
  }
  if (const auto unit = split_byte_unit(t, /*short_units=*/false)) {
    if (!parse_double(std::string(unit->number), &x) || x <= 0) return bad();
    b.kind = Budget::Kind::kBytes;
    b.bytes = static_cast<int64_t>(std::llround(x * unit->multiplier));
    if (b.bytes <= 0) return bad();
    return b;
  }
  if (!parse_double(t, &x)) return bad();
  if (!(x > 0.0 && x <= 1.0))
    return invalid_argument("ratio {} out of range: the share of tokens kept must be in (0, 1]", t);
  b.kind = Budget::Kind::kRatio;
  b.ratio = x;
  return b;
}

Result<CompressionSpec> parse_compression_spec(const std::string& text) {
  CompressionSpec spec;
  spec.text = text;
  if (text.empty() || text == "full") return spec;
  for (const std::string& part : split(text, '+')) {
    std::vector<std::string> args = split(part, ':');
    const std::string name = args[0];
    args.erase(args.begin());
    if (name.empty())
      return invalid_argument("--kv '{}': empty method name (valid: {})", text,
                              join(all_method_names()));
    if (name == "full")
      return invalid_argument("--kv '{}': 'full' cannot be composed with other methods", text);
    auto kn = knobs().find(name);
    if (kn != knobs().end()) {
      if (!spec.token_method.empty())
        return invalid_argument(
            "--kv '{}': two token-eviction methods ('{}' and '{}'); compose at most one of {} "
            "with a storage format (int8, kivi) and quest",
            text, spec.token_method, name, join(token_method_names()));
      spec.token_method = name;
      for (const Knob& k : kn->second) spec.params[k.name] = k.def;
      size_t i = 0;
      if (name != "dms") {  // dms decides by model or threshold; a budget is optional
        if (args.empty() || args[0].find('=') != std::string::npos)
          return invalid_argument("--kv '{}': method '{}' needs a budget first, e.g. {}:0.25", text,
                                  name, name);
      }
      if (!args.empty() && args[0].find('=') == std::string::npos) {
        auto b = parse_budget(args[0]);
        if (!b.is_ok()) return b.status().with_context(fmt::format("--kv '{}': {}", text, name));
        spec.budget = *b;
        i = 1;
      }
      for (; i < args.size(); ++i) {
        const size_t eq = args[i].find('=');
        std::string key = eq == std::string::npos ? args[i] : args[i].substr(0, eq);
        std::vector<std::string> valid;
        const Knob* knob = nullptr;
        for (const Knob& k : kn->second) {
          valid.push_back(k.name);
          if (key == k.name) knob = &k;
        }
        if (!knob || eq == std::string::npos)
          return invalid_argument("--kv '{}': {} has no option '{}' (valid: {})", text, name,
                                  args[i], valid.empty() ? "none" : join(valid) + ", as key=value");
        double v = 0;
        if (knob->choices) {
          const std::vector<std::string> words = split(knob->choices, ',');
          const auto w = std::find(words.begin(), words.end(), args[i].substr(eq + 1));
          if (w == words.end())
            return invalid_argument("--kv '{}': {}:{} must be one of {}", text, name, key,
                                    join(words));
          spec.params[key] = static_cast<double>(w - words.begin());
          spec.given.push_back(key);
          continue;
        }
        if (!parse_double(args[i].substr(eq + 1), &v) || v < knob->lo || v > knob->hi ||
            (knob->integer && v != std::floor(v)))
          return invalid_argument("--kv '{}': {}:{} must be {} in [{}, {}]", text, name, key,
                                  knob->integer ? "an integer" : "a number", knob->lo, knob->hi);
        spec.params[key] = v;
        spec.given.push_back(key);
      }
      if (name == "dms" && spec.budget.kind != Budget::Kind::kNone)
        return invalid_argument(
            "--kv '{}': dms takes no budget (its decisions come from the model or from "
            "threshold=T); options: window, threshold",
            text);
      continue;
    }
    if (name == "int8" || name == "kivi" || name == "mixed") {
      if (spec.has_format || spec.mixed)
        return invalid_argument(
            "--kv '{}': two storage formats ('{}' and '{}'); choose one of int8, kivi:4, kivi:2, "
            "mixed",
            text, spec.format_method, name);
      if (name == "mixed") {
        spec.mixed = true;
        spec.format_method = name;
        for (const std::string& a : args) {
          const size_t eq = a.find('=');
          const std::string key = a.substr(0, eq);
          const std::string val = eq == std::string::npos ? "" : a.substr(eq + 1);
          double v = 0;
          if (eq != std::string::npos && key == "window") {
            if (!parse_double(val, &v) || v < 0 || v > (1 << 20) || v != std::floor(v))
              return invalid_argument(
                  "--kv '{}': mixed:window must be an integer in [0, 1048576] (the recent tokens "
                  "of each (layer, kv-head) kept in full precision)",
                  text);
            spec.mixed_window = static_cast<int>(v);
          } else if (eq != std::string::npos && key == "old") {
            if (val == "int8") {
              spec.mixed_old = KvFormat::kInt8;
            } else if (val == "kivi4" || val == "int4") {
              spec.mixed_old = KvFormat::kInt4;
            } else if (val == "kivi2" || val == "int2") {
              spec.mixed_old = KvFormat::kInt2;
            } else {
              return invalid_argument(
                  "--kv '{}': mixed:old '{}' is not a storage format for old blocks (valid: int8, "
                  "kivi4, kivi2)",
                  text, val);
            }
          } else {
            return invalid_argument(
                "--kv '{}': mixed option '{}' is not valid (valid: window=N (recent tokens kept "
                "in full precision, default 256), old=int8|kivi4|kivi2 (format of older blocks, "
                "default kivi4))",
                text, a);
          }
        }
        continue;
      }
      spec.has_format = true;
      spec.format_method = name;
      if (name == "int8") {
        if (!args.empty()) return invalid_argument("--kv '{}': int8 takes no argument", text);
        spec.format = KvFormat::kInt8;
      } else {
        if (args.size() != 1 || (args[0] != "4" && args[0] != "2"))
          return invalid_argument("--kv '{}': kivi needs its bits: kivi:4 or kivi:2", text);
        spec.format = args[0] == "4" ? KvFormat::kInt4 : KvFormat::kInt2;
      }
      continue;
    }
    if (name == "quest") {
      if (spec.quest) return invalid_argument("--kv '{}': quest given twice", text);
      if (args.size() != 1)
        return invalid_argument("--kv '{}': quest needs the tokens a query reads, e.g. quest:0.25",
                                text);
      auto b = parse_budget(args[0]);
      if (!b.is_ok()) return b.status().with_context(fmt::format("--kv '{}': quest", text));
      spec.quest = true;
      spec.quest_budget = *b;
      continue;
    }
    if (name == "demote") {
      if (spec.demote) return invalid_argument("--kv '{}': demote given twice", text);
      if (args.size() > 1)
        return invalid_argument(
            "--kv '{}': demote takes one argument, the recall budget "
            "(a ratio of the demoted tokens such as demote:0.25, or Nx)",
            text);
      spec.demote = true;
      if (!args.empty()) {
        auto b = parse_budget(args[0]);
        if (!b.is_ok()) return b.status().with_context(fmt::format("--kv '{}': demote", text));
        if (b->kind != Budget::Kind::kRatio)
          return invalid_argument(
              "--kv '{}': demote's recall budget is a ratio of the demoted "
              "tokens (0.25 or 4x), not bytes",
              text);
        spec.recall_budget = *b;
      }
      continue;
    }
    if (name == "minicache") {
      if (spec.minicache) return invalid_argument("--kv '{}': minicache given twice", text);
      spec.minicache = true;
      for (const std::string& a : args) {
        const size_t eq = a.find('=');
        const std::string key = a.substr(0, eq);
        double v = 0;
        const bool num = eq != std::string::npos && parse_double(a.substr(eq + 1), &v);
        if (num && key == "start" && v >= 0 && v <= 1 << 20 && v == std::floor(v)) {
          spec.minicache_start = static_cast<int>(v);
        } else if (num && key == "retain" && v >= 0 && v <= 1) {
          spec.minicache_retain = v;
        } else {
          return invalid_argument(
              "--kv '{}': minicache option '{}' is not valid (valid: start=L (first merged "
              "layer, default: the deep half), retain=R in [0, 1] (share kept unmerged, default "
              "0.1))",
              text, a);
        }
      }
      continue;
    }
    if (name == "duo") {
      if (spec.duo) return invalid_argument("--kv '{}': duo given twice", text);
      spec.duo = true;
      size_t i = 0;
      if (!args.empty() && args[0].find('=') == std::string::npos) {
        double r = 0;
        if (!parse_double(args[0], &r) || !(r >= 0.0 && r <= 1.0))
          return invalid_argument(
              "--kv '{}': duo's argument is the share of kv heads kept full (retrieval heads), a "
              "number in [0, 1] such as duo:0.5",
              text);
        spec.duo_ratio = r;
        i = 1;
      }
      for (; i < args.size(); ++i) {
        const size_t eq = args[i].find('=');
        const std::string key = args[i].substr(0, eq);
        const std::string val = eq == std::string::npos ? "" : args[i].substr(eq + 1);
        double v = 0;
        if (eq != std::string::npos && key == "map" && !val.empty()) {
          spec.duo_map = val;
        } else if (eq != std::string::npos && (key == "sinks" || key == "window") &&
                   parse_double(val, &v) && v >= 0 && v <= (1 << 20) && v == std::floor(v)) {
          (key == "sinks" ? spec.duo_sinks : spec.duo_window) = static_cast<int>(v);
        } else {
          return invalid_argument(
              "--kv '{}': duo option '{}' is not valid (valid: sinks=N, window=N (integers >= 0), "
              "map=PATH)",
              text, args[i]);
        }
      }
      continue;
    }
    return invalid_argument("--kv '{}': unknown method '{}' (valid: full, {})", text, name,
                            join(all_method_names()));
  }
  if (spec.demote && spec.token_method.empty() && !spec.duo)
    return invalid_argument(
        "--kv '{}': demote keeps what an eviction method evicts: compose it with one of {} or "
        "duo, e.g. snapkv:0.25+demote:0.25",
        text, join(token_method_names()));
  if (spec.demote && (spec.has_format || spec.mixed))
    return invalid_argument("--kv '{}': demote works on float caches (not with {})", text,
                            spec.format_method);
  if (spec.minicache && (!spec.token_method.empty() || spec.duo || spec.has_format || spec.mixed))
    return invalid_argument(
        "--kv '{}': minicache composes only with quest for now (not with a token-eviction "
        "method, duo or a storage format: merged layers must hold the same tokens in float)",
        text);
  return spec;
}

KvFormat kv_format_for_spec(const CompressionSpec& spec, KvFormat full_format) {
  return spec.has_format ? spec.format : full_format;
}

Result<std::unique_ptr<KvPolicy>> make_token_policy(const CompressionSpec& spec) {
  const auto& p = spec.params;
  auto get = [&](const char* k) { return p.at(k); };
  const std::string& m = spec.token_method;
  if (m.empty()) return std::unique_ptr<KvPolicy>();
  if (m == "streaming")
    return std::unique_ptr<KvPolicy>(
        std::make_unique<StreamingLlmPolicy>(StreamingConfig{static_cast<int>(get("sinks"))}));
  if (m == "h2o")
    return std::unique_ptr<KvPolicy>(
        std::make_unique<H2oPolicy>(H2oConfig{get("recent"), get("score") == 1}));
  if (m == "tova")
    return std::unique_ptr<KvPolicy>(std::make_unique<TovaPolicy>(TovaConfig{get("scope") == 1}));
  if (m == "snapkv" || m == "pyramidkv" || m == "adakv") {
    SnapKvConfig c;
    c.window = static_cast<int>(get("window"));
    c.kernel = static_cast<int>(get("kernel"));
    c.avg_pool = get("pool") == 1;
    if (p.count("beta")) c.pyramid_beta = get("beta");
    if (p.count("floor")) c.ada_floor = get("floor");
    const SnapKvVariant v = m == "snapkv"      ? SnapKvVariant::kSnapKv
                            : m == "pyramidkv" ? SnapKvVariant::kPyramidKv
                                               : SnapKvVariant::kAdaKv;
    return std::unique_ptr<KvPolicy>(std::make_unique<SnapKvPolicy>(v, c));
  }
  if (m == "dms") {
    DmsPolicyConfig c;
    c.window = static_cast<int>(get("window"));
    c.threshold = get("threshold");
    return std::unique_ptr<KvPolicy>(std::make_unique<DmsPolicy>(c));
  }
  return invalid_argument("unknown token method '{}' (valid: {})", m, join(token_method_names()));
}

}  // namespace lk::compress
