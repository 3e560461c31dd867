#include "model/tokenizer/normalize.h"

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <vector>

namespace lk::tok {

std::string nfc_normalize(std::string_view text) {
  bool ascii = true;
  for (char c : text) ascii &= static_cast<unsigned char>(c) < 0x80;
  if (ascii || text.size() > INT32_MAX / 4) return std::string(text);  // ASCII is already NFC

  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* nfc = unorm2_getNFCInstance(&err);
  if (U_FAILURE(err)) return std::string(text);
  // UTF-8 -> UTF-16 (fails on invalid UTF-8: then leave the text alone).
  int32_t n16 = 0;
  std::vector<UChar> u16(text.size() + 1);
  u_strFromUTF8(u16.data(), static_cast<int32_t>(u16.size()), &n16, text.data(),
                static_cast<int32_t>(text.size()), &err);
  if (U_FAILURE(err)) return std::string(text);
  if (unorm2_isNormalized(nfc, u16.data(), n16, &err) && U_SUCCESS(err)) return std::string(text);
  err = U_ZERO_ERROR;
  // NFC can grow a string (rarely, by a few code units per character): size by preflight.
  int32_t need = unorm2_normalize(nfc, u16.data(), n16, nullptr, 0, &err);
  if (err != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(err)) return std::string(text);
  err = U_ZERO_ERROR;
  std::vector<UChar> norm(need + 1);
  need =
      unorm2_normalize(nfc, u16.data(), n16, norm.data(), static_cast<int32_t>(norm.size()), &err);
  if (U_FAILURE(err)) return std::string(text);
  int32_t n8 = 0;
  u_strToUTF8(nullptr, 0, &n8, norm.data(), need, &err);
  if (err != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(err)) return std::string(text);
  err = U_ZERO_ERROR;
  std::string out(n8, '\0');
  u_strToUTF8(out.data(), n8, nullptr, norm.data(), need, &err);
  if (U_FAILURE(err) && err != U_STRING_NOT_TERMINATED_WARNING) return std::string(text);
  return out;
}

}  // namespace lk::tok
