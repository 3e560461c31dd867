// Human-readable numbers for reports and plots, and the parser for token counts and sizes
// given on the command line ("4K" = 4000 as FRAMEWORK.md counts, "4Ki" = 4096).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace lk {

std::string format_bytes(double bytes);    // "0.98 GB" (decimal: 1 GB = 1e9 bytes)
std::string format_gib(double bytes);      // "0.92 GiB"
std::string format_seconds(double s);      // "0.90 s", "14.8 s", "3.2 min", "2.1 h"
std::string format_tokens(double tokens);  // "4K", "50K", "1M", "131072"
std::string format_si(double v);           // "4.63e15" style for FLOP, "312 T" for rates
std::string format_count(double v);        // "12.2", "1,234"

// "50000", "50K"/"50k" (×1000), "128Ki" (×1024), "1M" (×1e6), "1Mi", "1e6". The result
// must be a whole number in [0, 1e12]; the error names `field`.
Result<int64_t> parse_tokens(const std::string& text, const std::string& field);
// A positive number with an optional SI suffix: "2e12", "2T", "2039G", "80Gi" (×2^30).
Result<double> parse_quantity(const std::string& text, const std::string& field);

}  // namespace lk
