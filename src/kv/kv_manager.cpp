#include "kv/kv_manager.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <set>
#include <unordered_set>

#include "core/check.h"
#include "core/log.h"

namespace lk {

Status KvManagerConfig::validate() const {
  if (n_layers <= 0 || n_kv_heads <= 0)
    return invalid_argument("kv cache: n_layers and n_kv_heads must be positive (got {}, {})",
                            n_layers, n_kv_heads);
  if (head_dim <= 0 || head_dim % 4 != 0)
    return invalid_argument("kv cache: head_dim must be a positive multiple of 4 (got {})",
                            head_dim);
  if (block_tokens <= 0 || block_tokens > 4096)
    return invalid_argument("kv cache: block_tokens must be in [1, 4096] (got {})", block_tokens);
  if (budget_bytes <= 0)
    return invalid_argument("kv cache: budget_bytes must be positive (got {})", budget_bytes);
  if (kv_format_is_kivi(format) &&
      !(residual_format == KvFormat::kF32 || residual_format == KvFormat::kF16 ||
        residual_format == KvFormat::kBF16))
    return invalid_argument("kv cache: residual format of {} must be f32, f16 or bf16 (got {})",
                            kv_format_name(format), kv_format_name(residual_format));
  if (old_format) {
    const KvFormat o = *old_format;
    if (!(format == KvFormat::kF32 || format == KvFormat::kF16 || format == KvFormat::kBF16))
      return invalid_argument(
          "kv cache: mixed precision by age keeps recent blocks in a float format (f32, f16, "
          "bf16), got {}",
          kv_format_name(format));
    if (!(o == KvFormat::kInt8 || o == KvFormat::kInt4 || o == KvFormat::kInt2))
      return invalid_argument(
          "kv cache: the old format of mixed precision must be int8, int4 (kivi4) or int2 "
          "(kivi2), got {}",
          kv_format_name(o));
  }
  return Status::ok();
}

Result<std::unique_ptr<KvManager>> KvManager::create(const KvManagerConfig& config) {
  LK_RETURN_IF_ERROR(config.validate());
  return std::unique_ptr<KvManager>(new KvManager(config));
}

KvManager::KvManager(const KvManagerConfig& config)
    : cfg_(config), pool_(config.block_tokens, config.head_dim, config.budget_bytes) {
  if (!kivi()) cfg_.residual_format = cfg_.format;
  // Blocks are only interchangeable between caches of the same shape, format and model.
  uint64_t salt = 1469598103934665603ull;
  auto fold = [&](uint64_t x) { salt = (salt ^ x) * 1099511628211ull; };
  fold(static_cast<uint64_t>(cfg_.format));
  fold(static_cast<uint64_t>(cfg_.residual_format));
  fold(static_cast<uint64_t>(cfg_.block_tokens));
  fold(static_cast<uint64_t>(cfg_.head_dim));
  fold(static_cast<uint64_t>(cfg_.n_layers));
  fold(static_cast<uint64_t>(cfg_.n_kv_heads));
  if (cfg_.old_format) fold(100 + static_cast<uint64_t>(*cfg_.old_format));
  for (char c : cfg_.model_digest) fold(static_cast<unsigned char>(c));
  prefix_.set_salt(salt);
  worker_ = std::thread([this] { transfer_loop(); });
}

KvManager::~KvManager() {
  wait_transfers();
  {
    std::lock_guard<std::mutex> lock(q_mu_);
    stop_ = true;
  }
  q_cv_.notify_all();
  worker_.join();
  // Tier copies of swapped-out sequences belong to this cache: remove them (best effort).
  for (auto& [id, s] : seqs_) {
    if (s.state == SeqState::kSwappedOut) {
      auto it = tiers_.find(s.tier);
      if (it != tiers_.end()) (void)it->second->remove(s.tier_key);
    }
  }
}

// ---------------------------------------------------------------- sequences

const KvManager::Seq* KvManager::find(SeqId id) const {
  auto it = seqs_.find(id);
  return it == seqs_.end() ? nullptr : &it->second;
}

KvManager::Seq& KvManager::seq_mut(SeqId id) {
  auto it = seqs_.find(id);
  LK_CHECK_MSG(it != seqs_.end(), "unknown seq {}", id);
  return it->second;
}

KvManager::Seq& KvManager::get_or_create(SeqId id) {
  auto it = seqs_.find(id);
  if (it != seqs_.end()) return it->second;
  Seq s;
  s.heads.resize(static_cast<size_t>(cfg_.n_layers) * cfg_.n_kv_heads);
  s.layer_len.assign(cfg_.n_layers, 0);
  return seqs_.emplace(id, std::move(s)).first->second;
}

Status KvManager::check_resident(SeqId id, const Seq& s, const char* op) const {
  if (s.state == SeqState::kResident) return Status::ok();
  return Status(
      StatusCode::kUnavailable,
      fmt::format("{}: seq {} is {} (swap it in first)", op, id,
                  s.state == SeqState::kSwappedOut ? "swapped out" : "being transferred"));
}

bool KvManager::contains(SeqId seq) const {
  std::lock_guard<std::mutex> lock(mu_);
  return find(seq) != nullptr;
}

std::vector<SeqId> KvManager::seqs() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<SeqId> out;
  for (const auto& [id, s] : seqs_) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

SeqState KvManager::state(SeqId seq) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Seq* s = find(seq);
  LK_CHECK_MSG(s != nullptr, "unknown seq {}", seq);
  return s->state;
}

