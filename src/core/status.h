// Errors as values at module boundaries (DESIGN.md "Key decisions"): a Status carries a code
// and a message that names the problem and, where it helps, the valid choices; Result<T>
// holds either a value or a non-ok Status. No exceptions cross a module or thread boundary.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace lk {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad user input: flags, config fields, request bodies
  kNotFound,         // missing file, unknown preset / method / tensor
  kCorrupt,          // a file or message failed validation (magic, checksum, bounds)
  kUnsupported,      // valid input that longkv does not implement (says so, never falls back)
  kOutOfMemory,      // a byte budget cannot fit the request (blocks, tier capacity)
  kIoError,          // the OS refused: read/write/mmap/network
  kUnavailable,      // a tier or service is down (Redis gone, disk full)
  kInternal,         // a broken invariant caught at a boundary
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid argument: --ctx must be positive (got -3)"
  std::string to_string() const;

  // Prefixes context, e.g. status.with_context("model.gguf") -> "model.gguf: ...".
  Status with_context(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename... Args>
Status make_error(StatusCode code, fmt::format_string<Args...> f, Args&&... args) {
  return Status(code, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status invalid_argument(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kInvalidArgument, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status not_found(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kNotFound, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status corrupt(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kCorrupt, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status unsupported(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kUnsupported, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status io_error(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kIoError, fmt::format(f, std::forward<Args>(args)...));
}

// Either a T or a non-ok Status (a small std::expected for C++20).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }

  // Precondition: is_ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The error; Status::ok() when a value is held.
  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace lk

// Propagate a non-ok Status from an expression returning Status.
#define LK_RETURN_IF_ERROR(expr)            \
  do {                                      \
    ::lk::Status lk_status_ = (expr);       \
    if (!lk_status_.is_ok()) return lk_status_; \
  } while (0)

#define LK_CONCAT_INNER(a, b) a##b
#define LK_CONCAT(a, b) LK_CONCAT_INNER(a, b)
// LK_ASSIGN_OR_RETURN(auto x, make_x()); — assigns the value or returns the Status.
#define LK_ASSIGN_OR_RETURN(lhs, expr) LK_ASSIGN_OR_RETURN_IMPL(LK_CONCAT(lk_res_, __LINE__), lhs, expr)
#define LK_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.is_ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
