#include "eval/kv_methods.h"

#include "compress/spec.h"
#include "core/check.h"

namespace lk::eval {

namespace {
std::vector<KvMethodInfo>& registry() {
  static std::vector<KvMethodInfo> r = {
      {kFullMethod, "no compression: every token of every layer and head kept in full precision"},
      // Compression methods (src/compress, docs/compress.md). Compose with '+'.
      {"streaming", "StreamingLLM: attention sinks + recent window (streaming:BUDGET[:sinks=4])"},
      {"h2o",
       "H2O: accumulated attention + recent window (h2o:BUDGET[:recent=0.5:score=sum|mean])"},
      {"tova", "TOVA: keep what the current query attends to (tova:BUDGET[:scope=group|layer])"},
      {"snapkv",
       "SnapKV: observation-window votes, pooled "
       "(snapkv:BUDGET[:window=32:kernel=7:pool=max|avg])"},
      {"pyramidkv", "PyramidKV: SnapKV with per-layer budgets (pyramidkv:BUDGET[:beta=20])"},
      {"adakv", "AdaKV: SnapKV with head-adaptive budgets (adakv:BUDGET[:floor=0.2])"},
      {"dms",
       "DMS: delayed eviction; decisions from the model when its config has dms_* keys, else "
       "training-free (dms:threshold=T[:window=256])"},
      {"duo",
       "DuoAttention: retrieval heads full, streaming heads sinks + window "
       "(duo:R[:sinks=4:window=64:map=PATH]; head map from profile-heads)"},
      {"demote",
       "tier demotion: evicted tokens go to the host tier, decode queries recall the top pages by "
       "Quest bound (TOKEN_METHOD+demote[:0.25])"},
      {"minicache",
       "MiniCache: merge adjacent deep layers (SLERP directions + own magnitudes), outlier tokens "
       "kept (minicache[:start=L:retain=0.1])"},
      {"quest",
       "Quest: read only the top pages by key bounds; saves reads, not memory (quest:BUDGET)"},
      {"int8", "int8 K/V storage (per-token scales)"},
      {"kivi", "KIVI K/V storage: kivi:4 or kivi:2"},
      {"mixed",
       "mixed precision by age: the recent window of each (layer, kv-head) in full precision, "
       "older blocks re-encoded low-bit (mixed[:window=256:old=int8|kivi4|kivi2])"}};
  return r;
}
}  // namespace

bool register_kv_method(KvMethodInfo info) {
  LK_CHECK(!info.name.empty());
  for (const auto& m : registry())
    LK_CHECK_MSG(m.name != info.name, "kv method '{}' registered twice", info.name);
  registry().push_back(std::move(info));
  return true;
}

const std::vector<KvMethodInfo>& kv_methods() {
  return registry();
}

std::string kv_method_list() {
  std::string s;
  for (const auto& m : registry()) s += (s.empty() ? "" : ", ") + m.name;
  return s;
}

std::vector<std::string> split_method_list(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t comma = list.find(',', start);
    std::string piece =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    bool continues =
        !out.empty() && !piece.empty() && ((piece[0] >= '0' && piece[0] <= '9') || piece[0] == '.');
    if (continues)
      out.back() += "," + piece;
    else if (!piece.empty())
      out.push_back(piece);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string kv_method_name(const std::string& spec) {
  return spec.substr(0, spec.find(':'));
}

Status check_kv_method(const std::string& spec) {
  const std::string name = kv_method_name(spec.substr(0, spec.find('+')));
  bool known = false;
  for (const auto& m : registry()) known = known || m.name == name;
  if (!known) return invalid_argument("unknown KV method '{}' (valid: {})", name, kv_method_list());
  if (spec == kFullMethod) return Status::ok();
  // The whole spec (budgets, knobs, composition) is checked before anything runs.
  return compress::parse_compression_spec(spec).status();
}

}  // namespace lk::eval
