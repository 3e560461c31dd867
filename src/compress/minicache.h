// MiniCache (Liu et al. 2024, "MiniCache: KV Cache Compression in Depth Dimension", arXiv
// 2405.14366): adjacent layers of the deep half hold similar K/V directions, so each pair
// (l, l + 1) keeps one shared direction per token — the SLERP midpoint of the two layers'
// normalized vectors — plus each layer's own magnitude; tokens whose two directions are far
// apart (the `retain` share with the largest angular distance, MiniCache's token retention)
// stay unmerged in both layers.
//
// longkv applies it to the paged cache after each prefill (the prompt's tokens; generated
// tokens are not merged): merged tokens are evicted from both layers' blocks (the pool's bytes
// drop) and live in a side store of [n][head_dim] directions for K and V in the cache's
// element type + 4 f32 magnitudes + the position. Attention over a merged layer reads the
// held runs plus a reconstruction (magnitude x direction) spliced in position order.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "kv/kv_view.h"

namespace lk::compress {

// K (or V) rows of one token in two layers -> the shared unit direction and both magnitudes.
// SLERP at t = 0.5 of the normalized vectors; nearly parallel vectors use the normalized mean.
void minicache_merge(const float* a, const float* b, int D, float* direction, float* mag_a,
                     float* mag_b);
// Angle in [0, pi] between a and b (0 when either is zero).
float minicache_angle(const float* a, const float* b, int D);

// One (layer pair, kv-head)'s merged tokens.
struct MergedTokens {
  std::vector<int32_t> positions;   // ascending
  std::vector<float> k_dir, v_dir;  // [n][D] unit directions
  std::vector<float> mag;           // [n][4]: |K_a|, |V_a|, |K_b|, |V_b|
};

// A view's runs with `extra` (one run, ascending positions) spliced in position order.
// Float and int8 runs are sliced in place; KIVI runs (whose K parameters describe a whole
// group) cannot be sliced and are refused by the caller.
KvHeadView splice_run(const KvHeadView& view, const KvRun& extra, int head_dim);
// The view without the tokens `drop` selects (runs sliced in place; same format rules).
KvHeadView view_without(const KvHeadView& view, const std::function<bool(int32_t)>& drop,
                        int head_dim);

}  // namespace lk::compress
