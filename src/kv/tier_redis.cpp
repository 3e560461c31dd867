// Redis tier (hiredis, synchronous, one connection guarded by a mutex). A value is stored as
// chunks "<prefix><key>:<i>" written with one pipelined round of SETs, then a manifest
// "<prefix><key>" = "lkkv1 <size> <n_chunks>" written last: a reader that finds the
// manifest finds every chunk, and a writer killed mid-way leaves no manifest. Any dropped
// connection or error reply becomes kUnavailable; the next call reconnects.
#include <cstring>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <vector>

#include <hiredis/hiredis.h>

#include "kv/tier.h"

namespace lk {

namespace {

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r) freeReplyObject(r);
  }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

class RedisTier final : public KvTier {
 public:
  explicit RedisTier(RedisTierConfig config) : cfg_(std::move(config)) {}
  ~RedisTier() override {
    if (ctx_) redisFree(ctx_);
  }
  std::string name() const override { return "redis"; }

  Status connect_locked() {
    if (ctx_ && ctx_->err == 0) return Status::ok();
    if (ctx_) {
      redisFree(ctx_);
      ctx_ = nullptr;
    }
    timeval tv{static_cast<time_t>(cfg_.timeout_s),
               static_cast<suseconds_t>((cfg_.timeout_s - static_cast<time_t>(cfg_.timeout_s)) * 1e6)};
    ctx_ = redisConnectWithTimeout(cfg_.host.c_str(), cfg_.port, tv);
    if (!ctx_ || ctx_->err) {
      const std::string why = ctx_ ? ctx_->errstr : "cannot allocate context";
      if (ctx_) redisFree(ctx_);
      ctx_ = nullptr;
      return Status(StatusCode::kUnavailable,
                    fmt::format("cannot connect to Redis at {}:{}: {}", cfg_.host, cfg_.port, why));
    }
    redisSetTimeout(ctx_, tv);
    if (!cfg_.password.empty()) {
      LK_RETURN_IF_ERROR(command_locked({"AUTH", cfg_.password}, nullptr));
    }
    return Status::ok();
  }

  // Sends one command and reads its reply.
  Status command_locked(const std::vector<std::string>& args, ReplyPtr* out) {
    LK_RETURN_IF_ERROR(append_locked(args));
    return reply_locked(out);
  }

  Status append_locked(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    return append_argv_locked(argv, lens);
  }

