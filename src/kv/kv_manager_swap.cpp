// KvManager: context switching (swap_out / swap_in on the transfer thread), session
// snapshots, and spilling prefix-index entries to a tier.
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/check.h"
#include "core/log.h"
#include "kv/kv_manager.h"
#include "kv/thread_slice.h"

namespace lk {

namespace {

Status write_file_atomic(const std::string& path, const Bytes& bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create {}: {}", tmp, std::strerror(errno));
  const uint8_t* p = bytes.data.get();
  size_t left = bytes.size;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, std::min<size_t>(left, size_t{1} << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      ::close(fd);
      ::unlink(tmp.c_str());
      return io_error("cannot write {}: {}", tmp, std::strerror(err));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error("cannot flush {}: {}", tmp, std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error("cannot rename {} to {}: {}", tmp, path, std::strerror(err));
  }
  return Status::ok();
}

Result<BytesPtr> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return not_found("snapshot {} does not exist", path);
    return io_error("cannot open {}: {}", path, std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return invalid_argument("{} is not a regular file", path);
  }
  BytesPtr out = Bytes::make(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out->size) {
    const ssize_t n = ::read(fd, out->data.get() + got, out->size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got != out->size) return io_error("short read of {} ({} of {} bytes)", path, got, out->size);
  return out;
}

}  // namespace

// ---------------------------------------------------------------- transfer thread

namespace {
constexpr int64_t kTransferSliceNs = 100'000;  // the kernel's minimum custom slice (0.1 ms)
}  // namespace

void KvManager::transfer_loop() {
  // Swaps are latency-bound hand-offs (the caller often waits on the future): a short slice
  // gets this thread onto a CPU as soon as a job is queued (see thread_slice.h).
  if (!request_thread_slice(kTransferSliceNs))
    LK_LOG_DEBUG("kv transfer thread: the kernel keeps the default time slice");
  std::unique_lock<std::mutex> lk(q_mu_);
  for (;;) {
    q_cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and drained
    std::function<void()> job = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    lk.unlock();
    job();
    lk.lock();
    --busy_;
    if (queue_.empty() && busy_ == 0) idle_cv_.notify_all();
  }
}

void KvManager::enqueue(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lk(q_mu_);
    queue_.push_back(std::move(job));
  }
  q_cv_.notify_one();
}

void KvManager::wait_transfers() {
  std::unique_lock<std::mutex> lk(q_mu_);
  idle_cv_.wait(lk, [&] { return queue_.empty() && busy_ == 0; });
}

// ---------------------------------------------------------------- tiers

Status KvManager::add_tier(std::unique_ptr<KvTier> tier) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string name = tier->name();
  if (name == "device") return invalid_argument("tier name 'device' is reserved for the pool");
  if (tiers_.count(name)) return invalid_argument("tier '{}' is already registered", name);
  tiers_[name] = std::move(tier);
  return Status::ok();
}

Status KvManager::set_prefix_spill_tier(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!name.empty() && !tiers_.count(name)) return not_found("no tier named '{}'", name);
  spill_tier_ = name;
  return Status::ok();
}

KvTier* KvManager::tier(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tiers_.find(name);
  return it == tiers_.end() ? nullptr : it->second.get();
}

SeqImage KvManager::image_of(const Seq& s) const {
  SeqImage im;
  im.n_layers = cfg_.n_layers;
  im.n_kv_heads = cfg_.n_kv_heads;
  im.head_dim = cfg_.head_dim;
  im.block_tokens = cfg_.block_tokens;
  im.format = cfg_.format;
  im.residual_format = cfg_.residual_format;
  im.old_format = cfg_.old_format;
  im.length = *std::max_element(s.layer_len.begin(), s.layer_len.end());
  im.evicted = s.evicted;
  im.model_digest = cfg_.model_digest;
  im.tokens = s.tokens;
  im.heads.resize(s.heads.size());
  for (size_t i = 0; i < s.heads.size(); ++i) {
    for (BlockId b : s.heads[i].blocks) {
      const BlockMeta& m = pool_.meta(b);
      SeqBlockDesc d;
      d.format = m.format;
      d.n_used = m.n_used;
      d.first_pos = m.first_pos;
      d.data = pool_.data(b);
      d.params = pool_.params(b);
      d.positions = m.positions.get();
      im.heads[i].push_back(d);
    }
  }
  return im;
}

