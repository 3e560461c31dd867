#include "model/tokenizer/unicode.h"

namespace lk::tok {

namespace {
size_t lead_len(uint8_t c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) return 2;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return 4;
  return 1;  // continuation or invalid lead byte
}
bool is_cont(uint8_t c) {
  return (c & 0xC0) == 0x80;
}
}  // namespace

size_t utf8_char_len(std::string_view s, size_t i) {
  const size_t n = lead_len(static_cast<uint8_t>(s[i]));
  if (n == 1 || i + n > s.size()) return 1;
  for (size_t k = 1; k < n; ++k)
    if (!is_cont(static_cast<uint8_t>(s[i + k]))) return 1;
  return n;
}

void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

uint32_t utf8_next(std::string_view s, size_t& i) {
  const size_t n = utf8_char_len(s, i);
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  uint32_t cp;
  switch (n) {
    case 2:
      cp = ((b(0) & 0x1Fu) << 6) | (b(1) & 0x3Fu);
      break;
    case 3:
      cp = ((b(0) & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
      break;
    case 4:
      cp = ((b(0) & 0x07u) << 18) | ((b(1) & 0x3Fu) << 12) | ((b(2) & 0x3Fu) << 6) | (b(3) & 0x3Fu);
      break;
    default:
      cp = b(0);
      break;
  }
  i += n;
  return cp;
}

size_t utf8_incomplete_tail(std::string_view s) {
  // Look back at most 3 bytes for a lead byte whose character is cut short.
  for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    const auto c = static_cast<uint8_t>(s[s.size() - back]);
    if (is_cont(c)) continue;
    const size_t need = lead_len(c);
    return (need > back) ? back : 0;
  }
  return 0;
}

const ByteUnicode& byte_unicode() {
  static const ByteUnicode table = [] {
    ByteUnicode t;
    t.cp_to_byte.fill(-1);
    uint32_t extra = 0;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const uint32_t cp = printable ? b : 256 + extra++;
      utf8_append(t.byte_to_utf8[b], cp);
      t.cp_to_byte[cp] = static_cast<int16_t>(b);
    }
    return t;
  }();
  return table;
}

std::string byte_unicode_decode(std::string_view s) {
  const auto& bu = byte_unicode();
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    const uint32_t cp = utf8_next(s, i);
    if (cp < 512 && bu.cp_to_byte[cp] >= 0 && i - start > 0 && (cp >= 0x80 || i - start == 1))
      out += static_cast<char>(bu.cp_to_byte[cp]);
    else
      out.append(s.substr(start, i - start));
  }
  return out;
}

}  // namespace lk::tok