Status KvManager::append_tokens(SeqId seq, std::span<const int32_t> tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  Seq& s = get_or_create(seq);
  LK_RETURN_IF_ERROR(check_resident(seq, s, "append_tokens"));
  s.tokens.insert(s.tokens.end(), tokens.begin(), tokens.end());
  ++epoch_;
  return Status::ok();
}

std::vector<int32_t> KvManager::tokens(SeqId seq) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Seq* s = find(seq);
  return s ? s->tokens : std::vector<int32_t>{};
}

int64_t KvManager::seq_length(SeqId seq) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Seq* s = find(seq);
  if (!s) return 0;
  if (s->state == SeqState::kSwappedOut || s->state == SeqState::kSwappingIn)
    return s->swapped_length;
  return *std::max_element(s->layer_len.begin(), s->layer_len.end());
}

int64_t KvManager::head_tokens(SeqId seq, int layer, int kv_head) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Seq* s = find(seq);
  if (!s) return 0;
  return s->heads[layer * cfg_.n_kv_heads + kv_head].n_tokens;
}

// Blocks are released last to first: the pool's free lists are LIFO, so a sequence that is
// freed and then allocated again in table order (swap-out, swap-in) gets its storage back in
// the same address order. Freeing first to last would reverse the order on every round trip,
// and every other swap-out would then read 8 KiB blocks backwards through memory, which the
// hardware prefetchers do not follow (measured: 150 vs 80 ms per 134 MB swap-out under load).
void KvManager::free_head(HeadTable& h) {
  for (auto it = h.reserved.rbegin(); it != h.reserved.rend(); ++it) pool_.unref(*it);
  for (auto it = h.blocks.rbegin(); it != h.blocks.rend(); ++it) pool_.unref(*it);
  h.blocks.clear();
  h.reserved.clear();
  h.n_tokens = 0;
}

void KvManager::free_seq_blocks(Seq& s) {
  for (auto it = s.heads.rbegin(); it != s.heads.rend(); ++it) free_head(*it);
}

void KvManager::release(SeqId seq) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  Seq& s = it->second;
  if (s.state == SeqState::kSwappingOut || s.state == SeqState::kSwappingIn) {
    s.release_pending = true;  // the transfer finishes, then drops it
    return;
  }
  if (s.state == SeqState::kSwappedOut) {
    auto t = tiers_.find(s.tier);
    if (t != tiers_.end()) (void)t->second->remove(s.tier_key);
  }
  free_seq_blocks(s);
  seqs_.erase(it);
  ++epoch_;
}

Status KvManager::fork(SeqId src, SeqId dst) {
  std::lock_guard<std::mutex> lock(mu_);
  const Seq* s = find(src);
  if (!s) return not_found("fork: unknown seq {}", src);
  LK_RETURN_IF_ERROR(check_resident(src, *s, "fork"));
  if (find(dst)) return invalid_argument("fork: seq {} already exists", dst);
  Seq d;
  d.heads.resize(s->heads.size());
  for (size_t i = 0; i < s->heads.size(); ++i) {
    d.heads[i].blocks = s->heads[i].blocks;
    d.heads[i].n_tokens = s->heads[i].n_tokens;
    for (BlockId b : d.heads[i].blocks) pool_.ref(b);
  }
  d.layer_len = s->layer_len;
  d.tokens = s->tokens;
  d.evicted = s->evicted;
  d.registered = s->registered;
  d.chain_hash = s->chain_hash;
  seqs_.emplace(dst, std::move(d));
  ++epoch_;
  return Status::ok();
}

// ---------------------------------------------------------------- blocks

std::pair<int32_t, int32_t> KvManager::head_need(const HeadTable& h, int64_t n) const {
  if (n <= 0) return {0, 0};
  const int64_t B = cfg_.block_tokens;
  const BlockMeta* last = h.blocks.empty() ? nullptr : &pool_.meta(h.blocks.back());
  if (!kivi()) {
    int64_t free = 0;
    bool cow = false;
    if (last && last->format == cfg_.format) {  // (an old-format block never takes appends)
      free = B - last->n_used;
      cow = last->ref_count > 1 && free > 0;
    }
    const int64_t rest = std::max<int64_t>(0, n - free);
    return {static_cast<int32_t>((rest + B - 1) / B + (cow ? 1 : 0)), 0};
  }
  const bool has_res = last && last->format == cfg_.residual_format;
  const int64_t r_used = has_res ? last->n_used : 0;
  const int32_t main = static_cast<int32_t>((r_used + n) / B);
  const int32_t tail = has_res ? (last->ref_count > 1 ? 1 : 0) : 1;
  return {main, tail};
}

Result<BlockId> KvManager::pool_alloc(KvFormat f) {
  Result<BlockId> r = pool_.alloc(f);
  if (r.is_ok() || r.status().code() != StatusCode::kOutOfMemory) return r;
  if (evict_prefix_locked(pool_.block_bytes(f)) > 0) r = pool_.alloc(f);
  return r;
}

Result<BlockId> KvManager::take_block(HeadTable& h, KvFormat f) {
  for (size_t i = 0; i < h.reserved.size(); ++i) {
    if (pool_.meta(h.reserved[i]).format == f) {
      const BlockId b = h.reserved[i];
      h.reserved.erase(h.reserved.begin() + static_cast<std::ptrdiff_t>(i));
      return b;
    }
  }
  return pool_alloc(f);
}

