#include "kv/kv_bench.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <unistd.h>

#include "core/timer.h"
#include "kv/kv_codec.h"
#include "kv/kv_manager.h"

namespace lk {

namespace {

// Cheap deterministic K/V content: the values do not change memory or bandwidth.
void fill_chunk(std::vector<float>& x, uint64_t seed) {
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  for (float& f : x) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    f = static_cast<float>(static_cast<int64_t>(s >> 40) - (int64_t{1} << 23)) / float(1 << 22);
  }
}

// Appends `tokens` positions of synthetic K/V to seq, chunk by chunk, every layer.
Status build_session(KvManager& m, SeqId seq, int64_t tokens) {
  const auto& c = m.config();
  const int64_t chunk = 512;
  std::vector<float> k(static_cast<size_t>(chunk * c.n_kv_heads * c.head_dim)), v(k.size());
  std::vector<int32_t> pos;
  for (int64_t start = 0; start < tokens; start += chunk) {
    const int64_t n = std::min(chunk, tokens - start);
    pos.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) pos[i] = static_cast<int32_t>(start + i);
    fill_chunk(k, static_cast<uint64_t>(start) * 2 + 1);
    fill_chunk(v, static_cast<uint64_t>(start) * 2 + 2);
    for (int l = 0; l < c.n_layers; ++l)
      LK_RETURN_IF_ERROR(m.append(seq, l, pos, k.data(), v.data()));
  }
  return Status::ok();
}

int64_t session_blocks_bytes(const KvShape& s, int64_t tokens, int block_tokens, KvFormat f) {
  const int64_t per_head = (tokens + block_tokens - 1) / block_tokens + 1;
  return per_head * s.n_layers * s.n_kv_heads * block_layout(f, block_tokens, s.head_dim).bytes();
}

Status raw_host(const Bytes& src, Bytes& dst, double* out_s, double* in_s) {
  Timer t;
  std::memcpy(dst.data.get(), src.data.get(), src.size);
  *out_s = t.seconds();
  t.reset();
  std::memcpy(const_cast<uint8_t*>(src.data.get()), dst.data.get(), src.size);
  *in_s = t.seconds();
  return Status::ok();
}

