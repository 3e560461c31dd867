// Host-memory tier: serialized sequences held in RAM (the buffer the transfer thread filled
// is kept as is: a swap to host costs exactly one copy out and one copy back).
#include <mutex>
#include <unordered_map>

#include "kv/tier.h"

namespace lk {

namespace {

class HostTier final : public KvTier {
 public:
  explicit HostTier(int64_t capacity) : capacity_(capacity) {}
  std::string name() const override { return "host"; }

  Status put(const std::string& key, BytesPtr value) override {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t old = values_.count(key) ? static_cast<int64_t>(values_[key]->size) : 0;
    const int64_t size = static_cast<int64_t>(value->size);
    if (capacity_ > 0 && used_ - old + size > capacity_)
      return make_error(StatusCode::kOutOfMemory,
                        "host tier full: {} of {} bytes used, value needs {}", used_, capacity_,
                        size);
    used_ += size - old;
    values_[key] = std::move(value);
    return Status::ok();
  }

  Result<BytesPtr> get(const std::string& key) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = values_.find(key);
    if (it == values_.end()) return not_found("host tier has no key '{}'", key);
    return it->second;
  }

  Status remove(const std::string& key) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = values_.find(key);
    if (it == values_.end()) return not_found("host tier has no key '{}'", key);
    used_ -= static_cast<int64_t>(it->second->size);
    values_.erase(it);
    return Status::ok();
  }

  int64_t bytes_used() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return used_;
  }

 private:
  mutable std::mutex mu_;
  int64_t capacity_;
  int64_t used_ = 0;
  std::unordered_map<std::string, BytesPtr> values_;
};

}  // namespace

std::unique_ptr<KvTier> make_host_tier(int64_t capacity_bytes) {
  return std::make_unique<HostTier>(capacity_bytes);
}

}  // namespace lk