Status KvManager::reserve_locked(HeadTable& h, int64_t n,
                                 std::vector<std::pair<HeadTable*, BlockId>>* added) {
  auto [main, tail] = head_need(h, n);
  for (BlockId b : h.reserved) {
    if (pool_.meta(b).format == cfg_.format && main > 0)
      --main;
    else if (pool_.meta(b).format == tail_format() && tail > 0)
      --tail;
  }
  for (int i = 0; i < main + tail; ++i) {
    Result<BlockId> r = pool_alloc(i < main ? cfg_.format : tail_format());
    if (!r.is_ok()) return r.status();
    h.reserved.push_back(*r);
    added->push_back({&h, *r});
  }
  return Status::ok();
}

void KvManager::rollback(std::vector<std::pair<HeadTable*, BlockId>>& added) {
  for (auto& [h, b] : added) {
    auto it = std::find(h->reserved.begin(), h->reserved.end(), b);
    LK_CHECK(it != h->reserved.end());
    h->reserved.erase(it);
    pool_.unref(b);
  }
  added.clear();
}

BlockId KvManager::make_exclusive(HeadTable& h, size_t index) {
  const BlockId old = h.blocks[index];
  const BlockMeta& m = pool_.meta(old);
  Result<BlockId> r = take_block(h, m.format);
  LK_CHECK_MSG(r.is_ok(), "copy-on-write block was not reserved: {}", r.status().to_string());
  const BlockId nb = *r;
  const BlockLayout& l = pool_.layout(m.format);
  std::memcpy(pool_.data(nb), pool_.data(old), static_cast<size_t>(l.data_bytes));
  if (l.param_bytes)
    std::memcpy(pool_.params(nb), pool_.params(old), static_cast<size_t>(l.param_bytes));
  pool_.copy_positions(nb, old, m.n_used);
  h.blocks[index] = nb;
  pool_.unref(old);
  return nb;
}

void KvManager::flush_residual(HeadTable& h) {
  const BlockId res = h.blocks.back();
  const int B = cfg_.block_tokens, D = cfg_.head_dim;
  const BlockLayout& rl = pool_.layout(cfg_.residual_format);
  std::vector<float> k(static_cast<size_t>(B) * D), v(static_cast<size_t>(B) * D);  // [B][D]
  for (int t = 0; t < B; ++t)
    codec_read_token(rl, pool_.data(res), pool_.params(res), t, &k[t * D], &v[t * D]);
  Result<BlockId> r = take_block(h, cfg_.format);
  LK_CHECK_MSG(r.is_ok(), "KIVI group block was not reserved: {}", r.status().to_string());
  const BlockId q = *r;
  codec_quantize_group(pool_.layout(cfg_.format), pool_.data(q), pool_.params(q), B, k.data(),
                       v.data());
  pool_.copy_positions(q, res, B);
  h.blocks.insert(h.blocks.end() - 1, q);
  pool_.set_n_used(res, 0);
}

void KvManager::append_head(HeadTable& h, std::span<const int32_t> positions, const float* k,
                            const float* v, int64_t stride) {
  const int B = cfg_.block_tokens;
  const KvFormat tf = tail_format();
  for (size_t i = 0; i < positions.size(); ++i) {
    BlockId last = h.blocks.empty() ? kNoBlock : h.blocks.back();
    const bool usable =
        last != kNoBlock && pool_.meta(last).format == tf && pool_.meta(last).n_used < B;
    if (!usable) {
      Result<BlockId> r = take_block(h, tf);
      LK_CHECK_MSG(r.is_ok(), "append block was not reserved: {}", r.status().to_string());
      last = *r;
      h.blocks.push_back(last);
    } else if (pool_.meta(last).ref_count > 1) {
      last = make_exclusive(h, h.blocks.size() - 1);
    }
    const int slot = pool_.meta(last).n_used;
    codec_write_token(pool_.layout(tf), pool_.data(last), pool_.params(last), slot,
                      k + static_cast<int64_t>(i) * stride, v + static_cast<int64_t>(i) * stride);
    pool_.push_position(last, positions[i]);
    ++h.n_tokens;
    if (kivi() && pool_.meta(last).n_used == B) flush_residual(h);
  }
}

Status KvManager::append(SeqId seq, int layer, std::span<const int32_t> positions, const float* k,
                         const float* v) {
  std::lock_guard<std::mutex> lock(mu_);
  if (layer < 0 || layer >= cfg_.n_layers)
    return invalid_argument("append: layer {} out of range [0, {})", layer, cfg_.n_layers);
  Seq& s = get_or_create(seq);
  LK_RETURN_IF_ERROR(check_resident(seq, s, "append"));
  const int64_t n = static_cast<int64_t>(positions.size());
  if (n == 0) return Status::ok();
  // All heads of the layer or none: reserve first, then write.
  std::vector<std::pair<HeadTable*, BlockId>> added;
  for (int kh = 0; kh < cfg_.n_kv_heads; ++kh) {
    Status st = reserve_locked(head(s, layer, kh), n, &added);
    if (!st.is_ok()) {
      rollback(added);
      return st.with_context(fmt::format("append seq {} layer {}", seq, layer));
    }
  }
  const int64_t stride = static_cast<int64_t>(cfg_.n_kv_heads) * cfg_.head_dim;
  for (int kh = 0; kh < cfg_.n_kv_heads; ++kh) {
    append_head(head(s, layer, kh), positions, k + kh * cfg_.head_dim, v + kh * cfg_.head_dim,
                stride);
  }
  s.layer_len[layer] += n;
  ++epoch_;
  if (layer == cfg_.n_layers - 1) register_prefix(s);
  return Status::ok();
}

