#include "kernels/work_pool.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/parallel.h"

namespace lk {

namespace {

// state_ packs (generation:24 | n_chunks:20 | next:20) so that claiming a chunk and checking
// that it belongs to the current loop is one compare-and-swap: a late worker can never run a
// chunk of a loop that has already been replaced.
constexpr int kNextBits = 20, kCountBits = 20;
constexpr uint64_t kMask20 = (uint64_t{1} << 20) - 1;
constexpr int64_t kMaxChunks = int64_t{1} << 19;

uint64_t pack(uint64_t gen, uint64_t count, uint64_t next) {
  return (gen << (kNextBits + kCountBits)) | (count << kNextBits) | next;
}
uint64_t gen_of(uint64_t v) {
  return v >> (kNextBits + kCountBits);
}
uint64_t count_of(uint64_t v) {
  return (v >> kNextBits) & kMask20;
}
uint64_t next_of(uint64_t v) {
  return v & kMask20;
}

thread_local bool t_inside = false;

class Pool {
 public:
  explicit Pool(int n_workers) {
    for (int i = 0; i < n_workers; ++i) workers_.emplace_back([this] { worker_loop(); });
  }
  ~Pool() {
    stop_.store(true);
    state_.fetch_add(pack(1, 0, 0));  // a new generation wakes everyone
    state_.notify_all();
    for (auto& t : workers_) t.join();
  }
  int size() const { return static_cast<int>(workers_.size()); }

  void run(int64_t n_chunks, const std::function<void(int64_t)>& chunk_fn) {
    fn_ = &chunk_fn;
    done_.store(0, std::memory_order_relaxed);
    const uint64_t gen = (gen_of(state_.load(std::memory_order_relaxed)) + 1) & 0xffffff;
    // seq_cst store then load (and the reverse in worker_loop): either the worker sees the
    // new generation before sleeping, or we see it counted as a sleeper and wake it.
    state_.store(pack(gen, static_cast<uint64_t>(n_chunks), 0));
    if (sleepers_.load() > 0) state_.notify_all();
    work_on(gen);
    // Every chunk claimed; wait for the ones still running elsewhere.
    int spins = 0;
    while (done_.load(std::memory_order_acquire) < n_chunks) {
      if (++spins < 4096) {
        _mm_pause();
      } else {
        std::this_thread::yield();
      }
    }
  }

 private:
  // Claims and runs chunks of generation `gen` until none is left.
  void work_on(uint64_t gen) {
    uint64_t v = state_.load(std::memory_order_acquire);
    for (;;) {
      if (gen_of(v) != gen || next_of(v) >= count_of(v)) return;
      if (!state_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) continue;
      (*fn_)(static_cast<int64_t>(next_of(v)));
      done_.fetch_add(1, std::memory_order_acq_rel);
      v = state_.load(std::memory_order_acquire);
    }
  }

  void worker_loop() {
    t_inside = true;
    uint64_t seen = gen_of(state_.load());
    while (!stop_.load(std::memory_order_relaxed)) {
      uint64_t v = state_.load(std::memory_order_acquire);
      // Spin a little (loops come back to back within a forward step), then sleep.
      for (int spins = 0; gen_of(v) == seen && spins < 20000; ++spins) {
        _mm_pause();
        v = state_.load(std::memory_order_acquire);
      }
      if (gen_of(v) == seen) {
        sleepers_.fetch_add(1);
        v = state_.load();
        if (gen_of(v) == seen && !stop_.load()) state_.wait(v);
        sleepers_.fetch_sub(1);
        continue;
      }
      seen = gen_of(v);
      if (stop_.load()) return;
      work_on(seen);
    }
  }

  std::vector<std::thread> workers_;
  std::atomic<uint64_t> state_{0};
  std::atomic<int64_t> done_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(int64_t)>* fn_ = nullptr;
};

std::mutex g_pool_mu;
std::unique_ptr<Pool> g_pool;

Pool* pool_for_threads(int threads) {
  std::lock_guard<std::mutex> g(g_pool_mu);
  if (!g_pool || g_pool->size() != threads - 1) {
    g_pool.reset();
    g_pool = std::make_unique<Pool>(threads - 1);
  }
  return g_pool.get();
}

}  // namespace

void pool_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t min_chunk) {
  if (n <= 0) return;
  const int threads = num_threads();
  min_chunk = std::max<int64_t>(1, min_chunk);
  const int64_t chunks = std::min<int64_t>({int64_t{threads} * 4, n / min_chunk, kMaxChunks});
  if (threads <= 1 || chunks <= 1 || t_inside) {
    fn(0, n);
    return;
  }
  Pool* pool = pool_for_threads(threads);
  const std::function<void(int64_t)> chunk_fn = [&](int64_t c) {
    const int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
    if (b < e) fn(b, e);
  };
  t_inside = true;
  pool->run(chunks, chunk_fn);
  t_inside = false;
}

}  // namespace lk