Status KvManager::check_image_shape(const SeqImage& im, const std::string& what,
                                    StatusCode code) const {
  if (im.n_layers != cfg_.n_layers || im.n_kv_heads != cfg_.n_kv_heads ||
      im.head_dim != cfg_.head_dim || im.block_tokens != cfg_.block_tokens ||
      im.format != cfg_.format || im.residual_format != cfg_.residual_format) {
    return Status(code,
                  fmt::format("{} holds KV of shape layers={} kv_heads={} head_dim={} "
                              "block_tokens={} format={}/{}, but this cache is layers={} "
                              "kv_heads={} head_dim={} block_tokens={} format={}/{}",
                              what, im.n_layers, im.n_kv_heads, im.head_dim, im.block_tokens,
                              kv_format_name(im.format), kv_format_name(im.residual_format),
                              cfg_.n_layers, cfg_.n_kv_heads, cfg_.head_dim, cfg_.block_tokens,
                              kv_format_name(cfg_.format), kv_format_name(cfg_.residual_format)));
  }
  // An image with old-format blocks needs a cache that keeps that old format (a cache with
  // one may take images without: all their blocks are in the main format).
  if (im.old_format && im.old_format != cfg_.old_format)
    return Status(code, fmt::format("{} holds mixed-precision KV with old blocks in {}, but this "
                                    "cache keeps old blocks in {}",
                                    what, kv_format_name(*im.old_format),
                                    cfg_.old_format ? kv_format_name(*cfg_.old_format) : "none"));
  return Status::ok();
}