  Status append_argv_locked(std::vector<const char*> argv, const std::vector<size_t>& lens) {
    if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), const_cast<const char**>(argv.data()), lens.data()) !=
        REDIS_OK)
      return broken_locked();
    return Status::ok();
  }

  Status reply_locked(ReplyPtr* out) {
    void* r = nullptr;
    if (redisGetReply(ctx_, &r) != REDIS_OK || !r) return broken_locked();
    ReplyPtr reply(static_cast<redisReply*>(r));
    if (reply->type == REDIS_REPLY_ERROR)
      return Status(StatusCode::kUnavailable,
                    fmt::format("Redis {}:{} replied error: {}", cfg_.host, cfg_.port,
                                std::string(reply->str, reply->len)));
    if (out) *out = std::move(reply);
    return Status::ok();
  }

  Status broken_locked() {
    std::string why = ctx_ && ctx_->err ? ctx_->errstr : "connection lost";
    if (ctx_) redisFree(ctx_);
    ctx_ = nullptr;
    return Status(StatusCode::kUnavailable,
                  fmt::format("Redis at {}:{} failed: {}", cfg_.host, cfg_.port, why));
  }

  Status put(const std::string& key, BytesPtr value) override {
    std::lock_guard<std::mutex> lock(mu_);
    LK_RETURN_IF_ERROR(connect_locked());
    const size_t chunk = static_cast<size_t>(cfg_.chunk_bytes);
    const size_t n_chunks = value->size == 0 ? 0 : (value->size + chunk - 1) / chunk;
    const std::string base = cfg_.prefix + key;
    std::vector<std::string> names(n_chunks);
    for (size_t i = 0; i < n_chunks; ++i) {
      names[i] = base + ":" + std::to_string(i);
      const size_t off = i * chunk, len = std::min(chunk, value->size - off);
      std::vector<const char*> argv = {"SET", names[i].data(),
                                       reinterpret_cast<const char*>(value->data.get() + off)};
      std::vector<size_t> lens = {3, names[i].size(), len};
      LK_RETURN_IF_ERROR(append_argv_locked(argv, lens));
    }
    for (size_t i = 0; i < n_chunks; ++i) LK_RETURN_IF_ERROR(reply_locked(nullptr));
    const std::string manifest = fmt::format("lkkv1 {} {}", value->size, n_chunks);
    LK_RETURN_IF_ERROR(command_locked({"SET", base, manifest}, nullptr));
    used_ += static_cast<int64_t>(value->size) - (sizes_.count(key) ? sizes_[key] : 0);
    sizes_[key] = static_cast<int64_t>(value->size);
    return Status::ok();
  }

  Result<BytesPtr> get(const std::string& key) override {
    std::lock_guard<std::mutex> lock(mu_);
    LK_RETURN_IF_ERROR(connect_locked());
    const std::string base = cfg_.prefix + key;
    ReplyPtr m;
    LK_RETURN_IF_ERROR(command_locked({"GET", base}, &m));
    if (m->type == REDIS_REPLY_NIL) return not_found("Redis has no key '{}'", base);
    if (m->type != REDIS_REPLY_STRING) return corrupt("Redis manifest '{}' is not a string", base);
    std::istringstream in(std::string(m->str, m->len));
    std::string magic;
    uint64_t size = 0, n_chunks = 0;
    in >> magic >> size >> n_chunks;
    const uint64_t chunk = static_cast<uint64_t>(cfg_.chunk_bytes);
    if (!in || magic != "lkkv1" || n_chunks != (size + chunk - 1) / chunk)
      return corrupt("Redis manifest '{}' is malformed", base);
    BytesPtr out = buffers_.acquire(size);
    std::vector<std::string> names(n_chunks);
    for (uint64_t i = 0; i < n_chunks; ++i) {
      names[i] = base + ":" + std::to_string(i);
      LK_RETURN_IF_ERROR(append_locked({"GET", names[i]}));
    }
    Status first_error;
    for (uint64_t i = 0; i < n_chunks; ++i) {
      ReplyPtr r;
      Status st = reply_locked(&r);
      if (!st.is_ok()) return st;  // connection is gone: nothing more to drain
      const uint64_t off = i * chunk, len = std::min<uint64_t>(chunk, size - off);
      if (r->type != REDIS_REPLY_STRING || static_cast<uint64_t>(r->len) != len) {
        if (first_error.is_ok())
          first_error = not_found("Redis chunk '{}' is missing or has the wrong size", names[i]);
        continue;
      }
      std::memcpy(out->data.get() + off, r->str, len);
    }
    if (!first_error.is_ok()) return first_error;
    return out;
  }

  Status remove(const std::string& key) override {
    std::lock_guard<std::mutex> lock(mu_);
    LK_RETURN_IF_ERROR(connect_locked());
    const std::string base = cfg_.prefix + key;
    ReplyPtr m;
    LK_RETURN_IF_ERROR(command_locked({"GET", base}, &m));
    if (m->type != REDIS_REPLY_STRING) return not_found("Redis has no key '{}'", base);
    std::istringstream in(std::string(m->str, m->len));
    std::string magic;
    uint64_t size = 0, n_chunks = 0;
    in >> magic >> size >> n_chunks;
    std::vector<std::string> args = {"DEL", base};
    for (uint64_t i = 0; i < n_chunks && i < (uint64_t{1} << 20); ++i)
      args.push_back(base + ":" + std::to_string(i));
    LK_RETURN_IF_ERROR(command_locked(args, nullptr));
    used_ -= sizes_.count(key) ? sizes_[key] : 0;
    sizes_.erase(key);
    return Status::ok();
  }

  int64_t bytes_used() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return used_;
  }

 private:
  RedisTierConfig cfg_;
  mutable std::mutex mu_;
  redisContext* ctx_ = nullptr;
  int64_t used_ = 0;
  std::unordered_map<std::string, int64_t> sizes_;
};

}  // namespace

Result<std::unique_ptr<KvTier>> make_redis_tier(const RedisTierConfig& config) {
  if (config.chunk_bytes <= 0 || config.chunk_bytes > (int64_t{512} << 20))
    return invalid_argument("redis chunk_bytes must be in (0, 512 MiB] (got {})", config.chunk_bytes);
  auto tier = std::make_unique<RedisTier>(config);
  // Fail early (and clearly) when the server cannot be reached.
  Result<BytesPtr> probe = tier->get("__longkv_probe__");
  if (!probe.is_ok() && probe.status().code() == StatusCode::kUnavailable) return probe.status();
  return std::unique_ptr<KvTier>(std::move(tier));
}

}  // namespace lk
