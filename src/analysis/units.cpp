#include "analysis/units.h"

#include <cmath>
#include <cstdlib>

namespace lk {

std::string format_bytes(double b) {
  const double a = std::fabs(b);
  if (a >= 1e12) return fmt::format("{:.3g} TB", b / 1e12);
  if (a >= 1e8) return fmt::format("{:.3g} GB", b / 1e9);
  if (a >= 1e6) return fmt::format("{:.3g} MB", b / 1e6);
  if (a >= 1e3) return fmt::format("{:.3g} KB", b / 1e3);
  return fmt::format("{:.0f} B", b);
}

std::string format_gib(double b) {
  return fmt::format("{:.3g} GiB", b / (1024.0 * 1024 * 1024));
}

std::string format_seconds(double s) {
  if (!std::isfinite(s)) return "∞";
  if (s == 0) return "0 s";
  if (s < 1e-3) return fmt::format("{:.3g} µs", s * 1e6);
  if (s < 0.1) return fmt::format("{:.3g} ms", s * 1e3);
  if (s < 100) return fmt::format("{:.3g} s", s);
  if (s < 6000) return fmt::format("{:.3g} min", s / 60);
  return fmt::format("{:.3g} h", s / 3600);
}

std::string format_tokens(double t) {
  if (t >= 1e6 && std::fmod(t, 1e5) == 0) return fmt::format("{:g}M", t / 1e6);
  if (t >= 1e3 && std::fmod(t, 1e3) == 0) return fmt::format("{:g}K", t / 1e3);
  if (t >= 1024 && std::fmod(t, 1024) == 0) return fmt::format("{:g}Ki", t / 1024);
  return fmt::format("{:.0f}", t);
}

std::string format_si(double v) {
  if (!std::isfinite(v)) return "∞";
  if (v == 0) return "0";
  if (std::fabs(v) < 1e4 && std::fabs(v) >= 1e-2) return fmt::format("{:.3g}", v);
  const int e = static_cast<int>(std::floor(std::log10(std::fabs(v))));
  return fmt::format("{:.3g}e{}", v / std::pow(10.0, e), e);  // "4.63e15"
}

std::string format_count(double v) {
  if (!std::isfinite(v)) return "∞";
  if (std::fabs(v) < 100) return fmt::format("{:.3g}", v);
  return fmt::format("{:.0f}", v);
}

namespace {
// Splits "50Ki" into 50 and 1024; returns false on trailing garbage.
bool parse_with_suffix(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str()) return false;
  std::string suf(end);
  double mul = 1;
  if (suf.empty())
    mul = 1;
  else if (suf == "k" || suf == "K")
    mul = 1e3;
  else if (suf == "Ki" || suf == "ki")
    mul = 1024;
  else if (suf == "M" || suf == "m")
    mul = 1e6;
  else if (suf == "Mi")
    mul = 1024.0 * 1024;
  else if (suf == "G" || suf == "g")
    mul = 1e9;
  else if (suf == "Gi")
    mul = 1024.0 * 1024 * 1024;
  else if (suf == "T" || suf == "t")
    mul = 1e12;
  else if (suf == "Ti")
    mul = 1024.0 * 1024 * 1024 * 1024;
  else if (suf == "P")
    mul = 1e15;
  else
    return false;
  out = v * mul;
  return std::isfinite(out);
}
}  // namespace

Result<int64_t> parse_tokens(const std::string& text, const std::string& field) {
  double v = 0;
  if (!parse_with_suffix(text, v))
    return invalid_argument("{}: '{}' is not a token count (examples: 4000, 4K, 4Ki, 1M)", field,
                            text);
  if (v < 0 || v > 1e12 || std::floor(v) != v)
    return invalid_argument("{}: {} must be a whole number of tokens in [0, 1e12]", field, text);
  return static_cast<int64_t>(v);
}

Result<double> parse_quantity(const std::string& text, const std::string& field) {
  double v = 0;
  if (!parse_with_suffix(text, v))
    return invalid_argument("{}: '{}' is not a number (examples: 2e12, 2T, 2039G, 80Gi)", field,
                            text);
  if (!(v > 0)) return invalid_argument("{}: must be positive (got {})", field, text);
  return v;
}

}  // namespace lk
