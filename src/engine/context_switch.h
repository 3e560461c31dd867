// Context switching during generation (`longkv run --swap-every N`): after every N generated
// tokens the sequence is swapped out to a tier (host memory or a disk cache directory) and
// resumed before its next step (engine/kv_resume: swap-in with checksums, recompute when the
// copy is lost or corrupt). With --swap-fault the tier loses or damages every copy, a drill
// showing that recompute keeps the output unchanged. Times and recomputes are summarised.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "engine/forward.h"
#include "kv/kv_manager.h"
#include "kv/tier.h"

namespace lk {

struct ContextSwitchOptions {
  int every = 0;               // generated tokens between switches; 0 = never
  std::string tier = "host";   // host | disk
  std::string dir;             // disk tier directory (default: a temp dir, removed after)
  std::string fault = "none";  // none | lose | corrupt
};

class ContextSwitcher {
 public:
  // Validates the options and registers the tier on kv. kInvalidArgument names the option.
  static Result<std::unique_ptr<ContextSwitcher>> create(const ContextSwitchOptions& options,
                                                         KvManager* kv);
  ~ContextSwitcher();

  // Called after each generated token (n_generated so far): switches seq out and back in when
  // n_generated is a multiple of `every`.
  Status after_token(Forward& forward, SeqId seq, int64_t n_generated);
  // "swap: 3 round trips via disk, out 1.2 ms, in 0.8 ms (mean); ..." (empty when none ran).
  std::string summary() const;

 private:
  ContextSwitcher(const ContextSwitchOptions& options, KvManager* kv)
      : options_(options), kv_(kv) {}

  ContextSwitchOptions options_;
  KvManager* kv_;
  std::string temp_dir_;  // created here, removed in the destructor
  int64_t switches_ = 0, recomputes_ = 0, reused_ = 0, recomputed_ = 0, bytes_ = 0;
  double out_s_ = 0, in_s_ = 0;
};

}  // namespace lk
