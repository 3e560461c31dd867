#include "eval/token_counter.h"

namespace lk::eval {

namespace {
bool is_letter(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}
}  // namespace

int64_t ApproxTokenCounter::count(std::string_view text) const {
  int64_t n = 0;
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (is_letter(c)) {
      size_t j = i;
      while (j < text.size() && is_letter(static_cast<unsigned char>(text[j]))) ++j;
      n += 1 + static_cast<int64_t>(j - i - 1) / 6;
      i = j;
    } else {
      if (c != ' ' && c != '\n' && c != '\t' && c != '\r') ++n;
      ++i;
    }
  }
  return n;
}

}  // namespace lk::eval
