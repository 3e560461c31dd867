#include "engine/kv_setup.h"

#include "core/byte_size.h"

#include <cmath>
#include <utility>
#include <vector>

#include "kv/contiguous_cache.h"
#include "kv/kv_codec.h"

namespace lk {

namespace {

constexpr int kDefaultBlockTokens = 16;
constexpr int kDefaultKiviBlockTokens = 128;  // KIVI's residual length R; int4 at 26.6% of f16

bool parse_number(const std::string& s, double* out) {
  if (s.empty()) return false;
  size_t used = 0;
  try {
    *out = std::stod(s, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == s.size() && std::isfinite(*out);
}

std::string mib(int64_t bytes) {
  return fmt::format("{:.2f} MiB", static_cast<double>(bytes) / 1048576.0);
}

}  // namespace

std::string EngineKvCache::describe() const {
  if (!manager) return fmt::format("contiguous {}", kv_format_name(format));
  return fmt::format("paged {}, {}-token blocks, budget {}", kv_format_name(format), block_tokens,
                     mib(budget_bytes));
}

Result<int64_t> parse_byte_size(const std::string& t, const std::string& what) {
  auto bad = [&]() {
    return invalid_argument(
        "{} '{}' is not a byte size (forms: 123, 64KiB or 64K, 512MiB or 512M, 2GiB or 2G, 1GB, "
        "500MB, 4096B)",
        what, t);
  };
  double x = 0, mult = 1;
  if (const auto unit = split_byte_unit(t, /*short_units=*/true)) {
    if (!parse_number(std::string(unit->number), &x)) return bad();
    mult = unit->multiplier;
  } else if (!parse_number(t, &x)) {
    return bad();
  }
  const double bytes = x * mult;
  if (!(bytes >= 1.0) || bytes > 9.0e18) return bad();
  return static_cast<int64_t>(std::llround(bytes));
}

Result<KvFormat> engine_kv_format(const Model& m, const std::string& name) {
  if (name == "auto") return m.main_dtype() == DType::kF32 ? KvFormat::kF32 : KvFormat::kF16;
  KvFormat f;
  if (!kv_format_from_name(name, &f))
    return invalid_argument("unknown --kv-format '{}' (valid: auto, {})", name,
                            kv_format_choices());
  return f;
}

int64_t paged_kv_bytes(const KvManagerConfig& c, int64_t n) {
  if (n <= 0) return 0;
  const int64_t B = c.block_tokens;
  const int64_t main_bytes = block_layout(c.format, c.block_tokens, c.head_dim).bytes();
  int64_t per_head;
  if (kv_format_is_kivi(c.format)) {
    per_head =
        n / B * main_bytes + block_layout(c.residual_format, c.block_tokens, c.head_dim).bytes();
  } else {
    per_head = (n + B - 1) / B * main_bytes;
  }
  return per_head * c.n_layers * c.n_kv_heads;
}

std::string model_kv_digest(const Model& m) {
  const ModelSpec& s = m.spec;
  uint64_t h = 1469598103934665603ull;  // FNV-1a over a few KiB of the embeddings
  auto fold = [&](const TensorView& t) {
    const auto* p = static_cast<const uint8_t*>(t.data);
    const int64_t n = std::min<int64_t>(t.nbytes, 4096);
    for (int64_t i = 0; p && i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  };
  fold(m.weights.tok_embd);
  fold(m.weights.output_norm);
  return fmt::format("{}|L{}|kv{}x{}|d{}|V{}|{}|{:016x}", s.name, s.n_layers, s.n_kv_heads,
                     s.head_dim, s.d_model, s.vocab_size, dtype_name(m.main_dtype()), h);
}

Result<EngineKvCache> make_engine_kv_cache(const Model& m, const KvCacheOptions& o) {
  const ModelSpec& s = m.spec;
  EngineKvCache out;
  LK_ASSIGN_OR_RETURN(out.format, engine_kv_format(m, o.format));
  if (o.cache == "contiguous") {
    if (!o.budget.empty() || o.block_tokens != 0)
      return invalid_argument(
          "--kv-budget and --kv-block apply to the paged cache, not --kv-cache contiguous");
    auto c = contiguous_cache_create(s.n_layers, s.n_kv_heads, s.head_dim, out.format);
    if (!c.is_ok())
      return invalid_argument("--kv-format {} needs the paged cache (--kv-cache paged): {}",
                              kv_format_name(out.format), c.status().message());
    out.cache = std::move(c).value();
    return out;
  }
  if (o.cache != "paged")
    return invalid_argument("unknown --kv-cache '{}' (valid: paged, contiguous)", o.cache);
  if (o.block_tokens < 0 || o.block_tokens > 4096)
    return invalid_argument("--kv-block must be in [1, 4096] tokens (got {})", o.block_tokens);
  if (s.head_dim % 4 != 0)
    return invalid_argument("the paged KV cache needs head_dim divisible by 4 (model has {})",
                            s.head_dim);
  KvManagerConfig c;
  c.n_layers = s.n_layers;
  c.n_kv_heads = s.n_kv_heads;
  c.head_dim = s.head_dim;
  c.format = out.format;
  c.residual_format = KvFormat::kF16;
  c.block_tokens = o.block_tokens > 0              ? o.block_tokens
                   : kv_format_is_kivi(out.format) ? kDefaultKiviBlockTokens
                                                   : kDefaultBlockTokens;
  c.model_digest = model_kv_digest(m);
  const int64_t min_bytes = paged_kv_bytes(c, 1);
  if (o.budget.empty()) {
    const int64_t n = o.max_tokens > 0 ? o.max_tokens : s.max_context;
    c.budget_bytes = std::max<int64_t>(1, o.n_seqs) * std::max(min_bytes, paged_kv_bytes(c, n));
  } else {
    LK_ASSIGN_OR_RETURN(c.budget_bytes, parse_byte_size(o.budget, "--kv-budget"));
    if (c.budget_bytes < min_bytes)
      return invalid_argument(
          "--kv-budget {} ({} bytes) is too small: one token needs {} bytes (a {}-token {} "
          "block for each of {} layers x {} kv heads); give at least {} bytes",
          o.budget, c.budget_bytes, min_bytes, c.block_tokens,
          kv_format_name(kv_format_is_kivi(c.format) ? c.residual_format : c.format), c.n_layers,
          c.n_kv_heads, min_bytes);
  }
  LK_ASSIGN_OR_RETURN(auto mgr, KvManager::create(c));
  out.manager = mgr.get();
  out.block_tokens = c.block_tokens;
  out.budget_bytes = c.budget_bytes;
  out.cache = std::move(mgr);
  return out;
}

}  // namespace lk
