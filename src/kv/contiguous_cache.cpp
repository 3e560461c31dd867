#include "kv/contiguous_cache.h"

#include <cstring>
#include <memory>

#include "core/check.h"
#include "core/half.h"

namespace lk {

ContiguousKvCache::ContiguousKvCache(int n_layers, int n_kv_heads, int head_dim, KvFormat format)
    : n_layers_(n_layers),
      n_kv_heads_(n_kv_heads),
      head_dim_(head_dim),
      format_(format),
      elem_bytes_(kv_format_bits(format) / 8) {
  LK_CHECK(format == KvFormat::kF32 || format == KvFormat::kF16 || format == KvFormat::kBF16);
}

Result<std::unique_ptr<ContiguousKvCache>> contiguous_cache_create(int n_layers, int n_kv_heads,
                                                                   int head_dim, KvFormat format) {
  if (format != KvFormat::kF32 && format != KvFormat::kF16 && format != KvFormat::kBF16) {
    return unsupported(
        "the contiguous KV cache stores f32, f16 or bf16 (got '{}'; quantized "
        "formats need the paged manager)",
        kv_format_name(format));
  }
  if (n_layers <= 0 || n_kv_heads <= 0 || head_dim <= 0) {
    return invalid_argument("KV cache shape must be positive (layers={} kv_heads={} head_dim={})",
                            n_layers, n_kv_heads, head_dim);
  }
  return std::make_unique<ContiguousKvCache>(n_layers, n_kv_heads, head_dim, format);
}

ContiguousKvCache::SeqStore& ContiguousKvCache::seq_store(SeqId seq) {
  auto it = seqs_.find(seq);
  if (it != seqs_.end()) return it->second;
  SeqStore s;
  s.layers.resize(n_layers_);
  for (auto& l : s.layers) {
    l.k.resize(n_kv_heads_);
    l.v.resize(n_kv_heads_);
  }
  return seqs_.emplace(seq, std::move(s)).first->second;
}

void ContiguousKvCache::reserve(SeqId seq, int64_t n) {
  SeqStore& s = seq_store(seq);
  const size_t bytes = static_cast<size_t>(n) * head_dim_ * elem_bytes_;
  for (auto& l : s.layers) {
    l.positions.reserve(n);
    for (int h = 0; h < n_kv_heads_; ++h) {
      l.k[h].reserve(bytes);
      l.v[h].reserve(bytes);
    }
  }
}

Status ContiguousKvCache::append(SeqId seq, int layer, std::span<const int32_t> positions,
                                 const float* k, const float* v) {
  if (layer < 0 || layer >= n_layers_) {
    return invalid_argument("layer {} out of range [0, {})", layer, n_layers_);
  }
  LayerStore& l = seq_store(seq).layers[layer];
  const int64_t n = static_cast<int64_t>(positions.size());
  if (!l.positions.empty() && n > 0 && positions[0] <= l.positions.back()) {
    return invalid_argument("positions must ascend: appending {} after {}", positions[0],
                            l.positions.back());
  }
  const int D = head_dim_;
  const size_t row = static_cast<size_t>(D) * elem_bytes_;
  for (int h = 0; h < n_kv_heads_; ++h) {
    for (auto [dst, src] : {std::pair{&l.k[h], k}, std::pair{&l.v[h], v}}) {
      const size_t old = dst->size();
      if (dst->capacity() < old + n * row) dst->reserve(std::max(old + n * row, 2 * old));
      dst->resize(old + n * row);
      uint8_t* out = dst->data() + old;
      for (int64_t t = 0; t < n; ++t) {
        const float* x = src + (t * n_kv_heads_ + h) * D;
        switch (format_) {
          case KvFormat::kF32:
            std::memcpy(out + t * row, x, row);
            break;
          case KvFormat::kF16: {
            auto* o = reinterpret_cast<uint16_t*>(out + t * row);
            for (int d = 0; d < D; ++d) o[d] = f32_to_f16(x[d]);
            break;
          }
          default: {
            auto* o = reinterpret_cast<uint16_t*>(out + t * row);
            for (int d = 0; d < D; ++d) o[d] = f32_to_bf16(x[d]);
            break;
          }
        }
      }
    }
  }
  l.positions.insert(l.positions.end(), positions.begin(), positions.end());
  return Status::ok();
}

KvHeadView ContiguousKvCache::view(SeqId seq, int layer, int kv_head) const {
  KvHeadView view;
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return view;
  const LayerStore& l = it->second.layers[layer];
  if (l.positions.empty()) return view;
  KvRun r;
  r.format = format_;
  r.n_tokens = static_cast<int32_t>(l.positions.size());
  r.k = l.k[kv_head].data();
  r.v = l.v[kv_head].data();
  r.positions = l.positions.data();
  view.runs.push_back(r);
  return view;
}

int64_t ContiguousKvCache::seq_length(SeqId seq) const {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return 0;
  // The last layer is appended last in a forward step: it holds the completed tokens.
  return static_cast<int64_t>(it->second.layers.back().positions.size());
}

void ContiguousKvCache::release(SeqId seq) {
  seqs_.erase(seq);
}

int64_t ContiguousKvCache::bytes_used() const {
  int64_t b = 0;
  for (const auto& [id, s] : seqs_) {
    for (const auto& l : s.layers) {
      for (int h = 0; h < n_kv_heads_; ++h) b += l.k[h].size() + l.v[h].size();
    }
  }
  return b;
}

void ContiguousKvCache::check_invariants() const {
  const size_t row = static_cast<size_t>(head_dim_) * elem_bytes_;
  for (const auto& [id, s] : seqs_) {
    for (const auto& l : s.layers) {
      for (size_t i = 1; i < l.positions.size(); ++i) {
        LK_CHECK_MSG(l.positions[i] > l.positions[i - 1], "seq {} positions not ascending", id);
      }
      for (int h = 0; h < n_kv_heads_; ++h) {
        LK_CHECK(l.k[h].size() == l.positions.size() * row);
        LK_CHECK(l.v[h].size() == l.positions.size() * row);
      }
    }
  }
}

}  // namespace lk
