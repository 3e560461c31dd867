// Byte-size suffixes shared by every flag that takes a size (--kv-budget, compression budgets).
#pragma once

#include <optional>
#include <string_view>

namespace lk {

struct ByteUnit {
  std::string_view number;  // the text before the unit, e.g. "64" of "64MiB"
  double multiplier = 1;    // bytes per unit
};

// Splits a trailing unit off `text`: GiB MiB KiB (binary), GB MB KB kB (decimal), B, and with
// `short_units` also G M K (binary, as llama.cpp and vLLM read them). nullopt: no unit suffix,
// or nothing before it.
std::optional<ByteUnit> split_byte_unit(std::string_view text, bool short_units);

}  // namespace lk