KvHeadView KvManager::view(SeqId seq, int layer, int kv_head) const {
  std::lock_guard<std::mutex> lock(mu_);
  KvHeadView out;
  const Seq* s = find(seq);
  if (!s || layer < 0 || layer >= cfg_.n_layers || kv_head < 0 || kv_head >= cfg_.n_kv_heads)
    return out;
  if (s->state != SeqState::kResident && s->state != SeqState::kSwappingOut) return out;
  const HeadTable& h = s->heads[layer * cfg_.n_kv_heads + kv_head];
  out.runs.reserve(h.blocks.size());
  for (BlockId b : h.blocks)
    if (pool_.meta(b).n_used > 0) out.runs.push_back(pool_.run(b));
  return out;
}

// ---------------------------------------------------------------- eviction

void KvManager::merge_partial_blocks(HeadTable& h, const std::unordered_set<BlockId>& touched) {
  if (!kv_format_per_token(cfg_.format)) return;  // KIVI groups cannot be merged losslessly
  const int B = cfg_.block_tokens;
  size_t i = 0;
  while (i + 1 < h.blocks.size()) {
    const BlockId a = h.blocks[i], b = h.blocks[i + 1];
    const BlockMeta& ma = pool_.meta(a);
    const BlockMeta& mb = pool_.meta(b);
    // Mixed precision: only neighbours of one per-token format merge (old int8 with int8).
    if ((touched.count(a) || touched.count(b)) && ma.ref_count == 1 && mb.ref_count == 1 &&
        ma.format == mb.format && kv_format_per_token(ma.format) && ma.n_used + mb.n_used <= B) {
      const BlockLayout& l = pool_.layout(ma.format);
      const int na = ma.n_used, nb = mb.n_used;
      for (int t = 0; t < nb; ++t) {
        codec_copy_token(l, pool_.data(b), pool_.params(b), t, pool_.data(a), pool_.params(a),
                         na + t);
        pool_.push_position(a, pool_.position(b, t));
      }
      pool_.unref(b);
      h.blocks.erase(h.blocks.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      continue;  // try to merge the next block into a too
    }
    ++i;
  }
}

Status KvManager::evict(SeqId seq, int layer, int kv_head, std::span<const int32_t> positions) {
  std::lock_guard<std::mutex> lock(mu_);
  Seq* sp = seqs_.count(seq) ? &seqs_[seq] : nullptr;
  if (!sp) return not_found("evict: unknown seq {}", seq);
  LK_RETURN_IF_ERROR(check_resident(seq, *sp, "evict"));
  if (layer < 0 || layer >= cfg_.n_layers || kv_head < 0 || kv_head >= cfg_.n_kv_heads)
    return invalid_argument("evict: (layer {}, kv_head {}) out of range", layer, kv_head);
  HeadTable& h = head(*sp, layer, kv_head);
  std::vector<int32_t> drop(positions.begin(), positions.end());
  std::sort(drop.begin(), drop.end());
  drop.erase(std::unique(drop.begin(), drop.end()), drop.end());
  if (drop.empty()) return Status::ok();
  // Plan: which blocks hold the positions, and copies for the shared ones.
  std::vector<size_t> hit;
  size_t found = 0;
  for (size_t i = 0; i < h.blocks.size(); ++i) {
    const BlockId b = h.blocks[i];
    size_t c = 0;
    for (int t = 0; t < pool_.meta(b).n_used; ++t)
      c += std::binary_search(drop.begin(), drop.end(), pool_.position(b, t));
    if (c) hit.push_back(i);
    found += c;
  }
  if (found != drop.size())
    return not_found("evict: seq {} (layer {}, kv_head {}) holds only {} of the {} positions", seq,
                     layer, kv_head, found, drop.size());
  std::vector<std::pair<HeadTable*, BlockId>> added;
  for (size_t i : hit) {
    const BlockMeta& m = pool_.meta(h.blocks[i]);
    if (m.ref_count <= 1) continue;
    Result<BlockId> r = pool_alloc(m.format);
    if (!r.is_ok()) {
      rollback(added);
      return r.status().with_context("evict (copy-on-write)");
    }
    h.reserved.push_back(*r);
    added.push_back({&h, *r});
  }
  // Apply: copy-on-write, compact each block in place, drop emptied blocks, merge neighbours.
  std::unordered_set<BlockId> touched;
  for (size_t i : hit) {
    BlockId b = h.blocks[i];
    if (pool_.meta(b).ref_count > 1) b = make_exclusive(h, i);
    const BlockLayout& l = pool_.layout(pool_.meta(b).format);
    int j = 0;
    const int n = pool_.meta(b).n_used;
    for (int t = 0; t < n; ++t) {
      const int32_t pos = pool_.position(b, t);
      if (std::binary_search(drop.begin(), drop.end(), pos)) continue;
      if (j != t) {
        codec_move_token(l, pool_.data(b), pool_.params(b), t, j);
        pool_.set_slot_position(b, j, pos);
      }
      ++j;
    }
    pool_.set_n_used(b, j);
    touched.insert(b);
  }
  std::vector<BlockId> kept;
  for (size_t i = 0; i < h.blocks.size(); ++i) {
    const BlockId b = h.blocks[i];
    const bool is_residual =
        kivi() && i + 1 == h.blocks.size() && pool_.meta(b).format == cfg_.residual_format;
    if (pool_.meta(b).n_used == 0 && !is_residual) {
      pool_.unref(b);
      touched.erase(b);
    } else {
      kept.push_back(b);
    }
  }
  h.blocks = std::move(kept);
  merge_partial_blocks(h, touched);
  h.n_tokens -= static_cast<int64_t>(drop.size());
  sp->evicted = true;
  ++epoch_;
  return Status::ok();
}

// ---------------------------------------------------------------- mixed precision by age

Result<int64_t> KvManager::reencode_older(SeqId seq, int layer, int kv_head, int64_t before) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!cfg_.old_format)
    return invalid_argument("reencode_older: this cache has no old format (config old_format)");
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return not_found("reencode_older: unknown seq {}", seq);
  LK_RETURN_IF_ERROR(check_resident(seq, it->second, "reencode_older"));
  if (layer < 0 || layer >= cfg_.n_layers || kv_head < 0 || kv_head >= cfg_.n_kv_heads)
    return invalid_argument("reencode_older: (layer {}, kv_head {}) out of range", layer, kv_head);
  HeadTable& h = head(it->second, layer, kv_head);
  const KvFormat of = *cfg_.old_format;
  const int D = cfg_.head_dim;
  // Old blocks form a prefix of the table (invariant): resume after them.
  size_t i = static_cast<size_t>(
      std::partition_point(h.blocks.begin(), h.blocks.end(),
                           [&](BlockId b) { return pool_.meta(b).format == of; }) -
      h.blocks.begin());
  std::vector<float> k, v;  // [n_used][D] f32, the block's tokens decoded
  int64_t done = 0;
  for (; i + 1 < h.blocks.size(); ++i) {
    const BlockId old = h.blocks[i];
    const int n = pool_.meta(old).n_used;
    if (n == 0 || pool_.position(old, n - 1) >= before) break;
    Result<BlockId> r = pool_alloc(of);
    if (!r.is_ok()) {
      if (done) ++epoch_;
      return r.status().with_context(
          fmt::format("reencode_older seq {} layer {} kv_head {}", seq, layer, kv_head));
    }
    const BlockId nb = *r;
    const BlockLayout& ol = pool_.layout(pool_.meta(old).format);
    const BlockLayout& nl = pool_.layout(of);
    k.resize(static_cast<size_t>(n) * D);
    v.resize(k.size());
    for (int t = 0; t < n; ++t)
      codec_read_token(ol, pool_.data(old), pool_.params(old), t, &k[t * D], &v[t * D]);
    if (kv_format_is_kivi(of)) {
      codec_quantize_group(nl, pool_.data(nb), pool_.params(nb), n, k.data(), v.data());
    } else {
      for (int t = 0; t < n; ++t)
        codec_write_token(nl, pool_.data(nb), pool_.params(nb), t, &k[t * D], &v[t * D]);
    }
    pool_.copy_positions(nb, old, n);
    h.blocks[i] = nb;
    pool_.unref(old);
    ++done;
  }
  if (done) ++epoch_;
  return done;
}

