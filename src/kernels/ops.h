// Element-wise and row-wise kernels of the forward pass. Each works on one row; callers
// loop (and parallelize) over rows. Numerics follow transformers / llama2.c (f32).
#pragma once

#include <cstdint>

namespace lk {

// out[i] = weight[i] * x[i] / sqrt(mean(x^2) + eps); out may alias x.
void rmsnorm(float* out, const float* x, const float* weight, int64_t n, float eps);

// In-place RoPE of n_heads heads of width D laid out contiguously in vec [n_heads][D].
// cos_sin: [D/2][2] = (cos, sin) of this token's angle for each pair.
// adjacent_pairs: rotate (x[2i], x[2i+1]); otherwise (x[i], x[i + D/2]) (rotate-half).
void rope(float* vec, int n_heads, int D, const float* cos_sin, bool adjacent_pairs);

// x[i] = exp(x[i]) (AVX-512: range reduction + degree-6 polynomial, within 2 ulp of
// std::exp for x in [-87, 88]; larger inputs saturate, smaller flush toward 0).
void exp_inplace(float* x, int64_t n);

// x[i] = exp(x[i] - shift); returns the sum of the results.
float exp_shift_sum(float* x, int64_t n, float shift);

// gate[i] = silu(gate[i]) * up[i].
void silu_mul(float* gate, const float* up, int64_t n);

// In-place softmax of x[0..n).
void softmax(float* x, int64_t n);

// y[i] += x[i].
void add_inplace(float* y, const float* x, int64_t n);

// Dot product of two f32 vectors (AVX-512 when available).
float dot_f32(const float* a, const float* b, int64_t n);

}  // namespace lk