Status KvManager::install_image(SeqId id, const SeqImage& im, std::unique_lock<std::mutex>* lock) {
  struct Pending {
    BlockId id;
    size_t head;
    const SeqBlockDesc* desc;
    uint8_t* data;
    uint8_t* params;
    int32_t* pos;  // the block's own explicit positions array [B], or null (consecutive)
  };
  std::vector<Pending> pend;
  // Leading full blocks whose prefix the index holds on device are shared, not copied again
  // (a swapped-out sequence's registered blocks usually stay behind as prefix cache).
  const int64_t n_shared = shareable_prefix_blocks(im);
  std::vector<BlockId> shared;  // [n_shared][head], referenced now, pinned while unlocked
  {
    uint64_t parent = 0;
    const int64_t B = cfg_.block_tokens;
    for (int64_t i = 0; i < n_shared; ++i) {
      parent = prefix_.chain_hash(
          parent, std::span<const int32_t>(im.tokens.data() + i * B, static_cast<size_t>(B)));
      for (BlockId b : prefix_.find(parent)->blocks) {
        pool_.ref(b);
        shared.push_back(b);
        inflight_blocks_.insert(b);
      }
    }
  }
  auto drop_all = [&] {
    for (auto& p : pend) pool_.unref(p.id);
    pend.clear();
    for (BlockId b : shared) pool_.unref(b);
    shared.clear();
  };
  auto unpin_shared = [&] {
    for (BlockId b : shared) inflight_blocks_.erase(inflight_blocks_.find(b));
  };
  for (size_t i = 0; i < im.heads.size(); ++i) {
    for (size_t j = static_cast<size_t>(n_shared); j < im.heads[i].size(); ++j) {
      const SeqBlockDesc& d = im.heads[i][j];
      Result<BlockId> r = pool_alloc(d.format);
      if (!r.is_ok()) {
        unpin_shared();
        drop_all();
        return r.status();
      }
      pend.push_back({*r, i, &d, pool_.data(*r), pool_.params(*r),
                      d.positions ? pool_.explicit_positions(*r) : nullptr});
    }
  }
  for (auto& p : pend) inflight_blocks_.insert(p.id);
  // The copy runs without the lock: these blocks belong to nobody else yet.
  if (lock) lock->unlock();
  Status bad;
  for (auto& p : pend) {
    Status st = copy_verify_block(im, *p.desc, p.data, p.params, p.pos);
    if (!st.is_ok()) {
      bad = st.with_context(fmt::format("head {}", p.head));
      break;
    }
  }
  if (lock) lock->lock();
  for (auto& p : pend) inflight_blocks_.erase(inflight_blocks_.find(p.id));
  unpin_shared();
  if (!bad.is_ok()) {
    drop_all();
    return bad;
  }
  for (auto& p : pend) {
    if (p.pos)
      pool_.set_n_used(p.id, p.desc->n_used);  // explicit positions already copied in
    else
      pool_.set_positions(p.id, p.desc->n_used, p.desc->first_pos, nullptr);
  }
  // Structure must be what this cache would have built (a valid checksum is not a proof).
  std::vector<HeadTable> heads(im.heads.size());
  for (int64_t i = 0; i < n_shared; ++i)
    for (size_t h = 0; h < heads.size(); ++h)
      heads[h].blocks.push_back(shared[static_cast<size_t>(i) * heads.size() + h]);
  for (auto& p : pend) heads[p.head].blocks.push_back(p.id);
  for (size_t i = 0; i < heads.size(); ++i) {
    HeadTable& h = heads[i];
    int64_t last_pos = INT64_MIN;
    bool main_seen = false;
    for (size_t j = 0; j < h.blocks.size(); ++j) {
      const BlockMeta& m = pool_.meta(h.blocks[j]);
      const bool last = j + 1 == h.blocks.size();
      const bool residual = kivi() && m.format == cfg_.residual_format;
      // Mixed precision: old-format blocks only before the main ones.
      const bool old = !kivi() && cfg_.old_format && m.format == *cfg_.old_format;
      const bool ok_format = m.format == cfg_.format || (residual && last) || (old && !main_seen);
      main_seen = main_seen || !old;
      const bool ok_fill =
          (m.n_used > 0 || residual) && !(residual && m.n_used == cfg_.block_tokens);
      bool ok_pos = true;
      if (!m.positions) {  // consecutive: only the first position needs checking
        ok_pos = m.n_used == 0 || m.first_pos > last_pos;
        if (m.n_used > 0) last_pos = static_cast<int64_t>(m.first_pos) + m.n_used - 1;
      }
      for (int t = 0; m.positions && t < m.n_used && ok_pos; ++t) {
        ok_pos = m.positions[t] > last_pos;
        last_pos = m.positions[t];
      }
      if (!ok_format || !ok_fill || !ok_pos) {
        drop_all();
        return corrupt("head {} block {} is inconsistent (format {}, {} tokens{})", i, j,
                       kv_format_name(m.format), m.n_used,
                       ok_pos ? "" : ", positions out of order");
      }
      h.n_tokens += m.n_used;
    }
  }
  Seq& s = seq_mut(id);
  s.heads = std::move(heads);
  s.layer_len.assign(cfg_.n_layers, im.length);
  s.tokens = im.tokens;
  s.evicted = im.evicted;
  s.registered = 0;
  s.chain_hash = 0;
  s.state = SeqState::kResident;
  register_prefix(s);  // re-finds the shared entries, registers the rest
  ++epoch_;
  return Status::ok();
}