int64_t KvManager::seq_blocks(SeqId seq, KvFormat format) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Seq* s = find(seq);
  if (!s) return 0;
  int64_t n = 0;
  for (const auto& h : s->heads)
    for (BlockId b : h.blocks) n += pool_.meta(b).format == format;
  return n;
}

// ---------------------------------------------------------------- plan / apply

Result<AppendPlan> KvManager::plan_append(std::span<const AppendRequest> batch) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<SeqId, int64_t> demand;
  for (const auto& r : batch) {
    if (r.n_tokens < 0)
      return invalid_argument("plan_append: seq {} asks for {} tokens", r.seq, r.n_tokens);
    demand[r.seq] += r.n_tokens;
  }
  AppendPlan plan;
  plan.epoch = epoch_;
  const HeadTable empty;
  for (const auto& [seq, n] : demand) {
    const Seq* s = find(seq);
    if (s) LK_RETURN_IF_ERROR(check_resident(seq, *s, "plan_append"));
    for (int i = 0; i < cfg_.n_layers * cfg_.n_kv_heads; ++i) {
      const HeadTable& h = s ? s->heads[i] : empty;
      auto [main, tail] = head_need(h, n);
      for (BlockId b : h.reserved) {
        if (pool_.meta(b).format == cfg_.format && main > 0)
          --main;
        else if (pool_.meta(b).format == tail_format() && tail > 0)
          --tail;
      }
      if (main + tail == 0) continue;
      plan.items.push_back({seq, i, main, tail});
      plan.blocks_needed += main + tail;
      plan.bytes_needed +=
          main * pool_.block_bytes(cfg_.format) + tail * pool_.block_bytes(tail_format());
    }
  }
  return plan;
}

