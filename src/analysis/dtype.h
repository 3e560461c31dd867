// Storage widths of the weight and KV dtypes the analyzer prices (bits per element,
// block scales included for the GGUF block formats).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace lk {

// Bits per element of a dtype name ("bf16" → 16, "q4_0" → 4.5); kInvalidArgument naming
// `field` and the valid names otherwise.
Result<double> dtype_bits(const std::string& name, const std::string& field);
std::vector<std::string> dtype_names();

}  // namespace lk