Status raw_disk(const std::string& dir, bool fsync, const Bytes& src, Bytes& dst, double* out_s,
                double* in_s) {
  const std::string path = dir + "/raw-bandwidth.tmp";
  Timer t;
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create {}: {}", path, std::strerror(errno));
  size_t off = 0;
  while (off < src.size) {
    const ssize_t n = ::write(fd, src.data.get() + off, std::min<size_t>(src.size - off, 1 << 30));
    if (n <= 0) {
      ::close(fd);
      ::unlink(path.c_str());
      return io_error("cannot write {}: {}", path, std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  if (fsync) ::fsync(fd);
  ::close(fd);
  *out_s = t.seconds();
  t.reset();
  fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open {}: {}", path, std::strerror(errno));
  off = 0;
  while (off < dst.size) {
    const ssize_t n = ::read(fd, dst.data.get() + off, dst.size - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  *in_s = t.seconds();
  ::unlink(path.c_str());
  if (off != dst.size) return io_error("short read of {}", path);
  return Status::ok();
}

Status raw_redis(const RedisTierConfig& rc, const Bytes& src, Bytes& dst, double* out_s,
                 double* in_s) {
  timeval tv{static_cast<time_t>(rc.timeout_s), 0};
  redisContext* c = redisConnectWithTimeout(rc.host.c_str(), rc.port, tv);
  if (!c || c->err) {
    const std::string why = c ? c->errstr : "no context";
    if (c) redisFree(c);
    return Status(StatusCode::kUnavailable,
                  fmt::format("cannot connect to Redis at {}:{}: {}", rc.host, rc.port, why));
  }
  redisSetTimeout(c, tv);
  if (!rc.password.empty()) {
    auto* r = static_cast<redisReply*>(redisCommand(c, "AUTH %s", rc.password.c_str()));
    if (r) freeReplyObject(r);
  }
  const size_t chunk = static_cast<size_t>(rc.chunk_bytes);
  const size_t n_chunks = (src.size + chunk - 1) / chunk;
  std::vector<std::string> keys(n_chunks);
  for (size_t i = 0; i < n_chunks; ++i) keys[i] = rc.prefix + "raw-bench:" + std::to_string(i);
  Status st;
  auto drain = [&](size_t n, bool copy) {
    for (size_t i = 0; i < n; ++i) {
      void* r = nullptr;
      if (redisGetReply(c, &r) != REDIS_OK || !r) {
        st = Status(StatusCode::kUnavailable, "Redis connection lost during raw benchmark");
        return;
      }
      auto* rep = static_cast<redisReply*>(r);
      if (copy && rep->type == REDIS_REPLY_STRING)
        std::memcpy(dst.data.get() + i * chunk, rep->str, static_cast<size_t>(rep->len));
      freeReplyObject(rep);
    }
  };
  Timer t;
  for (size_t i = 0; i < n_chunks; ++i) {
    const size_t len = std::min(chunk, src.size - i * chunk);
    const char* argv[] = {"SET", keys[i].c_str(),
                          reinterpret_cast<const char*>(src.data.get() + i * chunk)};
    const size_t lens[] = {3, keys[i].size(), len};
    redisAppendCommandArgv(c, 3, argv, lens);
  }
  drain(n_chunks, false);
  *out_s = t.seconds();
  t.reset();
  for (size_t i = 0; i < n_chunks; ++i) {
    const char* argv[] = {"GET", keys[i].c_str()};
    const size_t lens[] = {3, keys[i].size()};
    redisAppendCommandArgv(c, 2, argv, lens);
  }
  drain(n_chunks, true);
  *in_s = t.seconds();
  for (size_t i = 0; i < n_chunks; ++i) {
    auto* r = static_cast<redisReply*>(redisCommand(c, "DEL %s", keys[i].c_str()));
    if (r) freeReplyObject(r);
  }
  redisFree(c);
  return st;
}

}  // namespace

int64_t process_rss_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  long size = 0, resident = 0;
  const int got = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * ::sysconf(_SC_PAGESIZE) : 0;
}

Result<TierBenchResult> bench_tier(const TierBenchOptions& o) {
  if (o.tokens <= 0) return invalid_argument("--tokens must be positive (got {})", o.tokens);
  if (o.repeat <= 0) return invalid_argument("--repeat must be positive (got {})", o.repeat);
  std::unique_ptr<KvTier> tier;
  if (o.tier == "host") {
    tier = make_host_tier();
  } else if (o.tier == "disk") {
    if (o.cache_dir.empty()) return invalid_argument("disk tier needs --cache-dir");
    LK_ASSIGN_OR_RETURN(tier, make_disk_tier(o.cache_dir, 0, o.fsync));
  } else if (o.tier == "redis") {
    LK_ASSIGN_OR_RETURN(tier, make_redis_tier(o.redis));
  } else {
    return invalid_argument("unknown tier '{}' (valid: host, disk, redis, all)", o.tier);
  }
  KvManagerConfig c;
  c.n_layers = o.shape.n_layers;
  c.n_kv_heads = o.shape.n_kv_heads;
  c.head_dim = o.shape.head_dim;
  c.block_tokens = o.block_tokens;
  c.format = o.format;
  c.prefix_cache = false;
  c.budget_bytes = 2 * session_blocks_bytes(o.shape, o.tokens, o.block_tokens, KvFormat::kF32);
  c.model_digest = "bench-kv";
  LK_ASSIGN_OR_RETURN(auto m, KvManager::create(c));
  LK_RETURN_IF_ERROR(m->add_tier(std::move(tier)));
  LK_RETURN_IF_ERROR(build_session(*m, 1, o.tokens));
  TierBenchResult res;
  res.tier = o.tier;
  // Swaps and raw transfers alternate within each repetition, so both see the same machine
  // conditions (this matters on a shared host); the best and the median of each are reported.
  std::vector<double> out_s, in_s, raw_out_s, raw_in_s;
  BytesPtr src, dst;
  for (int r = 0; r < o.repeat; ++r) {
    Timer t;
    Status st = m->swap_out(1, o.tier).get();
    out_s.push_back(t.seconds());
    if (!st.is_ok()) return st;
    res.bytes = m->usage().tier_bytes.at(o.tier);
    t.reset();
    SwapInResult in = m->swap_in(1).get();
    in_s.push_back(t.seconds());
    if (!in.status.is_ok()) return in.status;
    if (!src) {
      src = Bytes::make(static_cast<size_t>(res.bytes));
      dst = Bytes::make(static_cast<size_t>(res.bytes));
      for (size_t i = 0; i < src->size; ++i)
        src->data[i] = static_cast<uint8_t>(i * 131 + (i >> 12));
      std::memset(dst->data.get(), 0, dst->size);  // both resident: raw is the best case
    }
    double a = 0, b = 0;
    if (o.tier == "host") LK_RETURN_IF_ERROR(raw_host(*src, *dst, &a, &b));
    if (o.tier == "disk") LK_RETURN_IF_ERROR(raw_disk(o.cache_dir, o.fsync, *src, *dst, &a, &b));
    if (o.tier == "redis") LK_RETURN_IF_ERROR(raw_redis(o.redis, *src, *dst, &a, &b));
    raw_out_s.push_back(a);
    raw_in_s.push_back(b);
  }
  const double gb = static_cast<double>(res.bytes) / 1e9;
  auto best = [&](const std::vector<double>& v) {
    return gb / *std::min_element(v.begin(), v.end());
  };
  auto median = [&](std::vector<double> v) {  // of the times; an even count averages the two
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return gb / (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
  };
  res.swap_out_gbps = best(out_s);
  res.swap_in_gbps = best(in_s);
  res.raw_out_gbps = best(raw_out_s);
  res.raw_in_gbps = best(raw_in_s);
  res.raw_gbps = std::min(res.raw_out_gbps, res.raw_in_gbps);
  res.median_swap_out_gbps = median(out_s);
  res.median_swap_in_gbps = median(in_s);
  res.median_raw_out_gbps = median(raw_out_s);
  res.median_raw_in_gbps = median(raw_in_s);
  return res;
}

Result<MemCheckResult> kv_mem_check(const MemCheckOptions& o) {
  if (o.tokens <= 0) return invalid_argument("--tokens must be positive (got {})", o.tokens);
  KvManagerConfig c;
  c.n_layers = o.shape.n_layers;
  c.n_kv_heads = o.shape.n_kv_heads;
  c.head_dim = o.shape.head_dim;
  c.block_tokens = o.block_tokens;
  c.format = o.format;
  c.prefix_cache = false;
  c.budget_bytes = 2 * session_blocks_bytes(o.shape, o.tokens, o.block_tokens, KvFormat::kF16);
  LK_RETURN_IF_ERROR(c.validate());
  const int64_t rss0 = process_rss_bytes();
  LK_ASSIGN_OR_RETURN(auto m, KvManager::create(c));
  LK_RETURN_IF_ERROR(build_session(*m, 1, o.tokens));
  MemCheckResult r;
  r.rss_delta = process_rss_bytes() - rss0;
  const KvUsage u = m->usage();
  r.manager_bytes = u.used_bytes + u.meta_bytes;
  // The same session in f16: every block full but the last of each head (no residual).
  const int64_t n_heads = static_cast<int64_t>(c.n_layers) * c.n_kv_heads;
  const int64_t f16_blocks = (o.tokens + o.block_tokens - 1) / o.block_tokens;
  r.f16_bytes =
      n_heads * f16_blocks * block_layout(KvFormat::kF16, o.block_tokens, c.head_dim).bytes();
  r.accounting_ratio = static_cast<double>(r.manager_bytes) / static_cast<double>(r.f16_bytes);
  r.rss_ratio = static_cast<double>(r.rss_delta) / static_cast<double>(r.f16_bytes);
  return r;
}

}  // namespace lk
