#include "kv/thread_slice.h"

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#endif

namespace lk {

#if defined(__linux__) && defined(SYS_sched_setattr) && defined(SYS_sched_getattr)

namespace {

// The kernel's struct sched_attr (include/uapi/linux/sched/types.h); glibc < 2.41 has no
// wrapper for it.
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;  // SCHED_OTHER: the requested slice (0.1 to 100 ms), 6.12+
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};

}  // namespace

bool request_thread_slice(int64_t slice_ns) {
  SchedAttr a;
  std::memset(&a, 0, sizeof a);
  a.size = sizeof a;
  if (::syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) != 0) return false;
  if (a.sched_policy != 0) return false;  // only SCHED_OTHER threads have an EEVDF slice
  a.size = sizeof a;
  a.sched_flags = 0;  // keeps nice as read
  a.sched_runtime = static_cast<uint64_t>(slice_ns);
  if (::syscall(SYS_sched_setattr, 0, &a, 0) != 0) return false;
  // Older kernels accept and ignore sched_runtime for SCHED_OTHER: read it back.
  std::memset(&a, 0, sizeof a);
  a.size = sizeof a;
  if (::syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) != 0) return false;
  return a.sched_runtime == static_cast<uint64_t>(slice_ns);
}

#else

bool request_thread_slice(int64_t) {
  return false;
}

#endif

}  // namespace lk
