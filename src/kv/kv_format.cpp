#include <algorithm>
#include <cctype>
#include <string>

#include "kv/kv_view.h"

namespace lk {

const char* kv_format_name(KvFormat f) {
  switch (f) {
    case KvFormat::kF32: return "f32";
    case KvFormat::kF16: return "f16";
    case KvFormat::kBF16: return "bf16";
    case KvFormat::kInt8: return "int8";
    case KvFormat::kInt4: return "int4";
    case KvFormat::kInt2: return "int2";
  }
  return "?";
}

bool kv_format_from_name(const std::string& s, KvFormat* out) {
  std::string l = s;
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  if (l == "kivi4" || l == "kivi:4") l = "int4";
  if (l == "kivi2" || l == "kivi:2") l = "int2";
  for (KvFormat f : {KvFormat::kF32, KvFormat::kF16, KvFormat::kBF16, KvFormat::kInt8,
                     KvFormat::kInt4, KvFormat::kInt2}) {
    if (l == kv_format_name(f)) {
      *out = f;
      return true;
    }
  }
  return false;
}

const char* kv_format_choices() {
  return "f32, f16, bf16, int8, int4 (kivi4), int2 (kivi2)";
}

int kv_format_bits(KvFormat f) {
  switch (f) {
    case KvFormat::kF32: return 32;
    case KvFormat::kF16:
    case KvFormat::kBF16: return 16;
    case KvFormat::kInt8: return 8;
    case KvFormat::kInt4: return 4;
    case KvFormat::kInt2: return 2;
  }
  return 0;
}

}  // namespace lk
