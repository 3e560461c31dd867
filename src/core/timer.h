// Monotonic wall-clock timing, and an injectable clock for code whose behaviour depends
// on time (LRU ages, timeouts) so tests can be deterministic.
#pragma once

#include <chrono>
#include <cstdint>

namespace lk {

inline double now_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

class Timer {
 public:
  Timer() : start_(now_seconds()) {}
  void reset() { start_ = now_seconds(); }
  double seconds() const { return now_seconds() - start_; }

 private:
  double start_;
};

// Clock interface; SteadyClock for production, ManualClock for tests.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual double now() const = 0;  // seconds
};

class SteadyClock final : public Clock {
 public:
  double now() const override { return now_seconds(); }
};

class ManualClock final : public Clock {
 public:
  double now() const override { return t_; }
  void advance(double dt) { t_ += dt; }
  void set(double t) { t_ = t; }

 private:
  double t_ = 0.0;
};

}  // namespace lk
