// Fuzz target: the serialized-sequence / snapshot parser (kv/kv_serialize.h) and the
// manager's restore path. Any input must give a clean Status, never a crash, an
// out-of-bounds read or a broken cache; an accepted image is installed, checked, released.
#include <cstddef>
#include <cstdint>
#include <memory>

#include <unistd.h>

#include "core/check.h"
#include "kv/kv_manager.h"
#include "kv/kv_serialize.h"

namespace {

lk::KvManager& manager_for(const lk::SeqImage& im) {
  // One manager per shape seen; shapes are bounded to keep memory small.
  static std::unique_ptr<lk::KvManager> m;
  static lk::KvManagerConfig last;
  // Mixed-precision images get a cache keeping their old format (only a float main format
  // can have one; others are then refused by the shape check, as they should be).
  const bool float_main = im.format == lk::KvFormat::kF32 || im.format == lk::KvFormat::kF16 ||
                          im.format == lk::KvFormat::kBF16;
  const bool old = float_main && im.old_format.has_value();
  const bool same = m && last.n_layers == im.n_layers && last.n_kv_heads == im.n_kv_heads &&
                    last.head_dim == im.head_dim && last.block_tokens == im.block_tokens &&
                    last.format == im.format && last.residual_format == im.residual_format &&
                    last.old_format.has_value() == old &&
                    (!old || *last.old_format == *im.old_format);
  if (!same) {
    lk::KvManagerConfig c;
    c.n_layers = im.n_layers;
    c.n_kv_heads = im.n_kv_heads;
    c.head_dim = im.head_dim;
    c.block_tokens = im.block_tokens;
    c.format = im.format;
    c.residual_format = im.residual_format;
    if (old) c.old_format = *im.old_format;
    c.budget_bytes = 8 << 20;
    c.model_digest = im.model_digest;
    m.reset();
    auto r = lk::KvManager::create(c);
    LK_CHECK(r.is_ok());
    m = std::move(r).value();
    last = m->config();
  }
  return *m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Parse once without the header checksum, so mutations reach the table parsing, then for
  // real (the checksum is the gate every real reader uses).
  (void)lk::parse_seq(data, size, /*verify_header_crc=*/false);
  lk::Result<lk::SeqImage> im = lk::parse_seq(data, size);
  if (!im.is_ok()) return 0;
  // Only small shapes get installed (a hostile header may describe a huge cache).
  if (im->n_layers * static_cast<int64_t>(im->n_kv_heads) > 64 || im->head_dim > 256 ||
      im->block_tokens > 256)
    return 0;
  lk::KvManagerConfig probe;
  probe.n_layers = im->n_layers;
  probe.n_kv_heads = im->n_kv_heads;
  probe.head_dim = im->head_dim;
  probe.block_tokens = im->block_tokens;
  probe.format = im->format;
  probe.residual_format = im->residual_format;
  if (!probe.validate().is_ok()) return 0;
  lk::KvManager& m = manager_for(*im);
  // Round trip through the real restore path via a temp file.
  char path[] = "/tmp/longkv-fuzz-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return 0;
  (void)!write(fd, data, size);
  close(fd);
  lk::Status st = m.load_snapshot(path, 1);
  unlink(path);
  m.check_invariants();
  if (st.is_ok()) {
    for (int l = 0; l < im->n_layers; ++l)
      for (int h = 0; h < im->n_kv_heads; ++h) (void)m.view(1, l, h);
    m.release(1);
    m.evict_prefix_cache(int64_t{1} << 40);
    m.check_invariants();
  }
  LK_CHECK(m.usage().used_bytes == 0);
  return 0;
}
