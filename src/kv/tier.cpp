#include "kv/tier.h"

#include <cstring>

namespace lk {

Status KvTier::put_pieces(const std::string& key, const std::vector<BytePiece>& pieces,
                          size_t total, const std::function<void(size_t end)>& prepare) {
  prepare(pieces.size());
  BytesPtr value = allocate(total);
  uint8_t* p = value->data.get();
  for (const BytePiece& piece : pieces) {
    std::memcpy(p, piece.data, piece.size);
    p += piece.size;
  }
  return put(key, std::move(value));
}

}  // namespace lk