Status KvManager::prepare(std::span<const SeqTokens> batch) {
  std::vector<AppendRequest> req;
  req.reserve(batch.size());
  for (const SeqTokens& b : batch) req.push_back({b.seq, static_cast<int32_t>(b.tokens.size())});
  Status st;
  for (int attempt = 0; attempt < 4; ++attempt) {
    LK_ASSIGN_OR_RETURN(AppendPlan plan, plan_append(req));
    st = apply(plan);
    if (st.is_ok() || st.code() != StatusCode::kInvalidArgument) break;  // retry stale plans
  }
  if (st.code() == StatusCode::kOutOfMemory) {
    const KvUsage u = usage();
    int64_t n = 0;
    for (const SeqTokens& b : batch) n += static_cast<int64_t>(b.tokens.size());
    return make_error(StatusCode::kOutOfMemory,
                      "KV cache budget of {:.2f} MiB is full: {} more tokens do not fit ({:.2f} "
                      "MiB in use, {} format, blocks of {} tokens); raise the budget "
                      "(--kv-budget) or choose a smaller --kv-format ({})",
                      u.budget_bytes / 1048576.0, n, u.used_bytes / 1048576.0,
                      kv_format_name(cfg_.format), cfg_.block_tokens, st.message());
  }
  LK_RETURN_IF_ERROR(st);
  for (const SeqTokens& b : batch) LK_RETURN_IF_ERROR(append_tokens(b.seq, b.tokens));
  return Status::ok();
}

bool KvManager::can_admit(const AppendPlan& plan) const {
  std::lock_guard<std::mutex> lock(mu_);
  return plan.bytes_needed <= pool_.free_bytes() + reclaimable_bytes();
}

Status KvManager::apply(const AppendPlan& plan) {
  std::lock_guard<std::mutex> lock(mu_);
  if (plan.epoch != epoch_)
    return invalid_argument("apply: stale plan (the cache changed since it was made; plan again)");
  if (plan.bytes_needed > pool_.free_bytes() + reclaimable_bytes())
    return make_error(StatusCode::kOutOfMemory,
                      "apply: batch needs {} bytes in {} blocks, {} free + {} reclaimable",
                      plan.bytes_needed, plan.blocks_needed, pool_.free_bytes(),
                      reclaimable_bytes());
  std::vector<std::pair<HeadTable*, BlockId>> added;
  std::vector<SeqId> created;
  for (const auto& it : plan.items) {
    if (!find(it.seq)) created.push_back(it.seq);
    HeadTable& h = get_or_create(it.seq).heads[it.head];
    for (int i = 0; i < it.n_main + it.n_tail; ++i) {
      Result<BlockId> r = pool_alloc(i < it.n_main ? cfg_.format : tail_format());
      if (!r.is_ok()) {
        rollback(added);
        for (SeqId c : created) seqs_.erase(c);
        return r.status().with_context("apply");
      }
      h.reserved.push_back(*r);
      added.push_back({&h, *r});
    }
  }
  ++epoch_;
  return Status::ok();
}

// ---------------------------------------------------------------- prefix reuse

void KvManager::register_prefix(Seq& s) {
  if (!cfg_.prefix_cache || s.evicted) return;
  const int64_t B = cfg_.block_tokens;
  const int64_t len = *std::min_element(s.layer_len.begin(), s.layer_len.end());
  const int64_t n_full = std::min<int64_t>(len, static_cast<int64_t>(s.tokens.size())) / B;
  const double now = clock().now();
  while (s.registered < n_full) {
    const int64_t i = s.registered;
    std::span<const int32_t> toks(s.tokens.data() + i * B, static_cast<size_t>(B));
    std::vector<BlockId> blocks;
    blocks.reserve(s.heads.size());
    for (const HeadTable& h : s.heads) {
      if (static_cast<int64_t>(h.blocks.size()) <= i) return;
      const BlockId b = h.blocks[i];
      const BlockMeta& m = pool_.meta(b);
      if (m.format != cfg_.format || m.n_used != B || m.positions || m.first_pos != i * B) return;
      blocks.push_back(b);
    }
    const uint64_t hash = prefix_.chain_hash(s.chain_hash, toks);
    PrefixEntry* e = prefix_.find(hash);
    if (e) {
      if (!std::equal(e->tokens.begin(), e->tokens.end(), toks.begin())) return;  // collision
      if (!e->resident()) {  // the spilled copy is redundant now: adopt our blocks
        auto t = tiers_.find(e->tier);
        if (t != tiers_.end()) (void)t->second->remove(spill_key(hash));
        e->tier.clear();
        e->blocks = blocks;
        for (BlockId b : blocks) pool_.ref(b);
      }
      prefix_.touch(hash, now);
    } else {
      if (s.chain_hash != 0 && !prefix_.find(s.chain_hash)) return;  // parent was evicted
      PrefixEntry ne;
      ne.hash = hash;
      ne.parent = s.chain_hash;
      ne.tokens.assign(toks.begin(), toks.end());
      ne.blocks = blocks;
      for (BlockId b : blocks) pool_.ref(b);
      prefix_.insert(std::move(ne), now);
    }
    s.chain_hash = hash;
    ++s.registered;
  }
}

