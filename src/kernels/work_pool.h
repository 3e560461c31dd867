// A work pool for the forward pass's many short parallel loops (a decode step runs ~5 per
// layer). Unlike an OpenMP region, the caller never waits for a thread that has not started:
// the loop is cut into chunks, the caller and whichever workers are awake claim chunks from
// one atomic counter, and the call returns as soon as every chunk is done. On a machine
// shared with other processes a descheduled worker then costs nothing; on an idle one the
// workers spin briefly between loops and join within microseconds.
#pragma once

#include <cstdint>
#include <functional>

namespace lk {

// Calls fn(begin, end) on disjoint ranges covering [0, n) using lk::num_threads() threads
// (the caller included). Every range holds at least min_chunk items; up to
// 4 ranges per thread balance uneven progress. Not reentrant: a call from inside fn runs
// serially on the calling thread.
void pool_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t min_chunk = 1);

}  // namespace lk
