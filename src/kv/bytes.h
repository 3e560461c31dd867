// Owned, uninitialised byte buffers (serialized sequences travel between tiers in these;
// uninitialised so a swap costs one pass over the data, not a zero-fill first), and a pool
// that recycles them: fresh multi-megabyte buffers cost a page fault per 4 KiB on first
// touch, which halves swap bandwidth, so tiers hand out warm buffers from a BufferPool (as
// serving systems keep a pinned host pool).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace lk {

struct Bytes {
  std::unique_ptr<uint8_t[]> data;
  size_t size = 0;      // bytes in use
  size_t capacity = 0;  // bytes allocated

  static std::shared_ptr<Bytes> make(size_t n) {
    auto b = std::make_shared<Bytes>();
    b->data.reset(new uint8_t[n == 0 ? 1 : n]);
    b->size = n;
    b->capacity = n;
    return b;
  }
};
using BytesPtr = std::shared_ptr<Bytes>;

// A read-only span of bytes owned elsewhere (one piece of a gather write).
struct BytePiece {
  const void* data = nullptr;
  size_t size = 0;
};

// Recycles buffers: acquire(n) returns a buffer of size n (reusing a pooled one whose
// capacity fits, best fit), and the buffer returns to the pool when its last reference goes,
// up to max_pooled_bytes kept. Thread-safe; buffers may outlive the pool.
class BufferPool {
 public:
  explicit BufferPool(size_t max_pooled_bytes = size_t{1} << 30)
      : state_(std::make_shared<State>()) {
    state_->max_bytes = max_pooled_bytes;
  }

  BytesPtr acquire(size_t n) {
    std::unique_ptr<Bytes> b;
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      size_t best = state_->free.size();
      for (size_t i = 0; i < state_->free.size(); ++i) {
        const size_t cap = state_->free[i]->capacity;
        if (cap >= n && cap <= 2 * n + 4096 &&
            (best == state_->free.size() || cap < state_->free[best]->capacity))
          best = i;
      }
      if (best < state_->free.size()) {
        b = std::move(state_->free[best]);
        state_->free.erase(state_->free.begin() + static_cast<std::ptrdiff_t>(best));
        state_->pooled -= b->capacity;
      }
    }
    if (!b) {
      b = std::make_unique<Bytes>();
      b->data.reset(new uint8_t[n == 0 ? 1 : n]);
      b->capacity = n;
    }
    b->size = n;
    std::weak_ptr<State> weak = state_;
    return BytesPtr(b.release(), [weak](Bytes* p) {
      std::unique_ptr<Bytes> owned(p);
      if (auto s = weak.lock()) {
        std::lock_guard<std::mutex> lock(s->mu);
        if (s->pooled + owned->capacity <= s->max_bytes) {
          s->pooled += owned->capacity;
          s->free.push_back(std::move(owned));
        }
      }
    });
  }

  size_t pooled_bytes() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->pooled;
  }

 private:
  struct State {
    std::mutex mu;
    std::vector<std::unique_ptr<Bytes>> free;
    size_t pooled = 0;
    size_t max_bytes = 0;
  };
  std::shared_ptr<State> state_;
};

}  // namespace lk
