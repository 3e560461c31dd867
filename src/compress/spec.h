// The compression spec of `--kv` and of the API: methods joined by '+', each
// `name[:arg[:key=value...]]`, e.g. "snapkv:0.25+kivi:4", "h2o:4x:recent=0.25",
// "streaming:64MiB:sinks=4". The first argument of a token method is its budget: a ratio of
// the prompt kept in (0, 1], "Nx" (keep 1/N), or bytes ("64MiB", "1GB", "4096B") for the
// whole sequence's KV. Composition: at most one token-eviction method, at most one storage
// format (int8 / kivi / mixed), plus quest. Errors name the valid choices.
// mixed[:window=N][:old=int8|kivi4|kivi2]: mixed precision by age (the recent N tokens of each
// (layer, kv-head) in the full-precision format, older blocks re-encoded into `old`).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "compress/policy.h"
#include "core/status.h"
#include "kv/kv_view.h"

namespace lk::compress {

struct Budget {
  enum class Kind { kNone, kRatio, kBytes };
  Kind kind = Kind::kNone;
  double ratio = 1.0;  // kRatio: share of the prompt kept
  int64_t bytes = 0;   // kBytes: KV bytes of the whole sequence (all layers and heads)
};

struct CompressionSpec {
  std::string text;          // as given
  std::string token_method;  // "" or one of token_method_names()
  Budget budget;
  std::map<std::string, double> params;  // the token method's knobs (validated)
  std::vector<std::string> given;        // knobs given explicitly (the rest are defaults)
  bool has_format = false;               // int8 / kivi was given
  KvFormat format = KvFormat::kF16;      // its storage format
  std::string format_method;             // "int8", "kivi" or "mixed" (the hidden dimension)
  // mixed (compress/mixed.h): blocks whose tokens are all older than the last `mixed_window`
  // positions are re-encoded into mixed_old; the rest stay in the full-precision format.
  bool mixed = false;
  int mixed_window = 256;
  KvFormat mixed_old = KvFormat::kInt4;
  bool quest = false;
  Budget quest_budget;  // tokens a query reads (ratio or bytes)
  // duo[:R][:sinks=N][:window=N][:map=PATH] (compress/duo.h): share R of kv heads kept full.
  bool duo = false;
  double duo_ratio = 0.5;
  int duo_sinks = 4, duo_window = 64;
  std::string duo_map;  // "" = the map beside the model
  // minicache[:start=L][:retain=R] (compress/minicache.h): merge layer pairs from L (-1: the
  // deep half, n_layers / 2); R = share of tokens kept unmerged (largest angular distance).
  bool minicache = false;
  int minicache_start = -1;
  double minicache_retain = 0.1;
  // demote[:B] (compress/demote.h): evicted tokens go to the host tier; a decode query
  // recalls the top pages by Quest bound until B (a ratio of the demoted tokens, default 0.25).
  bool demote = false;
  Budget recall_budget{Budget::Kind::kRatio, 0.25, 0};
  bool is_full() const {
    return token_method.empty() && !has_format && !mixed && !quest && !duo && !minicache;
  }
};

// Names accepted by the parser, by dimension (for error messages and `--list`).
const std::vector<std::string>& token_method_names();
const std::vector<std::string>& all_method_names();

Result<CompressionSpec> parse_compression_spec(const std::string& text);
// "0.25", "4x", "64MiB", "1GB", "4096B" -> Budget (kInvalidArgument naming the forms).
Result<Budget> parse_budget(const std::string& text);
// The storage format a KV manager should use for the spec: the spec's own (int8 / kivi) or
// `full_format` (the model's uncompressed format) when it names none.
KvFormat kv_format_for_spec(const CompressionSpec& spec, KvFormat full_format);
// The token policy of a spec (null when it has no token method).
Result<std::unique_ptr<KvPolicy>> make_token_policy(const CompressionSpec& spec);

}  // namespace lk::compress
