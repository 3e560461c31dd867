// The Q/K row order difference between Hugging Face and GGUF llama-arch checkpoints.
// HF llama applies RoPE "rotate-half" style: within a head, dimension i pairs with i + D/2.
// llama.cpp runs llama-arch models with adjacent pairs (2i, 2i+1), so its converter permutes
// the rows of q_proj / k_proj per head: GGUF row 2i + j of a head = HF row j * D/2 + i
// (j in {0, 1}). Both layouts compute the same attention. qwen2/qwen3 GGUFs are not
// permuted (llama.cpp runs them rotate-half, NeoX style).
#pragma once

#include <cstdint>
#include <vector>

namespace lk {

// The HF row that GGUF (llama-arch) row `row` comes from; rows are grouped in heads of
// `head_dim` (even).
int64_t qk_gguf_row_to_hf(int64_t row, int head_dim);

// Reorders the rows of a row-major matrix `w` [n_rows][row_len] from HF order to GGUF
// llama-arch order (n_rows a multiple of head_dim). Rows are opaque bytes.
std::vector<uint8_t> qk_permute_hf_to_gguf(const std::vector<uint8_t>& w, int64_t n_rows,
                                           int64_t row_bytes, int head_dim);

}  // namespace lk
