#include "eval/generators.h"

#include <algorithm>
#include <functional>
#include <set>

#include "core/check.h"
#include "eval/filler.h"
#include "eval/rng.h"

namespace lk::eval {

namespace {

const char* kDefaultDepths = "0,0.25,0.5,0.75,1";

// ---- parameters -------------------------------------------------------------------------

std::string param(const TaskSpec& spec, const GeneratorFamily& fam, const std::string& name) {
  auto it = spec.params.find(name);
  if (it != spec.params.end()) return it->second;
  for (const auto& p : fam.params)
    if (p.name == name) return p.default_value;
  return "";
}

Result<int64_t> parse_int(const std::string& name, const std::string& v, int64_t lo, int64_t hi) {
  if (v.empty())
    return invalid_argument("{} is empty (expected an integer in [{}, {}])", name, lo, hi);
  int64_t x = 0;
  for (char c : v) {
    if (c < '0' || c > '9')
      return invalid_argument("{}='{}' is not an integer in [{}, {}]", name, v, lo, hi);
    x = x * 10 + (c - '0');
    if (x > hi) break;
  }
  if (x < lo || x > hi) return invalid_argument("{}={} is out of range [{}, {}]", name, v, lo, hi);
  return x;
}

Result<std::vector<double>> parse_depths(const std::string& v) {
  std::vector<double> out;
  size_t start = 0;
  while (true) {
    size_t comma = v.find(',', start);
    std::string piece =
        v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    char* end = nullptr;
    double d = piece.empty() ? -1 : std::strtod(piece.c_str(), &end);
    if (piece.empty() || end != piece.c_str() + piece.size() || !(d >= 0.0 && d <= 1.0))
      return invalid_argument("depths: '{}' is not a number in [0, 1] (e.g. depths=0,0.5,1)",
                              piece);
    out.push_back(d);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out.size() > 101) return invalid_argument("depths: at most 101 values");
  return out;
}

Status check_choice(const std::string& name, const std::string& v,
                    const std::vector<std::string>& valid) {
  for (const auto& c : valid)
    if (c == v) return Status::ok();
  std::string list;
  for (const auto& c : valid) list += (list.empty() ? "" : ", ") + c;
  return invalid_argument("{}='{}' is not valid (valid: {})", name, v, list);
}

// ---- needles, keys and values ------------------------------------------------------------

std::string make_uuid(Rng& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) s += '-';
    s += kHex[rng.below(16)];
  }
  return s;
}

std::string make_item(Rng& rng, const std::string& type, bool is_key) {
  if (type == "numbers") return std::to_string(rng.range(1000000, 9999999));
  if (type == "uuids") return make_uuid(rng);
  // words: keys are two joined pseudo-words (never in the filler), values one longer word.
  if (is_key) return pseudo_word(rng, 2) + "-" + pseudo_word(rng, 2);
  return pseudo_word(rng, 3);
}

// n distinct items (keys must not repeat within a sample, nor values of one key).
std::vector<std::string> make_items(Rng& rng, const std::string& type, bool is_key, size_t n) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  while (out.size() < n) {
    std::string s = make_item(rng, type, is_key);
    if (seen.insert(s).second) out.push_back(std::move(s));
  }
  return out;
}

std::string variable_name(Rng& rng) {
  std::string s;
  for (int i = 0; i < 5; ++i) s += static_cast<char>('A' + rng.below(26));
  return s;
}

struct Needle {
  double depth;
  std::string text;
};

