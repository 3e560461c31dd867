// Scheduling hint for the KV transfer thread: a short EEVDF time slice (Linux 6.12+,
// sched_setattr with sched_runtime on a SCHED_OTHER thread, no privilege needed). The
// transfer thread sleeps until a swap is queued; with the default slice a woken thread of a
// niced process waits behind busy threads of the same CPU for several milliseconds before it
// runs (and so does every swap). A short slice gives it an earlier virtual deadline, so it is
// picked (and may preempt) as soon as it wakes; its CPU share, set by its weight (nice), does
// not change.
#pragma once

#include <cstdint>

namespace lk {

// Asks for a slice of slice_ns for the calling thread, keeping its policy and nice value.
// Returns false where the kernel does not take it (older kernels, other systems); the
// thread then keeps the default slice, which only changes wake-up latency, never results.
bool request_thread_slice(int64_t slice_ns);

}  // namespace lk
