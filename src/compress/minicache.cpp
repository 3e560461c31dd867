#include "compress/minicache.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace lk::compress {

namespace {

double norm(const float* x, int D) {
  double s = 0;
  for (int d = 0; d < D; ++d) s += double{x[d]} * x[d];
  return std::sqrt(s);
}

size_t elem_bytes(KvFormat f) {
  switch (f) {
    case KvFormat::kF32:
      return 4;
    case KvFormat::kF16:
    case KvFormat::kBF16:
      return 2;
    case KvFormat::kInt8:
      return 1;
    default:
      LK_CHECK_MSG(false, "splice_run: format {} cannot be sliced", kv_format_name(f));
  }
  return 0;
}

// Tokens [start, start + n) of run r.
KvRun slice(const KvRun& r, int start, int n, int D) {
  KvRun s = r;
  const size_t row = elem_bytes(r.format) * D;
  s.n_tokens = n;
  s.k = static_cast<const uint8_t*>(r.k) + row * start;
  s.v = static_cast<const uint8_t*>(r.v) + row * start;
  s.positions = r.positions + start;
  if (r.k_scale) s.k_scale = r.k_scale + start;
  if (r.v_scale) s.v_scale = r.v_scale + start;
  if (r.k_zero) s.k_zero = r.k_zero + start;
  if (r.v_zero) s.v_zero = r.v_zero + start;
  return s;
}

}  // namespace

float minicache_angle(const float* a, const float* b, int D) {
  const double na = norm(a, D), nb = norm(b, D);
  if (na == 0 || nb == 0) return 0.0f;
  double dot = 0;
  for (int d = 0; d < D; ++d) dot += double{a[d]} * b[d];
  return static_cast<float>(std::acos(std::clamp(dot / (na * nb), -1.0, 1.0)));
}

void minicache_merge(const float* a, const float* b, int D, float* dir, float* mag_a,
                     float* mag_b) {
  const double na = norm(a, D), nb = norm(b, D);
  *mag_a = static_cast<float>(na);
  *mag_b = static_cast<float>(nb);
  const double theta = minicache_angle(a, b, D);
  const double ia = na > 0 ? 1.0 / na : 0.0, ib = nb > 0 ? 1.0 / nb : 0.0;
  double wa = 0.5, wb = 0.5;
  if (theta > 1e-4) wa = wb = std::sin(0.5 * theta) / std::sin(theta);
  for (int d = 0; d < D; ++d) dir[d] = static_cast<float>(wa * a[d] * ia + wb * b[d] * ib);
  const double n = norm(dir, D);
  if (n > 0)
    for (int d = 0; d < D; ++d) dir[d] = static_cast<float>(dir[d] / n);
}

KvHeadView view_without(const KvHeadView& view, const std::function<bool(int32_t)>& drop, int D) {
  KvHeadView out;
  for (const KvRun& r : view.runs) {
    int t = 0;
    while (t < r.n_tokens) {
      while (t < r.n_tokens && drop(r.positions[t])) ++t;
      int n = 0;
      while (t + n < r.n_tokens && !drop(r.positions[t + n])) ++n;
      if (n == r.n_tokens) {
        out.runs.push_back(r);
      } else if (n > 0) {
        out.runs.push_back(slice(r, t, n, D));
      }
      t += n;
    }
  }
  return out;
}

KvHeadView splice_run(const KvHeadView& view, const KvRun& extra, int D) {
  KvHeadView out;
  int e = 0;                                    // next token of extra
  auto emit_extra_until = [&](int64_t limit) {  // extra tokens with position < limit
    int n = 0;
    while (e + n < extra.n_tokens && extra.positions[e + n] < limit) ++n;
    if (n > 0) out.runs.push_back(slice(extra, e, n, D));
    e += n;
  };
  for (const KvRun& r : view.runs) {
    int t = 0;
    while (t < r.n_tokens) {
      emit_extra_until(r.positions[t]);
      // Tokens of r before the next extra position.
      const int64_t next = e < extra.n_tokens ? extra.positions[e] : INT64_MAX;
      int n = 0;
      while (t + n < r.n_tokens && r.positions[t + n] < next) ++n;
      if (n == 0) n = 1;  // equal positions never happen (merged tokens left the runs)
      if (n == r.n_tokens) {
        out.runs.push_back(r);
      } else if (n > 0) {
        out.runs.push_back(slice(r, t, n, D));
      }
      t += n;
    }
  }
  emit_extra_until(INT64_MAX);
  return out;
}

}  // namespace lk::compress
