#include "model/qk_permute.h"

#include <cstring>

#include "core/check.h"

namespace lk {

int64_t qk_gguf_row_to_hf(int64_t row, int head_dim) {
  const int64_t head = row / head_dim, r = row % head_dim;
  const int64_t i = r / 2, j = r % 2;
  return head * head_dim + j * (head_dim / 2) + i;
}

std::vector<uint8_t> qk_permute_hf_to_gguf(const std::vector<uint8_t>& w, int64_t n_rows,
                                           int64_t row_bytes, int head_dim) {
  LK_CHECK(head_dim % 2 == 0 && n_rows % head_dim == 0);
  LK_CHECK(static_cast<int64_t>(w.size()) == n_rows * row_bytes);
  std::vector<uint8_t> out(w.size());
  for (int64_t r = 0; r < n_rows; ++r)
    std::memcpy(out.data() + r * row_bytes, w.data() + qk_gguf_row_to_hf(r, head_dim) * row_bytes,
                row_bytes);
  return out;
}

}  // namespace lk