int64_t KvManager::shareable_prefix_blocks(const SeqImage& im) const {
  if (!cfg_.prefix_cache || im.evicted) return 0;
  const int64_t B = cfg_.block_tokens;
  const int64_t n_full = std::min<int64_t>(im.length, static_cast<int64_t>(im.tokens.size())) / B;
  uint64_t parent = 0;
  int64_t i = 0;
  for (; i < n_full; ++i) {
    std::span<const int32_t> toks(im.tokens.data() + i * B, static_cast<size_t>(B));
    const uint64_t h = prefix_.chain_hash(parent, toks);
    const PrefixEntry* e = prefix_.find(h);
    if (!e || !e->resident() || !std::equal(e->tokens.begin(), e->tokens.end(), toks.begin()))
      break;
    bool full = true;  // the image's block i must be that whole block in every head
    for (const auto& head : im.heads) {
      if (static_cast<int64_t>(head.size()) <= i) {
        full = false;
        break;
      }
      const SeqBlockDesc& d = head[static_cast<size_t>(i)];
      full =
          full && d.format == cfg_.format && d.n_used == B && !d.positions && d.first_pos == i * B;
    }
    if (!full) break;
    parent = h;
  }
  return i;
}

// ---------------------------------------------------------------- swap out / in

std::future<Status> KvManager::swap_out(SeqId seq, const std::string& tier_name) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> fut = promise->get_future();
  std::unique_lock<std::mutex> lock(mu_);
  auto fail = [&](Status st) {
    promise->set_value(std::move(st));
    return std::move(fut);
  };
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return fail(not_found("swap_out: unknown seq {}", seq));
  Seq& s = it->second;
  Status st = check_resident(seq, s, "swap_out");
  if (!st.is_ok()) return fail(st);
  auto t = tiers_.find(tier_name);
  if (t == tiers_.end()) {
    std::string valid;
    for (const auto& [n, _] : tiers_) valid += (valid.empty() ? "" : ", ") + n;
    return fail(not_found("swap_out: no tier '{}' (registered: {})", tier_name,
                          valid.empty() ? "none" : valid));
  }
  for (auto& h : s.heads) {  // unused reservations are not worth moving
    for (BlockId b : h.reserved) pool_.unref(b);
    h.reserved.clear();
  }
  KvTier* tier = t->second.get();
  const std::string key = fmt::format("seq-{}-{}", seq, ++epoch_);
  auto image = std::make_shared<SeqImage>(image_of(s));
  s.state = SeqState::kSwappingOut;
  lock.unlock();
  enqueue([this, seq, tier, key, image, promise] {
    // Serializing reads the pinned blocks without the lock: nobody may mutate them. A tier
    // that gathers (disk) writes the blocks where they lie: no staging copy.
    Status st;
    if (tier->gathers()) {
      SeqPieces pieces = serialize_seq_pieces(*image);
      st = tier->put_pieces(key, pieces.pieces, pieces.total,
                            [&pieces](size_t end) { pieces.prepare(end); });
    } else {
      BytesPtr bytes = tier->allocate(static_cast<size_t>(serialized_size(*image)));
      serialize_seq_into(*image, bytes.get());
      st = tier->put(key, bytes);
    }
    std::unique_lock<std::mutex> lk(mu_);
    Seq& s = seq_mut(seq);
    if (st.is_ok()) {
      s.swapped_length = image->length;
      free_seq_blocks(s);
      s.state = SeqState::kSwappedOut;
      s.tier = tier->name();
      s.tier_key = key;
    } else {
      s.state = SeqState::kResident;  // unchanged: still on device
      st = st.with_context(fmt::format("swap_out seq {} to {}", seq, tier->name()));
    }
    if (s.release_pending) {
      if (s.state == SeqState::kSwappedOut) (void)tier->remove(key);
      free_seq_blocks(s);
      seqs_.erase(seq);
    }
    ++epoch_;
    lk.unlock();
    promise->set_value(st);
  });
  return fut;
}

void KvManager::mark_lost(SeqId id) {
  Seq& s = seq_mut(id);
  free_seq_blocks(s);
  s.layer_len.assign(cfg_.n_layers, 0);
  s.evicted = false;
  s.registered = 0;
  s.chain_hash = 0;
  s.swapped_length = 0;
  s.state = SeqState::kResident;
  ++epoch_;
}

