#include "engine/rope_freqs.h"

#include <cmath>

namespace lk {

std::vector<float> rope_inv_freqs(const ModelSpec& spec) {
  const int D = spec.head_dim;
  std::vector<float> f(D / 2);
  for (int i = 0; i < D / 2; ++i) {
    f[i] = 1.0f / std::pow(spec.rope_theta, static_cast<float>(2 * i) / static_cast<float>(D));
  }
  if (spec.rope_scaling == RopeScaling::kLinear) {
    for (float& x : f) x /= spec.rope_factor;
  } else if (spec.rope_scaling == RopeScaling::kLlama3) {
    // Llama 3.1: long wavelengths are slowed by `factor`, short ones kept, and the band in
    // between interpolated smoothly (transformers' _compute_llama3_parameters).
    const float factor = spec.rope_factor, lo = spec.rope_low_freq_factor,
                hi = spec.rope_high_freq_factor;
    const float old_ctx = static_cast<float>(spec.rope_original_context);
    const float low_freq_wavelen = old_ctx / lo, high_freq_wavelen = old_ctx / hi;
    for (float& x : f) {
      const float wavelen = 2.0f * static_cast<float>(M_PI) / x;
      float scaled = wavelen > low_freq_wavelen ? x / factor : x;
      const bool medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen);
      if (medium) {
        const float smooth = (old_ctx / wavelen - lo) / (hi - lo);
        scaled = (1.0f - smooth) * scaled / factor + smooth * scaled;
      }
      x = scaled;
    }
  }
  return f;
}

}  // namespace lk
