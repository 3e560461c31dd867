// FirstError: keeps the first non-ok Status raised by any task of a parallel region, so a
// region can fail as a whole with one clear message (later errors are dropped).
#pragma once

#include <atomic>
#include <mutex>

#include "core/status.h"

namespace lk {

class FirstError {
 public:
  void set(const Status& s) {
    if (s.is_ok() || failed_.exchange(true)) return;
    std::lock_guard<std::mutex> g(mu_);
    status_ = s;
  }
  Status get() {
    std::lock_guard<std::mutex> g(mu_);
    return status_;
  }

 private:
  std::atomic<bool> failed_{false};
  std::mutex mu_;
  Status status_;
};

}  // namespace lk