// Filler sentences 0..n-1 with each needle inserted as a sentence before filler sentence
// round(depth * n) (depth 1: after the last one). Needles at the same slot keep their order.
std::string haystack(FillerStream& filler, size_t n, const std::vector<Needle>& needles) {
  std::vector<std::pair<size_t, size_t>> slots;  // (slot, needle index)
  for (size_t i = 0; i < needles.size(); ++i)
    slots.emplace_back(static_cast<size_t>(needles[i].depth * static_cast<double>(n) + 0.5), i);
  std::stable_sort(slots.begin(), slots.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  size_t k = 0;
  for (size_t i = 0; i <= n; ++i) {
    while (k < slots.size() && slots[k].first == i) out += needles[slots[k++].second].text + " ";
    if (i < n) out += filler.sentence(i);
  }
  // Drop the trailing separator so the question follows cleanly.
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();
  return out;
}

// Largest n whose first-round prompt fits in `length` tokens. prompt_for(n) must grow with n
// (every unit adds at least one token), which holds for filler sentences and word entries.
Result<size_t> fit_to_length(const TokenCounter& counter, int64_t length,
                             const std::function<std::string(size_t)>& prompt_for,
                             const std::string& what) {
  auto fits = [&](size_t n) { return counter.count(prompt_for(n)) <= length; };
  const int64_t t0 = counter.count(prompt_for(0));
  if (t0 > length)
    return invalid_argument(
        "length {} is too short for {}: its prompt without filler already takes {} tokens", length,
        what, t0);
  // Estimate from 16 units, then bracket and bisect (few full-length counts).
  const int64_t t16 = counter.count(prompt_for(16));
  const double per_unit = std::max(1.0, static_cast<double>(t16 - t0) / 16.0);
  size_t guess = static_cast<size_t>(static_cast<double>(length - t0) / per_unit);
  size_t lo = 0, hi = 0;  // fits(lo), !fits(hi)
  size_t step = std::max<size_t>(8, guess / 64);
  if (fits(guess)) {
    lo = guess;
    hi = guess + step;
    while (fits(hi)) {
      lo = hi;
      step *= 2;
      hi = lo + step;
    }
  } else {
    hi = guess;
    while (true) {
      size_t cand = hi > step ? hi - step : 0;
      if (cand == 0 || fits(cand)) {
        lo = cand;
        break;
      }
      hi = cand;
      step *= 2;
    }
  }
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo;
}

// ---- the families ------------------------------------------------------------------------

struct Ctx {
  const TaskSpec& spec;
  const GeneratorFamily& fam;
  const GenerateOptions& opt;
  uint64_t seed;  // this sample's seed
};

// Fills sample.context with `preamble` + haystack(needles) fitted to the length.
Status fill_haystack(EvalSample& s, const Ctx& c, const std::string& preamble,
                     const std::vector<Needle>& needles) {
  FillerStream filler(seed_combine(c.seed, hash_string("filler")));
  auto context_for = [&](size_t n) { return preamble + haystack(filler, n, needles); };
  auto prompt_for = [&](size_t n) {
    s.context = context_for(n);
    return round_text(s, 0);
  };
  LK_ASSIGN_OR_RETURN(size_t n,
                      fit_to_length(*c.opt.counter, c.opt.length, prompt_for, c.spec.label));
  s.context = context_for(n);
  return Status::ok();
}

// Depth of this sample on the grid: depths[index % size].
Result<double> grid_depth(const Ctx& c) {
  LK_ASSIGN_OR_RETURN(auto depths, parse_depths(param(c.spec, c.fam, "depths")));
  return depths[static_cast<size_t>(c.opt.index) % depths.size()];
}

const char* kCodePreamble =
    "Some special codes are hidden in the long text below. Read all of it and remember them; "
    "you will be asked about {} at the end.\n\n";

std::string code_needle(const std::string& key, const std::string& value) {
  return "The special code for " + key + " is " + value + ".";
}

Status gen_passkey(EvalSample& s, const Ctx& c, Rng& rng) {
  LK_ASSIGN_OR_RETURN(s.depth, grid_depth(c));
  std::string v = std::to_string(rng.range(10000, 99999));
  s.score_mode = ScoreMode::kContains;
  s.rounds.push_back(
      {"What is the passkey hidden in the text above?", {v}, "Answer: The passkey is", 12});
  return fill_haystack(
      s, c,
      "A passkey is hidden somewhere in the long text below. Read all of it and "
      "remember the passkey; you will be asked for it at the end.\n\n",
      {{s.depth, "The passkey is " + v + ". Remember it: " + v + " is the passkey."}});
}

// niah_single, niah_multikey: one target key at the grid depth, distractor keys elsewhere.
Status gen_niah_keys(EvalSample& s, const Ctx& c, Rng& rng, int64_t n_keys) {
  LK_ASSIGN_OR_RETURN(s.depth, grid_depth(c));
  auto keys = make_items(rng, param(c.spec, c.fam, "key"), true, static_cast<size_t>(n_keys));
  auto values = make_items(rng, param(c.spec, c.fam, "value"), false, static_cast<size_t>(n_keys));
  std::vector<Needle> needles{{s.depth, code_needle(keys[0], values[0])}};
  for (int64_t i = 1; i < n_keys; ++i)
    needles.push_back({rng.real(), code_needle(keys[i], values[i])});
  s.score_mode = ScoreMode::kContains;
  s.rounds.push_back({"What is the special code for " + keys[0] + " in the text above?",
                      {values[0]},
                      "Answer: The special code for " + keys[0] + " is",
                      24});
  return fill_haystack(s, c, fmt::format(fmt::runtime(kCodePreamble), "one of them"), needles);
}

Status gen_niah_single(EvalSample& s, const Ctx& c, Rng& rng) {
  return gen_niah_keys(s, c, rng, 1);
}

Status gen_niah_multikey(EvalSample& s, const Ctx& c, Rng& rng) {
  LK_ASSIGN_OR_RETURN(int64_t k, parse_int("keys", param(c.spec, c.fam, "keys"), 2, 64));
  return gen_niah_keys(s, c, rng, k);
}

Status gen_niah_multivalue(EvalSample& s, const Ctx& c, Rng& rng) {
  LK_ASSIGN_OR_RETURN(int64_t nv, parse_int("values", param(c.spec, c.fam, "values"), 2, 64));
  LK_ASSIGN_OR_RETURN(s.depth, grid_depth(c));
  std::string key = make_item(rng, param(c.spec, c.fam, "key"), true);
  auto values = make_items(rng, param(c.spec, c.fam, "value"), false, static_cast<size_t>(nv));
  std::vector<Needle> needles{{s.depth, code_needle(key, values[0])}};
  for (int64_t i = 1; i < nv; ++i) needles.push_back({rng.real(), code_needle(key, values[i])});
  s.score_mode = ScoreMode::kAll;
  s.rounds.push_back(
      {"What are all the special codes for " + key + " in the text above? List every one of them.",
       values, "Answer: The special codes for " + key + " are", 16 * static_cast<int>(nv)});
  return fill_haystack(s, c, fmt::format(fmt::runtime(kCodePreamble), "one of them"), needles);
}

Status gen_niah_multiquery(EvalSample& s, const Ctx& c, Rng& rng) {
  LK_ASSIGN_OR_RETURN(int64_t nq, parse_int("queries", param(c.spec, c.fam, "queries"), 2, 64));
  LK_ASSIGN_OR_RETURN(s.depth, grid_depth(c));
  auto keys = make_items(rng, param(c.spec, c.fam, "key"), true, static_cast<size_t>(nq));
  auto values = make_items(rng, param(c.spec, c.fam, "value"), false, static_cast<size_t>(nq));
  std::vector<Needle> needles{{s.depth, code_needle(keys[0], values[0])}};
  for (int64_t i = 1; i < nq; ++i) needles.push_back({rng.real(), code_needle(keys[i], values[i])});
  std::string list;
  for (int64_t i = 0; i < nq; ++i)
    list += (i == 0 ? "" : (i + 1 == nq ? ", and " : ", ")) + keys[static_cast<size_t>(i)];
  s.score_mode = ScoreMode::kAll;
  s.rounds.push_back(
      {"What are the special codes for " + list + " in the text above? Give the code of each one.",
       values, "Answer: The special codes are", 16 * static_cast<int>(nq)});
  return fill_haystack(s, c, fmt::format(fmt::runtime(kCodePreamble), "several of them"), needles);
}

Status gen_variable_tracking(EvalSample& s, const Ctx& c, Rng& rng) {
  LK_ASSIGN_OR_RETURN(int64_t hops, parse_int("hops", param(c.spec, c.fam, "hops"), 1, 32));
  LK_ASSIGN_OR_RETURN(int64_t chains, parse_int("chains", param(c.spec, c.fam, "chains"), 1, 16));
  std::set<std::string> used;
  std::vector<Needle> needles;
  std::vector<std::string> target_names;
  std::string target_value;
  std::set<int64_t> used_values;
  for (int64_t ch = 0; ch < chains; ++ch) {
    int64_t value;
    do value = rng.range(10000, 99999);
    while (!used_values.insert(value).second);
    std::vector<std::string> names;
    while (static_cast<int64_t>(names.size()) < hops + 1) {
      std::string n = variable_name(rng);
      if (used.insert(n).second) names.push_back(n);
    }
    // Statements of one chain appear in order at sorted random depths.
    std::vector<double> depths;
    for (size_t i = 0; i < names.size(); ++i) depths.push_back(rng.real());
    std::sort(depths.begin(), depths.end());
    needles.push_back({depths[0], "VAR " + names[0] + " = " + std::to_string(value) + "."});
    for (size_t i = 1; i < names.size(); ++i)
      needles.push_back({depths[i], "VAR " + names[i] + " = VAR " + names[i - 1] + "."});
    if (ch == 0) {
      target_names = names;
      target_value = std::to_string(value);
    }
  }
  s.score_mode = ScoreMode::kAll;
  s.rounds.push_back({"Which variables hold the value " + target_value +
                          ", either directly or through another variable? List all of them.",
                      target_names, "Answer: The variables holding " + target_value + " are",
                      8 * static_cast<int>(hops + 1) + 8});
  return fill_haystack(s, c,
                       "The long text below hides a few variable assignments among ordinary "
                       "sentences. Follow them carefully.\n\n",
                       needles);
}

Status gen_common_words(EvalSample& s, const Ctx& c, Rng& rng) {
  LK_ASSIGN_OR_RETURN(int64_t k, parse_int("common", param(c.spec, c.fam, "common"), 1, 100));
  LK_ASSIGN_OR_RETURN(int64_t f_rare,
                      parse_int("freq_rare", param(c.spec, c.fam, "freq_rare"), 1, 1000));
  int64_t f_common = 0;
  std::string fc = param(c.spec, c.fam, "freq_common");
  if (fc == "auto") {
    // Common words take about a sixteenth of the list, between freq_rare + 2 and 30 times.
    f_common =
        std::clamp<int64_t>(c.opt.length / (16 * k), f_rare + 2, std::max<int64_t>(30, f_rare + 2));
  } else {
    LK_ASSIGN_OR_RETURN(f_common, parse_int("freq_common", fc, 2, 100000));
  }
  if (f_common <= f_rare)
    return invalid_argument("freq_common ({}) must exceed freq_rare ({})", f_common, f_rare);
  // Words come from one distinct stream: the first k are the common ones.
  std::vector<std::string> words = distinct_pseudo_words(rng, static_cast<size_t>(k));
  std::set<std::string> seen(words.begin(), words.end());
  Rng word_rng(seed_combine(c.seed, hash_string("rare-words")));
  auto word = [&](size_t i) -> const std::string& {
    while (words.size() <= i) {
      std::string w = pseudo_word(word_rng, 2 + static_cast<int>(word_rng.below(2)));
      if (seen.insert(w).second) words.push_back(std::move(w));
    }
    return words[i];
  };
  auto context_for = [&](size_t n_rare) {
    std::vector<size_t> list;  // word indices, each repeated by its frequency
    for (int64_t i = 0; i < k; ++i)
      for (int64_t r = 0; r < f_common; ++r) list.push_back(static_cast<size_t>(i));
    for (size_t i = 0; i < n_rare; ++i)
      for (int64_t r = 0; r < f_rare; ++r) list.push_back(static_cast<size_t>(k) + i);
    Rng shuffle(seed_combine(c.seed, n_rare));
    for (size_t i = list.size(); i > 1; --i) std::swap(list[i - 1], list[shuffle.below(i)]);
    std::string out = "Below is a numbered list of words. Some of them appear many times.\n\n";
    for (size_t i = 0; i < list.size(); ++i)
      out += std::to_string(i + 1) + ". " + word(list[i]) + (i + 1 < list.size() ? " " : "");
    return out;
  };
  std::vector<std::string> common(words.begin(), words.begin() + k);
  s.score_mode = ScoreMode::kAll;
  s.rounds.push_back({"Which " + std::to_string(k) +
                          " words appear most often in the list above? Answer with the words only.",
                      common, "Answer: The " + std::to_string(k) + " most common words are",
                      6 * static_cast<int>(k) + 8});
  auto prompt_for = [&](size_t n) {
    s.context = context_for(n);
    return round_text(s, 0);
  };
  LK_ASSIGN_OR_RETURN(size_t n,
                      fit_to_length(*c.opt.counter, c.opt.length, prompt_for, c.spec.label));
  s.context = context_for(n);
  return Status::ok();
}

Status gen_multi_round(EvalSample& s, const Ctx& c, Rng& rng) {
  LK_ASSIGN_OR_RETURN(int64_t nr, parse_int("rounds", param(c.spec, c.fam, "rounds"), 1, 64));
  auto keys = make_items(rng, param(c.spec, c.fam, "key"), true, static_cast<size_t>(nr));
  auto values = make_items(rng, param(c.spec, c.fam, "value"), false, static_cast<size_t>(nr));
  std::vector<Needle> needles;
  for (int64_t i = 0; i < nr; ++i) needles.push_back({rng.real(), code_needle(keys[i], values[i])});
  // Questions in a seeded order, independent of where the needles sit.
  std::vector<size_t> order(static_cast<size_t>(nr));
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  s.score_mode = ScoreMode::kContains;
  for (size_t i : order)
    s.rounds.push_back({"What is the special code for " + keys[i] + " in the text above?",
                        {values[i]},
                        "Answer: The special code for " + keys[i] + " is",
                        24});
  return fill_haystack(
      s, c, fmt::format(fmt::runtime(kCodePreamble), "several of them, one at a time"), needles);
}

using GenFn = Status (*)(EvalSample&, const Ctx&, Rng&);

struct FamilyImpl {
  GeneratorFamily fam;
  GenFn fn;
};

const GeneratorParam kDepths{"depths", kDefaultDepths,
                             "needle depths in [0,1]; sample i uses depths[i % count]"};
const GeneratorParam kKey{"key", "words", "key type: words | numbers | uuids"};
const GeneratorParam kValue{"value", "numbers", "value type: numbers | words | uuids"};

const std::vector<FamilyImpl>& families() {
  static const std::vector<FamilyImpl> f = {
      {{"passkey", "find a 5-digit passkey hidden in filler text", {kDepths}, true}, gen_passkey},
      {{"niah_single", "one key/value needle; ask its value", {kDepths, kKey, kValue}, true},
       gen_niah_single},
      {{"niah_multikey",
        "several key/value needles; ask the value of one key",
        {kDepths, {"keys", "4", "needles with distinct keys (target + distractors)"}, kKey, kValue},
        true},
       gen_niah_multikey},
      {{"niah_multivalue",
        "several values under one key; ask for all of them",
        {kDepths, {"values", "4", "values of the key"}, kKey, kValue},
        true},
       gen_niah_multivalue},
      {{"niah_multiquery",
        "several keys; ask for all their values in one question",
        {kDepths, {"queries", "4", "keys asked at once"}, kKey, kValue},
        true},
       gen_niah_multiquery},
      {{"variable_tracking",
        "follow chains of variable assignments; list every name holding a value",
        {{"hops", "4", "assignments after the first in each chain"},
         {"chains", "1", "chains (the first is asked about, the rest distract)"}},
        false},
       gen_variable_tracking},
      {{"common_words",
        "list the most frequent words of a long numbered word list",
        {{"common", "10", "number of common words asked for"},
         {"freq_common", "auto",
          "repetitions of each common word (auto: length/(16*common), between freq_rare+2 and 30)"},
         {"freq_rare", "3", "repetitions of each rare word"}},
        false},
       gen_common_words},
      {{"multi_round",
        "one document, several questions asked in turn (a session)",
        {{"rounds", "3", "questions, each about its own needle"}, kKey, kValue},
        false},
       gen_multi_round},
  };
  return f;
}

}  // namespace