int64_t KvManager::match_prefix(std::span<const int32_t> tokens, int64_t max_tokens) const {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t B = cfg_.block_tokens;
  const int64_t limit = std::min<int64_t>(max_tokens, static_cast<int64_t>(tokens.size()));
  uint64_t parent = 0;
  int64_t i = 0;
  for (; (i + 1) * B <= limit; ++i) {
    std::span<const int32_t> toks =
        tokens.subspan(static_cast<size_t>(i * B), static_cast<size_t>(B));
    const uint64_t h = prefix_.chain_hash(parent, toks);
    const PrefixEntry* e = prefix_.find(h);
    if (!e || !std::equal(e->tokens.begin(), e->tokens.end(), toks.begin())) break;
    parent = h;
  }
  return i * B;
}

Result<int64_t> KvManager::adopt_prefix(SeqId seq, std::span<const int32_t> tokens,
                                        int64_t max_tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  if (find(seq)) return invalid_argument("adopt_prefix: seq {} already exists", seq);
  const int64_t B = cfg_.block_tokens;
  const int64_t limit = std::min<int64_t>(max_tokens, static_cast<int64_t>(tokens.size()));
  Seq& s = get_or_create(seq);
  const double now = clock().now();
  uint64_t parent = 0;
  int64_t n_blocks = 0;
  // Each matched entry's blocks are referenced at once, so loading a later spilled entry
  // (which may evict LRU entries to make room) can never take them away.
  for (int64_t i = 0; (i + 1) * B <= limit; ++i) {
    std::span<const int32_t> toks =
        tokens.subspan(static_cast<size_t>(i * B), static_cast<size_t>(B));
    const uint64_t h = prefix_.chain_hash(parent, toks);
    PrefixEntry* e = prefix_.find(h);
    if (!e || !std::equal(e->tokens.begin(), e->tokens.end(), toks.begin())) break;
    if (!e->resident()) {
      Status st = load_spilled(*e);
      if (!st.is_ok()) {  // lost or corrupt copy: the caller recomputes from here
        LK_LOG_WARN("prefix block {} unavailable ({}); recomputing from token {}", i,
                    st.to_string(), i * B);
        if (st.code() != StatusCode::kOutOfMemory && e->children.empty()) (void)prefix_.erase(h);
        break;
      }
    }
    for (size_t j = 0; j < s.heads.size(); ++j) {
      pool_.ref(e->blocks[j]);
      s.heads[j].blocks.push_back(e->blocks[j]);
      s.heads[j].n_tokens += B;
    }
    prefix_.touch(h, now);
    parent = h;
    ++n_blocks;
  }
  const int64_t n = n_blocks * B;
  s.layer_len.assign(cfg_.n_layers, n);
  s.tokens.assign(tokens.begin(), tokens.begin() + n);
  s.registered = n_blocks;
  s.chain_hash = parent;
  ++epoch_;
  return n;
}

bool KvManager::prefix_evictable(const PrefixEntry& e) const {
  if (!e.resident()) return false;
  for (uint64_t c : e.children)
    if (prefix_.find(c)->resident()) return false;
  for (BlockId b : e.blocks)
    if (pool_.meta(b).ref_count != 1) return false;
  return true;
}

int64_t KvManager::reclaimable_bytes() const {
  // An entry can go once nothing but the index references its blocks and every resident
  // descendant can go first (children before parents). Memoised over the entry tree.
  std::unordered_map<uint64_t, bool> memo;
  std::function<bool(const PrefixEntry&)> can_go = [&](const PrefixEntry& e) -> bool {
    auto it = memo.find(e.hash);
    if (it != memo.end()) return it->second;
    bool ok = true;
    for (BlockId b : e.blocks) ok = ok && pool_.meta(b).ref_count == 1;
    for (uint64_t c : e.children) {
      const PrefixEntry* ce = prefix_.find(c);
      if (ce->resident()) ok = can_go(*ce) && ok;
    }
    memo[e.hash] = ok;
    return ok;
  };
  int64_t total = 0;
  for (const auto& [h, e] : prefix_.entries()) {
    if (!e.resident() || !can_go(e)) continue;
    for (BlockId b : e.blocks) total += pool_.block_bytes(pool_.meta(b).format);
  }
  return total;
}

int64_t KvManager::evict_prefix_locked(int64_t bytes) {
  int64_t freed = 0;
  bool progress = true;
  while (pool_.free_bytes() < bytes && progress) {
    progress = false;
    for (uint64_t h : prefix_.lru_order()) {
      if (pool_.free_bytes() >= bytes) break;
      PrefixEntry* e = prefix_.find(h);
      if (!e || !prefix_evictable(*e)) continue;
      int64_t entry_bytes = 0;
      for (BlockId b : e->blocks) entry_bytes += pool_.block_bytes(pool_.meta(b).format);
      if (spill_entry(*e)) {  // keeps the entry, its KV now in the spill tier
        for (BlockId b : e->blocks) pool_.unref(b);
        e->blocks.clear();
      } else if (e->children.empty()) {
        for (BlockId b : prefix_.erase(h)) pool_.unref(b);
      } else {
        continue;
      }
      freed += entry_bytes;
      progress = true;
    }
  }
  if (freed) ++epoch_;
  return freed;
}

int64_t KvManager::evict_prefix_cache(int64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  return evict_prefix_locked(bytes);
}

int64_t KvManager::prefix_entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(prefix_.size());
}

// ---------------------------------------------------------------- accounting

