// Invariant checks: LK_CHECK aborts with file:line and a message. Use it for programming
// errors only (broken invariants); recoverable outcomes return a Status (status.h).
#pragma once

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

namespace lk::detail {
[[noreturn]] inline void check_failed(const char* file, int line, const char* cond,
                                      const std::string& msg) {
  std::fprintf(stderr, "longkv: CHECK failed at %s:%d: %s %s\n", file, line, cond, msg.c_str());
  std::fflush(stderr);
  std::abort();
}
}  // namespace lk::detail

#define LK_CHECK(cond)                                                       \
  do {                                                                       \
    if (!(cond)) ::lk::detail::check_failed(__FILE__, __LINE__, #cond, ""); \
  } while (0)

// LK_CHECK_MSG(n > 0, "n={}", n)
#define LK_CHECK_MSG(cond, ...)                                                         \
  do {                                                                                  \
    if (!(cond))                                                                        \
      ::lk::detail::check_failed(__FILE__, __LINE__, #cond, ::fmt::format(__VA_ARGS__)); \
  } while (0)
