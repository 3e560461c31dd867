#include "core/log.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace lk {

namespace {
LogLevel level_from_env() {
  const char* e = std::getenv("LONGKV_LOG");
  if (!e) return LogLevel::kWarn;
  if (!std::strcmp(e, "error")) return LogLevel::kError;
  if (!std::strcmp(e, "info")) return LogLevel::kInfo;
  if (!std::strcmp(e, "debug")) return LogLevel::kDebug;
  return LogLevel::kWarn;
}
std::atomic<int>& level_ref() {
  static std::atomic<int> l{static_cast<int>(level_from_env())};
  return l;
}
}  // namespace

LogLevel log_level() { return static_cast<LogLevel>(level_ref().load(std::memory_order_relaxed)); }
void set_log_level(LogLevel level) { level_ref().store(static_cast<int>(level)); }

void log_write(LogLevel level, const std::string& msg) {
  static std::mutex mu;
  static const char* names[] = {"error", "warn", "info", "debug"};
  std::lock_guard<std::mutex> lock(mu);
  std::fprintf(stderr, "longkv %s: %s\n", names[static_cast<int>(level)], msg.c_str());
}

}  // namespace lk