KvUsage KvManager::usage() const {
  std::lock_guard<std::mutex> lock(mu_);
  KvUsage u;
  u.budget_bytes = pool_.budget_bytes();
  u.used_bytes = pool_.used_bytes();
  u.held_bytes = pool_.held_bytes();
  u.meta_bytes = pool_.meta_bytes();
  u.blocks_in_use = pool_.blocks_in_use();
  u.prefix_only_bytes = reclaimable_bytes();
  u.tier_bytes["device"] = pool_.used_bytes();
  for (const auto& [name, t] : tiers_) u.tier_bytes[name] = t->bytes_used();
  const size_t n_heads = static_cast<size_t>(cfg_.n_layers) * cfg_.n_kv_heads;
  u.head_bytes.assign(n_heads, 0);
  std::unordered_set<BlockId> seen;
  auto count = [&](size_t i, BlockId b) {
    if (seen.insert(b).second) u.head_bytes[i] += pool_.block_bytes(pool_.meta(b).format);
  };
  for (const auto& [id, s] : seqs_)
    for (size_t i = 0; i < s.heads.size(); ++i) {
      for (BlockId b : s.heads[i].blocks) count(i, b);
      for (BlockId b : s.heads[i].reserved) count(i, b);
    }
  for (const auto& [h, e] : prefix_.entries())
    for (size_t i = 0; i < e.blocks.size(); ++i) count(i, e.blocks[i]);
  return u;
}

int64_t KvManager::seq_bytes(SeqId seq) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Seq* s = find(seq);
  if (!s) return 0;
  int64_t total = 0;
  for (const auto& h : s->heads) {
    for (BlockId b : h.blocks) total += pool_.block_bytes(pool_.meta(b).format);
    for (BlockId b : h.reserved) total += pool_.block_bytes(pool_.meta(b).format);
  }
  return total;
}

void KvManager::check_invariants() const {
  std::lock_guard<std::mutex> lock(mu_);
  pool_.check_invariants();
  prefix_.check_invariants();
  std::unordered_map<BlockId, int32_t> refs;
  const int B = cfg_.block_tokens;
  for (const auto& [id, s] : seqs_) {
    LK_CHECK(s.heads.size() == static_cast<size_t>(cfg_.n_layers) * cfg_.n_kv_heads);
    const bool resident = s.state == SeqState::kResident || s.state == SeqState::kSwappingOut;
    for (size_t i = 0; i < s.heads.size(); ++i) {
      const HeadTable& h = s.heads[i];
      if (!resident) {
        LK_CHECK_MSG(h.blocks.empty() && h.reserved.empty(), "seq {} off-device holds blocks", id);
        continue;
      }
      int64_t n = 0;
      int64_t last_pos = INT64_MIN;
      bool main_seen = false;  // mixed precision: old-format blocks precede the main ones
      for (size_t j = 0; j < h.blocks.size(); ++j) {
        const BlockId b = h.blocks[j];
        ++refs[b];
        const BlockMeta& m = pool_.meta(b);
        const bool last = j + 1 == h.blocks.size();
        if (kivi()) {
          LK_CHECK_MSG(m.format == cfg_.format || (last && m.format == cfg_.residual_format),
                       "seq {} head {} block {} has format {}", id, i, j, kv_format_name(m.format));
        } else if (cfg_.old_format && m.format == *cfg_.old_format) {
          LK_CHECK_MSG(!main_seen, "seq {} head {} block {}: old-format block after a recent one",
                       id, i, j);
        } else {
          LK_CHECK_MSG(m.format == cfg_.format, "seq {} block format", id);
          main_seen = true;
        }
        const bool residual = kivi() && m.format == cfg_.residual_format;
        LK_CHECK_MSG(m.n_used > 0 || residual, "seq {} head {} keeps an empty block {}", id, i, j);
        LK_CHECK_MSG(m.n_used < B || !residual, "seq {} head {}: full residual not flushed", id, i);
        for (int t = 0; t < m.n_used; ++t) {
          const int64_t p = pool_.position(b, t);
          LK_CHECK_MSG(p > last_pos, "seq {} head {} positions not increasing ({} after {})", id, i,
                       p, last_pos);
          last_pos = p;
        }
        n += m.n_used;
      }
      LK_CHECK_MSG(n == h.n_tokens, "seq {} head {} counts {} tokens, blocks hold {}", id, i,
                   h.n_tokens, n);
      for (BlockId b : h.reserved) ++refs[b];
    }
  }
  for (const auto& [h, e] : prefix_.entries()) {
    if (!e.resident()) continue;
    LK_CHECK(e.blocks.size() == static_cast<size_t>(cfg_.n_layers) * cfg_.n_kv_heads);
    for (BlockId b : e.blocks) {
      ++refs[b];
      const BlockMeta& m = pool_.meta(b);
      LK_CHECK_MSG(m.n_used == B && m.format == cfg_.format, "prefix block {} not a full block", b);
    }
  }
  for (BlockId b : inflight_blocks_) ++refs[b];
  for (const auto& [b, n] : refs)
    LK_CHECK_MSG(pool_.meta(b).ref_count == n, "block {} ref_count {} but {} references", b,
                 pool_.meta(b).ref_count, n);
  LK_CHECK_MSG(static_cast<int64_t>(refs.size()) == pool_.blocks_in_use(),
               "{} blocks in use, {} referenced (leak)", pool_.blocks_in_use(), refs.size());
}

}  // namespace lk
