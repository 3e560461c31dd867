// Minimal leveled logging to stderr. Level from LONGKV_LOG (error|warn|info|debug), default warn.
#pragma once

#include <cstdio>
#include <string>

#include <fmt/format.h>

namespace lk {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

LogLevel log_level();
void set_log_level(LogLevel level);
void log_write(LogLevel level, const std::string& msg);

template <typename... Args>
void log(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
  if (level <= log_level()) log_write(level, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace lk

#define LK_LOG_ERROR(...) ::lk::log(::lk::LogLevel::kError, __VA_ARGS__)
#define LK_LOG_WARN(...) ::lk::log(::lk::LogLevel::kWarn, __VA_ARGS__)
#define LK_LOG_INFO(...) ::lk::log(::lk::LogLevel::kInfo, __VA_ARGS__)
#define LK_LOG_DEBUG(...) ::lk::log(::lk::LogLevel::kDebug, __VA_ARGS__)
