#include "kv/kv_serialize.h"

#include <bit>
#include <cstring>

#include "core/check.h"
#include "kv/crc32c.h"
#include "kv/kv_codec.h"

namespace lk {

static_assert(std::endian::native == std::endian::little, "serialized KV is little-endian");

namespace {

constexpr char kMagic[8] = {'L', 'K', 'K', 'V', 'S', 'E', 'Q', '\0'};
constexpr uint32_t kVersion = 1;
constexpr size_t kFixedHeader = 72;
constexpr size_t kBlockEntry = 16;

// Limits that keep a hostile header from asking for absurd allocations.
constexpr int32_t kMaxLayers = 4096, kMaxKvHeads = 4096, kMaxHeadDim = 65536,
                  kMaxBlockTokens = 65536;
constexpr uint32_t kMaxDigest = 4096;

size_t align64(size_t n) {
  return (n + 63) / 64 * 64;
}

size_t block_body_bytes(const SeqImage& im, const SeqBlockDesc& b) {
  const BlockLayout l = block_layout(b.format, im.block_tokens, im.head_dim);
  return static_cast<size_t>(l.data_bytes + l.param_bytes) +
         (b.positions ? 4 * static_cast<size_t>(im.block_tokens) : 0);
}

size_t n_blocks(const SeqImage& im) {
  size_t n = 0;
  for (const auto& h : im.heads) n += h.size();
  return n;
}

size_t header_size(const SeqImage& im) {
  return align64(kFixedHeader + im.model_digest.size() + 4 * im.tokens.size() +
                 4 * im.heads.size() + kBlockEntry * n_blocks(im));
}

template <typename T>
void put(uint8_t*& p, T v) {
  std::memcpy(p, &v, sizeof(T));
  p += sizeof(T);
}

template <typename T>
T get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

bool valid_format(int32_t f) {
  return f >= 0 && f <= static_cast<int32_t>(KvFormat::kInt2);
}

}  // namespace

int64_t serialized_size(const SeqImage& im) {
  size_t n = header_size(im);
  for (const auto& h : im.heads)
    for (const auto& b : h) n += block_body_bytes(im, b);
  return static_cast<int64_t>(n);
}

BytesPtr serialize_seq(const SeqImage& im) {
  BytesPtr out = Bytes::make(static_cast<size_t>(serialized_size(im)));
  serialize_seq_into(im, out.get());
  return out;
}

namespace {

// Writes the header (fixed part, digest, tokens, per-head counts, block table with `crcs` in
// table order, header CRC) into base[0, header_size(im)).
void write_header(const SeqImage& im, uint8_t* base, const std::vector<uint32_t>& crcs) {
  const size_t hsize = header_size(im);
  std::memset(base, 0, hsize);
  uint8_t* table =
      base + kFixedHeader + im.model_digest.size() + 4 * im.tokens.size() + 4 * im.heads.size();
  size_t i = 0;
  for (const auto& h : im.heads) {
    for (const auto& b : h) {
      put<uint8_t>(table, static_cast<uint8_t>(b.format));
      put<uint8_t>(table, b.positions ? 0 : 1);
      put<uint16_t>(table, 0);
      put<int32_t>(table, b.n_used);
      put<int32_t>(table, b.positions ? 0 : b.first_pos);
      put<uint32_t>(table, crcs[i++]);
    }
  }
  uint8_t* p = base;
  std::memcpy(p, kMagic, 8);
  p += 8;
  put<uint32_t>(p, kVersion);
  put<uint32_t>(p, 0);  // header crc, filled below
  put<int32_t>(p, im.n_layers);
  put<int32_t>(p, im.n_kv_heads);
  put<int32_t>(p, im.head_dim);
  put<int32_t>(p, im.block_tokens);
  put<int32_t>(p, static_cast<int32_t>(im.format));
  put<int32_t>(p, static_cast<int32_t>(im.residual_format));
  put<int64_t>(p, im.length);
  // flags: bit 0 evicted; bits 8-15 the old format of mixed precision + 1 (0: none).
  const uint32_t old_id = im.old_format ? static_cast<uint32_t>(*im.old_format) + 1 : 0;
  put<uint32_t>(p, (im.evicted ? 1u : 0u) | (old_id << 8));
  put<uint32_t>(p, static_cast<uint32_t>(im.model_digest.size()));
  put<uint32_t>(p, static_cast<uint32_t>(im.tokens.size()));
  put<uint32_t>(p, static_cast<uint32_t>(im.heads.size()));
  put<uint64_t>(p, n_blocks(im));
  std::memcpy(p, im.model_digest.data(), im.model_digest.size());
  p += im.model_digest.size();
  if (!im.tokens.empty()) std::memcpy(p, im.tokens.data(), 4 * im.tokens.size());
  p += 4 * im.tokens.size();
  for (const auto& h : im.heads) put<uint32_t>(p, static_cast<uint32_t>(h.size()));
  const uint32_t hcrc = crc32c(base + 16, hsize - 16);
  std::memcpy(base + 12, &hcrc, 4);
}

}  // namespace

void serialize_seq_into(const SeqImage& im, Bytes* out) {
  LK_CHECK(static_cast<int64_t>(im.heads.size()) ==
           static_cast<int64_t>(im.n_layers) * im.n_kv_heads);
  LK_CHECK(static_cast<int64_t>(out->size) == serialized_size(im));
  const size_t hsize = header_size(im);
  uint8_t* base = out->data.get();
  // Body first: the block CRCs go into the table.
  uint8_t* body = base + hsize;
  std::vector<uint32_t> crcs;
  crcs.reserve(n_blocks(im));
  for (const auto& h : im.heads) {
    for (const auto& b : h) {
      const BlockLayout l = block_layout(b.format, im.block_tokens, im.head_dim);
      uint32_t crc = crc32c_copy(0, body, b.data, static_cast<size_t>(l.data_bytes));
      body += l.data_bytes;
      if (l.param_bytes) {
        crc = crc32c_copy(crc, body, b.params, static_cast<size_t>(l.param_bytes));
        body += l.param_bytes;
      }
      if (b.positions) {
        crc = crc32c_copy(crc, body, b.positions, 4 * static_cast<size_t>(im.block_tokens));
        body += 4 * static_cast<size_t>(im.block_tokens);
      }
      crcs.push_back(crc);
    }
  }
  write_header(im, base, crcs);
}

SeqPieces serialize_seq_pieces(const SeqImage& im) {
  LK_CHECK(static_cast<int64_t>(im.heads.size()) ==
           static_cast<int64_t>(im.n_layers) * im.n_kv_heads);
  SeqPieces out;
  out.image_ = &im;
  out.header = Bytes::make(header_size(im));
  out.pieces.push_back({out.header->data.get(), out.header->size});
  out.block_end_.reserve(n_blocks(im));
  for (const auto& h : im.heads) {
    for (const auto& b : h) {
      const BlockLayout l = block_layout(b.format, im.block_tokens, im.head_dim);
      out.pieces.push_back({b.data, static_cast<size_t>(l.data_bytes)});
      if (l.param_bytes) out.pieces.push_back({b.params, static_cast<size_t>(l.param_bytes)});
      if (b.positions)
        out.pieces.push_back({b.positions, 4 * static_cast<size_t>(im.block_tokens)});
      out.block_end_.push_back(out.pieces.size());
    }
  }
  out.crcs_.resize(out.block_end_.size());
  for (const BytePiece& p : out.pieces) out.total += p.size;
  return out;
}

void SeqPieces::prepare(size_t end) {
  LK_CHECK(end <= pieces.size());
  // Blocks are checksummed in order, each once, when its last piece is below end.
  while (next_block_ < block_end_.size() && block_end_[next_block_] <= end) {
    size_t i = next_block_ == 0 ? 1 : block_end_[next_block_ - 1];
    uint32_t crc = 0;
    for (; i < block_end_[next_block_]; ++i)
      crc = crc32c_extend(crc, pieces[i].data, pieces[i].size);
    crcs_[next_block_++] = crc;
  }
  if (end == pieces.size() && !header_done_) {
    write_header(*image_, header->data.get(), crcs_);
    header_done_ = true;
  }
}

Result<SeqImage> parse_seq(const uint8_t* data, size_t size, bool verify_header_crc) {
  if (size < kFixedHeader)
    return corrupt("serialized KV too short ({} bytes, header needs {})", size, kFixedHeader);
  if (std::memcmp(data, kMagic, 8) != 0) return corrupt("not a longkv KV file (bad magic)");
  const uint32_t version = get<uint32_t>(data + 8);
  if (version != kVersion)
    return corrupt("unsupported KV file version {} (this build reads {})", version, kVersion);
  SeqImage im;
  im.n_layers = get<int32_t>(data + 16);
  im.n_kv_heads = get<int32_t>(data + 20);
  im.head_dim = get<int32_t>(data + 24);
  im.block_tokens = get<int32_t>(data + 28);
  const int32_t fmt = get<int32_t>(data + 32), rfmt = get<int32_t>(data + 36);
  im.length = get<int64_t>(data + 40);
  const uint32_t flags = get<uint32_t>(data + 48);
  const uint32_t digest_len = get<uint32_t>(data + 52);
  const uint32_t n_tokens = get<uint32_t>(data + 56);
  const uint32_t n_heads = get<uint32_t>(data + 60);
  const uint64_t n_blocks_total = get<uint64_t>(data + 64);
  if (im.n_layers <= 0 || im.n_layers > kMaxLayers || im.n_kv_heads <= 0 ||
      im.n_kv_heads > kMaxKvHeads || im.head_dim <= 0 || im.head_dim > kMaxHeadDim ||
      im.head_dim % 4 != 0 || im.block_tokens <= 0 || im.block_tokens > kMaxBlockTokens)
    return corrupt("bad KV shape: layers={} kv_heads={} head_dim={} block_tokens={}", im.n_layers,
                   im.n_kv_heads, im.head_dim, im.block_tokens);
  if (!valid_format(fmt) || !valid_format(rfmt))
    return corrupt("bad KV storage format ids {} / {}", fmt, rfmt);
  im.format = static_cast<KvFormat>(fmt);
  im.residual_format = static_cast<KvFormat>(rfmt);
  if (im.length < 0 || im.length > (int64_t{1} << 40)) return corrupt("bad length {}", im.length);
  if ((flags & ~0xFF01u) != 0) return corrupt("bad flags {:#x}", flags);
  im.evicted = flags & 1;
  if (const uint32_t old_id = (flags >> 8) & 0xFF; old_id != 0) {
    const int32_t o = static_cast<int32_t>(old_id) - 1;
    if (!valid_format(o) ||
        !(o == static_cast<int32_t>(KvFormat::kInt8) ||
          o == static_cast<int32_t>(KvFormat::kInt4) || o == static_cast<int32_t>(KvFormat::kInt2)))
      return corrupt("bad old (mixed precision) format id {}", o);
    im.old_format = static_cast<KvFormat>(o);
  }
  if (digest_len > kMaxDigest) return corrupt("model digest too long ({} bytes)", digest_len);
  if (static_cast<int64_t>(n_heads) != static_cast<int64_t>(im.n_layers) * im.n_kv_heads)
    return corrupt("head count {} != layers x kv_heads", n_heads);
  // Bound every table by the bytes actually present before reading or allocating.
  const uint64_t need = kFixedHeader + uint64_t{digest_len} + 4ull * n_tokens + 4ull * n_heads +
                        kBlockEntry * std::min<uint64_t>(n_blocks_total, size);
  if (n_blocks_total > size / kBlockEntry || need > size)
    return corrupt("KV file truncated: header tables need {} bytes, file has {}", need, size);
  const size_t hsize = align64(static_cast<size_t>(need));
  if (hsize > size) return corrupt("KV file truncated in header ({} of {} bytes)", size, hsize);
  if (verify_header_crc && get<uint32_t>(data + 12) != crc32c(data + 16, hsize - 16))
    return corrupt("KV file header checksum mismatch");
  const uint8_t* p = data + kFixedHeader;
  im.model_digest.assign(reinterpret_cast<const char*>(p), digest_len);
  p += digest_len;
  im.tokens.resize(n_tokens);
  if (n_tokens) std::memcpy(im.tokens.data(), p, 4ull * n_tokens);
  p += 4ull * n_tokens;
  im.heads.resize(n_heads);
  uint64_t sum = 0;
  std::vector<uint32_t> counts(n_heads);
  for (uint32_t h = 0; h < n_heads; ++h) {
    counts[h] = get<uint32_t>(p);
    p += 4;
    sum += counts[h];
  }
  if (sum != n_blocks_total) return corrupt("block counts sum to {} not {}", sum, n_blocks_total);
  const uint8_t* body = data + hsize;
  const uint8_t* end = data + size;
  for (uint32_t h = 0; h < n_heads; ++h) {
    im.heads[h].resize(counts[h]);
    for (auto& b : im.heads[h]) {
      const uint8_t f = p[0], dense = p[1];
      const int32_t n_used = get<int32_t>(p + 4), first = get<int32_t>(p + 8);
      b.crc = get<uint32_t>(p + 12);
      p += kBlockEntry;
      if (!valid_format(f) || dense > 1 ||
          (static_cast<KvFormat>(f) != im.format &&
           static_cast<KvFormat>(f) != im.residual_format &&
           !(im.old_format && static_cast<KvFormat>(f) == *im.old_format)))
        return corrupt("block of head {} has bad format {} / dense flag {}", h, f, dense);
      if (n_used < 0 || n_used > im.block_tokens || first < 0)
        return corrupt("block of head {} has bad n_used {} / first position {}", h, n_used, first);
      b.format = static_cast<KvFormat>(f);
      b.n_used = n_used;
      b.first_pos = first;
      const BlockLayout l = block_layout(b.format, im.block_tokens, im.head_dim);
      const size_t body_bytes = static_cast<size_t>(l.data_bytes + l.param_bytes) +
                                (dense ? 0 : 4 * static_cast<size_t>(im.block_tokens));
      if (static_cast<size_t>(end - body) < body_bytes)
        return corrupt("KV file truncated in block data (head {})", h);
      b.data = body;
      b.params = l.param_bytes ? body + l.data_bytes : nullptr;
      b.positions =
          dense ? nullptr : reinterpret_cast<const int32_t*>(body + l.data_bytes + l.param_bytes);
      body += body_bytes;
    }
  }
  if (body != end) return corrupt("KV file has {} trailing bytes", end - body);
  return im;
}

Status copy_verify_block(const SeqImage& im, const SeqBlockDesc& b, uint8_t* data, uint8_t* params,
                         int32_t* positions) {
  const BlockLayout l = block_layout(b.format, im.block_tokens, im.head_dim);
  uint32_t crc = crc32c_copy(0, data, b.data, static_cast<size_t>(l.data_bytes));
  if (l.param_bytes) crc = crc32c_copy(crc, params, b.params, static_cast<size_t>(l.param_bytes));
  if (b.positions) {
    LK_CHECK(positions != nullptr);
    crc = crc32c_copy(crc, positions, b.positions, 4 * static_cast<size_t>(im.block_tokens));
  }
  if (crc != b.crc)
    return corrupt("KV block checksum mismatch (stored {:#010x}, computed {:#010x})", b.crc, crc);
  return Status::ok();
}

}  // namespace lk
