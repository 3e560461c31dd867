#include "core/byte_size.h"

#include <array>
#include <utility>

namespace lk {

std::optional<ByteUnit> split_byte_unit(std::string_view text, bool short_units) {
  constexpr double kKi = 1024.0, kMi = kKi * 1024, kGi = kMi * 1024;
  // Longest suffixes first so "MiB" is not read as "B".
  static constexpr std::array<std::pair<std::string_view, double>, 11> kUnits = {{{"GiB", kGi},
                                                                                  {"MiB", kMi},
                                                                                  {"KiB", kKi},
                                                                                  {"GB", 1e9},
                                                                                  {"MB", 1e6},
                                                                                  {"KB", 1e3},
                                                                                  {"kB", 1e3},
                                                                                  {"B", 1},
                                                                                  {"G", kGi},
                                                                                  {"M", kMi},
                                                                                  {"K", kKi}}};
  constexpr size_t kLongUnits = 8;  // the entries before G/M/K
  for (size_t i = 0; i < (short_units ? kUnits.size() : kLongUnits); ++i) {
    const auto& [unit, mult] = kUnits[i];
    if (!text.ends_with(unit)) continue;
    if (text.size() == unit.size()) return std::nullopt;  // "MiB" alone is not "Mi" bytes
    return ByteUnit{text.substr(0, text.size() - unit.size()), mult};
  }
  return std::nullopt;
}

}  // namespace lk
