#include "compress/kv_for_spec.h"

namespace lk::compress {

Result<std::unique_ptr<KvManager>> kv_manager_for_spec(const CompressionSpec& spec,
                                                       const KvShape& s, KvFormat full_format) {
  KvManagerConfig c;
  c.n_layers = s.n_layers;
  c.n_kv_heads = s.n_kv_heads;
  c.head_dim = s.head_dim;
  c.block_tokens = 16;
  c.format = kv_format_for_spec(spec, full_format);
  c.residual_format = KvFormat::kF16;
  if (spec.mixed) c.old_format = spec.mixed_old;  // recent blocks stay in full_format
  // Room for the whole context uncompressed in f32, with slack for partial blocks.
  c.budget_bytes = (s.max_context + 64 * c.block_tokens) * int64_t{s.n_layers} * s.n_kv_heads *
                       s.head_dim * 2 * 4 +
                   (int64_t{1} << 20);
  c.model_digest = s.model_digest;
  c.prefix_cache = false;
  return KvManager::create(c);
}

}  // namespace lk::compress