const std::vector<GeneratorFamily>& generator_families() {
  static const std::vector<GeneratorFamily> v = [] {
    std::vector<GeneratorFamily> out;
    for (const auto& f : families()) out.push_back(f.fam);
    return out;
  }();
  return v;
}

const GeneratorFamily* find_generator_family(const std::string& name) {
  for (const auto& f : generator_families())
    if (f.name == name) return &f;
  return nullptr;
}

Status validate_generator_params(const GeneratorFamily& fam,
                                 const std::map<std::string, std::string>& params) {
  for (const auto& [k, v] : params) {
    if (k == "depths") {
      LK_RETURN_IF_ERROR(parse_depths(v).status());
    } else if (k == "key") {
      LK_RETURN_IF_ERROR(check_choice(k, v, {"words", "numbers", "uuids"}));
    } else if (k == "value") {
      LK_RETURN_IF_ERROR(check_choice(k, v, {"numbers", "words", "uuids"}));
    } else if (k == "freq_common") {
      if (v != "auto") LK_RETURN_IF_ERROR(parse_int(k, v, 2, 100000).status());
    } else if (k == "freq_rare") {
      LK_RETURN_IF_ERROR(parse_int(k, v, 1, 1000).status());
    } else if (k == "hops") {
      LK_RETURN_IF_ERROR(parse_int(k, v, 1, 32).status());
    } else if (k == "chains") {
      LK_RETURN_IF_ERROR(parse_int(k, v, 1, 16).status());
    } else if (k == "common") {
      LK_RETURN_IF_ERROR(parse_int(k, v, 1, 100).status());
    } else if (k == "keys" || k == "values" || k == "queries") {
      LK_RETURN_IF_ERROR(parse_int(k, v, 2, 64).status());
    } else if (k == "rounds") {
      LK_RETURN_IF_ERROR(parse_int(k, v, 1, 64).status());
    }
  }
  return Status::ok();
}

