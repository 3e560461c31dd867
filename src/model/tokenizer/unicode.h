// Small UTF-8 helpers for the tokenizers, and GPT-2's byte <-> printable code point map.
// Invalid UTF-8 never aborts: a stray byte is a one-byte "character".
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace lk::tok {

// Length of the UTF-8 character starting at s[i]: the lead byte's length when that many
// continuation bytes follow, otherwise 1 (an invalid byte stands alone).
size_t utf8_char_len(std::string_view s, size_t i);

// Appends the UTF-8 encoding of code point cp.
void utf8_append(std::string& out, uint32_t cp);

// Decodes the character at s[i] (valid or not; an invalid byte decodes to itself) and
// advances i.
uint32_t utf8_next(std::string_view s, size_t& i);

// How many bytes at the end of s form an incomplete (but so far valid) UTF-8 character.
size_t utf8_incomplete_tail(std::string_view s);

// GPT-2's byte-level alphabet: each byte maps to a printable code point (printable ASCII
// and Latin-1 map to themselves, the rest to U+0100 + n).
struct ByteUnicode {
  std::array<std::string, 256> byte_to_utf8;  // byte -> its code point in UTF-8
  std::array<int16_t, 512> cp_to_byte;        // code point (< 512) -> byte, -1 if none
};
const ByteUnicode& byte_unicode();

// "Ġthe" -> " the"; code points outside the alphabet are copied as UTF-8.
std::string byte_unicode_decode(std::string_view s);

}  // namespace lk::tok