std::future<SwapInResult> KvManager::swap_in(SeqId seq) {
  auto promise = std::make_shared<std::promise<SwapInResult>>();
  std::future<SwapInResult> fut = promise->get_future();
  std::unique_lock<std::mutex> lock(mu_);
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) {
    promise->set_value({not_found("swap_in: unknown seq {}", seq), false});
    return fut;
  }
  Seq& s = it->second;
  if (s.state == SeqState::kResident) {
    promise->set_value({Status::ok(), false});
    return fut;
  }
  if (s.state != SeqState::kSwappedOut) {
    promise->set_value(
        {Status(StatusCode::kUnavailable, fmt::format("swap_in: seq {} is in transfer", seq)),
         false});
    return fut;
  }
  KvTier* tier = tiers_.count(s.tier) ? tiers_[s.tier].get() : nullptr;
  const std::string key = s.tier_key;
  s.state = SeqState::kSwappingIn;
  lock.unlock();
  enqueue([this, seq, tier, key, promise] {
    SwapInResult result;
    Status st = tier ? Status::ok() : Status(StatusCode::kNotFound, "tier is gone");
    Result<BytesPtr> got = tier ? tier->get(key) : Result<BytesPtr>(st);
    Result<SeqImage> im =
        got.is_ok() ? parse_seq((*got)->data.get(), (*got)->size) : Result<SeqImage>(got.status());
    if (im.is_ok())
      st = check_image_shape(*im, "swapped copy", StatusCode::kCorrupt);
    else
      st = im.status();
    if (st.is_ok() && im->model_digest != cfg_.model_digest)
      st = corrupt("swapped copy is for model '{}'", im->model_digest);
    std::unique_lock<std::mutex> lk(mu_);
    if (st.is_ok()) st = install_image(seq, *im, &lk);
    Seq& s = seq_mut(seq);
    if (st.is_ok()) {
      result.status = Status::ok();
    } else if (st.code() == StatusCode::kOutOfMemory) {
      s.state = SeqState::kSwappedOut;  // the tier copy is intact: retry when memory frees
      result.status = st.with_context(fmt::format("swap_in seq {}", seq));
    } else {
      // Lost or corrupt: never serve it. The sequence restarts empty; tokens are kept.
      mark_lost(seq);
      result.status = st.with_context(
          fmt::format("swap_in seq {} from {}: copy lost or corrupt, recompute from its {} tokens",
                      seq, tier ? tier->name() : "?", s.tokens.size()));
      result.recompute_required = true;
    }
    const bool drop_copy = s.state == SeqState::kResident;
    if (s.release_pending) {
      free_seq_blocks(s);
      seqs_.erase(seq);
    }
    lk.unlock();
    // The caller may go on now; dropping the tier copy (an unlink for disk) happens after.
    promise->set_value(std::move(result));
    if (drop_copy && tier) (void)tier->remove(key);
  });
  return fut;
}

// ---------------------------------------------------------------- snapshots

Status KvManager::save_snapshot(SeqId seq, const std::string& path) {
  BytesPtr bytes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Seq* s = find(seq);
    if (!s) return not_found("save_snapshot: unknown seq {}", seq);
    LK_RETURN_IF_ERROR(check_resident(seq, *s, "save_snapshot"));
    bytes = serialize_seq(image_of(*s));
  }
  return write_file_atomic(path, *bytes).with_context("save_snapshot");
}

