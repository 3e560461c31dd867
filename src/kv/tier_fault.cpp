// Fault drills: a tier wrapper whose reads lose or damage every value, so the recompute path
// of swap-in can be exercised end to end (`longkv run --swap-fault`). Writes, removal and
// accounting go to the wrapped tier unchanged.
#include <cstring>

#include "kv/tier.h"

namespace lk {

namespace {

class FaultTier final : public KvTier {
 public:
  FaultTier(std::unique_ptr<KvTier> inner, TierFault fault)
      : inner_(std::move(inner)), fault_(fault) {}
  std::string name() const override { return inner_->name(); }
  Status put(const std::string& key, BytesPtr value) override {
    return inner_->put(key, std::move(value));
  }
  Result<BytesPtr> get(const std::string& key) override {
    auto r = inner_->get(key);
    if (!r.is_ok() || fault_ == TierFault::kNone) return r;
    if (fault_ == TierFault::kLose)
      return not_found("{} tier lost key '{}' (--swap-fault lose)", inner_->name(), key);
    // kCorrupt: one flipped bit in the middle of a copy (the stored value stays intact).
    BytesPtr copy = Bytes::make((*r)->size);
    std::memcpy(copy->data.get(), (*r)->data.get(), copy->size);
    if (copy->size > 0) copy->data[copy->size / 2] ^= 0x08;
    return copy;
  }
  Status remove(const std::string& key) override { return inner_->remove(key); }
  int64_t bytes_used() const override { return inner_->bytes_used(); }
  BytesPtr allocate(size_t n) override { return inner_->allocate(n); }
  bool gathers() const override { return inner_->gathers(); }
  Status put_pieces(const std::string& key, const std::vector<BytePiece>& pieces, size_t total,
                    const std::function<void(size_t end)>& prepare) override {
    return inner_->put_pieces(key, pieces, total, prepare);
  }

 private:
  std::unique_ptr<KvTier> inner_;
  TierFault fault_;
};

}  // namespace

const char* tier_fault_name(TierFault f) {
  switch (f) {
    case TierFault::kNone:
      return "none";
    case TierFault::kLose:
      return "lose";
    case TierFault::kCorrupt:
      return "corrupt";
  }
  return "?";
}

bool tier_fault_from_name(const std::string& s, TierFault* out) {
  for (TierFault f : {TierFault::kNone, TierFault::kLose, TierFault::kCorrupt}) {
    if (s == tier_fault_name(f)) {
      *out = f;
      return true;
    }
  }
  return false;
}

std::unique_ptr<KvTier> make_fault_tier(std::unique_ptr<KvTier> inner, TierFault fault) {
  return std::make_unique<FaultTier>(std::move(inner), fault);
}

}  // namespace lk
