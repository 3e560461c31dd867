#include "engine/context_switch.h"

#include <cstdlib>
#include <filesystem>

#include "core/timer.h"
#include "engine/kv_resume.h"

namespace lk {

Result<std::unique_ptr<ContextSwitcher>> ContextSwitcher::create(const ContextSwitchOptions& o,
                                                                 KvManager* kv) {
  if (o.every < 0) return invalid_argument("--swap-every must be >= 0 (got {})", o.every);
  TierFault fault;
  if (!tier_fault_from_name(o.fault, &fault))
    return invalid_argument("unknown --swap-fault '{}' (valid: none, lose, corrupt)", o.fault);
  if (o.tier != "host" && o.tier != "disk")
    return invalid_argument(
        "unknown --swap-tier '{}' (valid: host, disk; Redis is measured by longkv bench-kv "
        "--tier redis)",
        o.tier);
  if (o.every > 0 && kv == nullptr)
    return invalid_argument("--swap-every needs the paged KV cache (--kv-cache paged)");
  std::unique_ptr<ContextSwitcher> cs(new ContextSwitcher(o, kv));
  if (o.every == 0) return cs;
  std::unique_ptr<KvTier> tier;
  if (o.tier == "host") {
    tier = make_host_tier();
  } else {
    std::string dir = o.dir;
    if (dir.empty()) {
      const char* base = std::getenv("TMPDIR");
      std::string templ = std::string(base && *base ? base : "/tmp") + "/longkv-swap-XXXXXX";
      if (!::mkdtemp(templ.data()))
        return io_error("cannot create a temp dir for the disk tier ({})", templ);
      cs->temp_dir_ = dir = templ;
    }
    LK_ASSIGN_OR_RETURN(tier, make_disk_tier(dir, 0, /*fsync=*/true));
  }
  LK_RETURN_IF_ERROR(kv->add_tier(make_fault_tier(std::move(tier), fault)));
  return cs;
}

ContextSwitcher::~ContextSwitcher() {
  if (!temp_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
}

Status ContextSwitcher::after_token(Forward& forward, SeqId seq, int64_t n_generated) {
  if (options_.every <= 0 || n_generated % options_.every != 0) return Status::ok();
  const int64_t bytes = kv_->seq_bytes(seq);
  Timer t;
  LK_RETURN_IF_ERROR(kv_->swap_out(seq, options_.tier).get());
  out_s_ += t.seconds();
  LK_ASSIGN_OR_RETURN(ResumeReport r, resume_sequence(forward, *kv_, seq));
  in_s_ += r.seconds;
  ++switches_;
  bytes_ += bytes;
  if (r.recomputed) {
    ++recomputes_;
    reused_ += r.reused_tokens;
    recomputed_ += r.recomputed_tokens;
  }
  return Status::ok();
}

std::string ContextSwitcher::summary() const {
  if (switches_ == 0) return {};
  const double n = static_cast<double>(switches_);
  std::string s = fmt::format(
      "swap: {} round trips via {} ({:.2f} MiB each on average), swap-out {:.3f} ms, swap-in "
      "{:.3f} ms (mean)",
      switches_, options_.tier, bytes_ / n / 1048576.0, 1e3 * out_s_ / n, 1e3 * in_s_ / n);
  if (options_.fault != "none" || recomputes_ > 0)
    s += fmt::format(
        "; --swap-fault {}: {} recomputes, {} tokens re-run, {} reused from the prefix index",
        options_.fault, recomputes_, recomputed_, reused_);
  return s;
}

}  // namespace lk
