// The serialized form of one sequence's KV (swap-outs to every tier and session snapshots):
// a header with the cache shape, storage formats, positions, token ids and model digest, a
// table of blocks with a CRC-32C each, then the blocks' bytes. The parser validates every
// field and length before anything is trusted (it is fuzzed: tests/fuzz/kv_snapshot_fuzz).
// Byte layout: kv/README.md, "Serialized sequence".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "kv/bytes.h"
#include "kv/kv_view.h"

namespace lk {

struct SeqBlockDesc {
  KvFormat format = KvFormat::kF32;
  int32_t n_used = 0;
  int32_t first_pos = 0;  // positions first_pos + i when `positions` is null
  uint32_t crc = 0;       // CRC-32C of the block's body (data, params, positions)
  // Serialize: the block's storage. Parse: pointers into the parsed buffer.
  const uint8_t* data = nullptr;
  const uint8_t* params = nullptr;
  const int32_t* positions = nullptr;  // explicit positions [B] or null
};

struct SeqImage {
  int32_t n_layers = 0, n_kv_heads = 0, head_dim = 0, block_tokens = 0;
  KvFormat format = KvFormat::kF16, residual_format = KvFormat::kF16;
  std::optional<KvFormat> old_format;  // mixed precision by age: blocks may also be in it
  int64_t length = 0;                  // positions appended so far
  bool evicted = false;                // some token was evicted (blocks are not prefix-shareable)
  std::string model_digest;
  std::vector<int32_t> tokens;
  std::vector<std::vector<SeqBlockDesc>> heads;  // [n_layers * n_kv_heads] blocks in order
};

// Bytes the serialized image takes.
int64_t serialized_size(const SeqImage& image);

// Writes the image into out (out->size == serialized_size(image)), copying every block once
// and checksumming it on the way.
void serialize_seq_into(const SeqImage& image, Bytes* out);
// Same, into a new buffer.
BytesPtr serialize_seq(const SeqImage& image);

// The same bytes without copying the blocks, for a gather write (disk tier): the header and
// then pointers to each block's storage, in file order. The block checksums are computed
// lazily by prepare(), so a writer can checksum a few blocks right before it writes them
// (while they are in cache) instead of reading every block once more up front.
// The image and its blocks must stay unchanged until the pieces are written.
struct SeqPieces {
  BytesPtr header;                // pieces[0]; filled by prepare(pieces.size())
  std::vector<BytePiece> pieces;  // header first, then block data / params / positions
  size_t total = 0;               // == serialized_size(image)

  // Checksums every block whose pieces all lie in [1, end), and, once end == pieces.size(),
  // writes the header. Calls may only grow `end`. A writer writes pieces [1, n) first (in any
  // order relative to these calls), then prepare(n), then the header.
  void prepare(size_t end);

 private:
  friend SeqPieces serialize_seq_pieces(const SeqImage& image);
  const SeqImage* image_ = nullptr;
  std::vector<size_t> block_end_;
  std::vector<uint32_t> crcs_;
  size_t next_block_ = 0;
  bool header_done_ = false;
};
SeqPieces serialize_seq_pieces(const SeqImage& image);

// Parses and validates the header and block table of a serialized sequence; the block
// descriptors point into `data` (which must outlive the image). Block bodies are not
// checksummed here: verify_block() does that while copying them (one pass).
// verify_header_crc = false is for fuzzing the table parser only.
Result<SeqImage> parse_seq(const uint8_t* data, size_t size, bool verify_header_crc = true);

// Copies a parsed block's body into storage (data, params, positions [B] or null when the
// block is dense) and checks its CRC-32C. kCorrupt on mismatch.
Status copy_verify_block(const SeqImage& image, const SeqBlockDesc& b, uint8_t* data,
                         uint8_t* params, int32_t* positions);

}  // namespace lk