Status KvManager::load_snapshot(const std::string& path, SeqId seq) {
  LK_ASSIGN_OR_RETURN(BytesPtr bytes, read_file(path));
  Result<SeqImage> im = parse_seq(bytes->data.get(), bytes->size);
  if (!im.is_ok()) return im.status().with_context("snapshot " + path);
  if (im->model_digest != cfg_.model_digest)
    return invalid_argument(
        "snapshot {} was saved for model '{}', but this cache serves model '{}': refusing to "
        "load another model's KV",
        path, im->model_digest, cfg_.model_digest);
  LK_RETURN_IF_ERROR(check_image_shape(*im, "snapshot " + path, StatusCode::kInvalidArgument));
  std::lock_guard<std::mutex> lock(mu_);
  if (find(seq)) return invalid_argument("load_snapshot: seq {} already exists", seq);
  get_or_create(seq);
  Status st = install_image(seq, *im, nullptr);
  if (!st.is_ok()) {
    seqs_.erase(seq);
    return st.with_context("snapshot " + path);
  }
  return Status::ok();
}

// ---------------------------------------------------------------- prefix spill

std::string KvManager::spill_key(uint64_t hash) {
  return fmt::format("prefix-{:016x}", hash);
}

bool KvManager::spill_entry(PrefixEntry& e) {
  if (spill_tier_.empty()) return false;
  KvTier* t = tiers_.at(spill_tier_).get();
  SeqImage im;
  im.n_layers = cfg_.n_layers;
  im.n_kv_heads = cfg_.n_kv_heads;
  im.head_dim = cfg_.head_dim;
  im.block_tokens = cfg_.block_tokens;
  im.format = cfg_.format;
  im.residual_format = cfg_.residual_format;
  im.length = cfg_.block_tokens;
  im.model_digest = cfg_.model_digest;
  im.tokens = e.tokens;
  im.heads.resize(e.blocks.size());
  for (size_t i = 0; i < e.blocks.size(); ++i) {
    const BlockMeta& m = pool_.meta(e.blocks[i]);
    SeqBlockDesc d;
    d.format = m.format;
    d.n_used = m.n_used;
    d.first_pos = m.first_pos;
    d.data = pool_.data(e.blocks[i]);
    d.params = pool_.params(e.blocks[i]);
    im.heads[i].push_back(d);
  }
  BytesPtr bytes = t->allocate(static_cast<size_t>(serialized_size(im)));
  serialize_seq_into(im, bytes.get());
  Status st = t->put(spill_key(e.hash), std::move(bytes));
  if (!st.is_ok()) {
    LK_LOG_WARN("prefix spill to {} failed: {}", spill_tier_, st.to_string());
    return false;
  }
  e.tier = spill_tier_;
  return true;
}

Status KvManager::load_spilled(PrefixEntry& e) {
  auto t = tiers_.find(e.tier);
  if (t == tiers_.end()) return not_found("tier '{}' is gone", e.tier);
  LK_ASSIGN_OR_RETURN(BytesPtr bytes, t->second->get(spill_key(e.hash)));
  LK_ASSIGN_OR_RETURN(SeqImage im, parse_seq(bytes->data.get(), bytes->size));
  LK_RETURN_IF_ERROR(check_image_shape(im, "spilled prefix block", StatusCode::kCorrupt));
  if (im.tokens != e.tokens) return corrupt("spilled prefix block holds other tokens");
  std::vector<BlockId> ids;
  auto drop = [&] {
    for (BlockId b : ids) pool_.unref(b);
  };
  for (const auto& h : im.heads) {
    if (h.size() != 1 || h[0].format != cfg_.format || h[0].n_used != cfg_.block_tokens ||
        h[0].positions) {
      drop();
      return corrupt("spilled prefix block has a bad layout");
    }
    Result<BlockId> r = pool_alloc(cfg_.format);
    if (!r.is_ok()) {
      drop();
      return r.status();
    }
    ids.push_back(*r);
    Status st = copy_verify_block(im, h[0], pool_.data(*r), pool_.params(*r), nullptr);
    if (!st.is_ok()) {
      drop();
      return st;
    }
    pool_.set_positions(*r, h[0].n_used, h[0].first_pos, nullptr);
  }
  (void)t->second->remove(spill_key(e.hash));
  e.blocks = std::move(ids);
  e.tier.clear();
  return Status::ok();
}

}  // namespace lk
