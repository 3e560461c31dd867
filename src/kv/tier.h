// Storage tiers below the device block pool: host memory, a disk cache directory, and a
// remote Redis. A tier stores opaque serialized sequences (kv_serialize.h) under string keys;
// integrity is checked by the reader (block CRCs), so a tier only has to move bytes.
// Implementations are thread-safe: the transfer thread calls them while the engine runs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "kv/bytes.h"

namespace lk {

class KvTier {
 public:
  virtual ~KvTier() = default;
  // "host", "disk", "redis" (or a test double's name).
  virtual std::string name() const = 0;
  // Stores value under key (replacing it). kOutOfMemory when the tier's capacity is full,
  // kIoError / kUnavailable when the medium fails; a failed put leaves no partial value.
  virtual Status put(const std::string& key, BytesPtr value) = 0;
  // kNotFound when absent; kUnavailable when the tier cannot be reached.
  virtual Result<BytesPtr> get(const std::string& key) = 0;
  virtual Status remove(const std::string& key) = 0;
  // Bytes currently stored (for accounting).
  virtual int64_t bytes_used() const = 0;
  // A buffer of n bytes to serialize a value into (warm, recycled memory where the tier
  // keeps a pool; a value put() and later removed returns its buffer to that pool).
  virtual BytesPtr allocate(size_t n) { return buffers_.acquire(n); }
  // True when put_pieces() writes the pieces where they lie (a gather write: the disk tier),
  // so a swap-out can skip serializing into one buffer. Default: false.
  virtual bool gathers() const { return false; }
  // Stores the concatenation of pieces (total bytes) under key. pieces[0] is a header that
  // depends on all the others (the block checksums): the tier calls prepare(end), with end
  // growing from call to call, to have the caller finish its work on pieces [1, end) (it may
  // then read them while they are in cache), and prepare(pieces.size()) before it reads
  // pieces[0]. Default: prepares all, copies the pieces into one buffer and put()s it.
  virtual Status put_pieces(const std::string& key, const std::vector<BytePiece>& pieces,
                            size_t total, const std::function<void(size_t end)>& prepare);

 protected:
  BufferPool buffers_;
};

// Host memory: values kept in RAM up to capacity_bytes (0 = unlimited).
std::unique_ptr<KvTier> make_host_tier(int64_t capacity_bytes = 0);

// A cache directory: one file per key, written to a temp file, fsync'd (when fsync is
// true) and renamed into place, so a crash never leaves a torn value under the final name.
Result<std::unique_ptr<KvTier>> make_disk_tier(const std::string& dir, int64_t capacity_bytes = 0,
                                               bool fsync = true);

// Redis via hiredis: values split into chunks of chunk_bytes (Redis caps a value at 512 MB),
// written with pipelined SETs under "<prefix><key>:<i>" plus a manifest key.
struct RedisTierConfig {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;  // AUTH when non-empty
  std::string prefix = "longkv:kv:";
  int64_t chunk_bytes = 8 << 20;
  double timeout_s = 5.0;
};
Result<std::unique_ptr<KvTier>> make_redis_tier(const RedisTierConfig& config);

// Fault drills: wraps a tier so that every read loses the value (kLose: kNotFound) or returns
// a copy with one flipped bit (kCorrupt). Swap-in must then recompute, never serve wrong KV.
enum class TierFault { kNone, kLose, kCorrupt };
const char* tier_fault_name(TierFault f);  // "none", "lose", "corrupt"
bool tier_fault_from_name(const std::string& s, TierFault* out);
std::unique_ptr<KvTier> make_fault_tier(std::unique_ptr<KvTier> inner, TierFault fault);

}  // namespace lk