uint64_t sample_seed(uint64_t seed, const std::string& label, int64_t length, int64_t index) {
  uint64_t s = hash_string(kEvalSeedNamespace);
  s = seed_combine(s, seed);
  s = seed_combine(s, hash_string(label));
  s = seed_combine(s, static_cast<uint64_t>(length));
  return seed_combine(s, static_cast<uint64_t>(index));
}

Result<EvalSample> generate_sample(const TaskSpec& spec, const GenerateOptions& opt) {
  LK_CHECK_MSG(!spec.is_file(), "generate_sample on a file spec");
  LK_CHECK(opt.counter != nullptr);
  const FamilyImpl* impl = nullptr;
  for (const auto& f : families())
    if (f.fam.name == spec.family) impl = &f;
  if (!impl)
    return invalid_argument("unknown task family '{}' (valid: {})", spec.family,
                            task_family_list());
  if (opt.length <= 0) return invalid_argument("length must be positive (got {})", opt.length);
  EvalSample s;
  s.task = spec.label;
  s.length = opt.length;
  s.index = opt.index;
  s.id = fmt::format("{}/{}/{}", spec.label, opt.length, opt.index);
  Ctx c{spec, impl->fam, opt, sample_seed(opt.seed, spec.label, opt.length, opt.index)};
  Rng rng(c.seed);
  LK_RETURN_IF_ERROR(impl->fn(s, c, rng));
  return s;
}

}  // namespace lk::eval
