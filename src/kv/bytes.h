// An owned, uninitialised byte buffer (serialized sequences travel between tiers in these;
// uninitialised so that a swap costs one pass over the data, not a zero-fill first).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace lk {

struct Bytes {
  std::unique_ptr<uint8_t[]> data;
  size_t size = 0;

  static std::shared_ptr<Bytes> make(size_t n) {
    auto b = std::make_shared<Bytes>();
    b->data.reset(new uint8_t[n == 0 ? 1 : n]);
    b->size = n;
    return b;
  }
};
using BytesPtr = std::shared_ptr<Bytes>;

}  // namespace lk
