#!/usr/bin/env python3
"""Writes the committed fixtures of tests/model/quant_test.cpp: random blocks of every GGUF
weight type longkv reads (with edge values: zero, negative zero, subnormal and extreme
scales, all-min and all-max codes) and their f32 dequantization by the `gguf` package, plus
f32 inputs and gguf's quantization of them for the types gguf can quantize.

Usage: python3 tools/make_quant_fixtures.py [--out tests/model/fixtures/quant] [--seed 1]
Each type T gets T.blocks (raw bytes) and T.expect (little-endian f32 of the dequantization);
quantize_input.f32 and T.quantized hold the quantization fixtures.
"""
import argparse
import os
import warnings

import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize, quantize

TYPES = {"f32": Q.F32, "f16": Q.F16, "bf16": Q.BF16, "q8_0": Q.Q8_0, "q4_0": Q.Q4_0,
         "q4_k": Q.Q4_K, "q5_k": Q.Q5_K, "q6_k": Q.Q6_K}

# f16 bit patterns of interesting scales: 0, -0, smallest subnormal, largest subnormal,
# smallest normal, 1, -1, 65504 (max), a tiny and a typical weight scale.
EDGE_F16 = [0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x3C00, 0xBC00, 0x7BFF, 0x1400, 0x2A66]


def finite_f16(rng, n):
    """Random finite f16 bit patterns (as uint16), a third of them from EDGE_F16."""
    bits = rng.integers(0, 1 << 16, size=n, dtype=np.uint32).astype(np.uint16)
    bits = np.where((bits & 0x7C00) == 0x7C00, bits & 0xBFFF, bits)  # no inf / NaN
    pick = rng.random(n) < 0.33
    bits[pick] = rng.choice(EDGE_F16, size=pick.sum())
    return bits.astype(np.uint16)


def scale_offsets(qtype):
    """Byte offsets of the f16 scales in one block."""
    return {Q.Q8_0: [0], Q.Q4_0: [0], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208]}[qtype]


def random_blocks(rng, qtype, n_blocks):
    block, size = GGML_QUANT_SIZES[qtype]
    if qtype == Q.F32:
        x = rng.standard_normal(n_blocks).astype(np.float32)
        x[:8] = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4e38, -1.0]
        return x.view(np.uint8)
    if qtype in (Q.F16, Q.BF16):
        x = rng.integers(0, 1 << 16, size=n_blocks, dtype=np.uint32).astype(np.uint16)
        x[:8] = [0x0000, 0x8000, 0x0001, 0x7C00, 0xFC00, 0x7E00, 0x7F80, 0xFF80]
        return x.view(np.uint8)
    raw = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint32).astype(np.uint8)
    raw[0, :] = 0x00       # all codes minimal, zero scales
    raw[1, :] = 0xFF       # all codes maximal (scales fixed below)
    for off in scale_offsets(qtype):
        raw[:, off:off + 2] = finite_f16(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
    raw[1, scale_offsets(qtype)[0]:scale_offsets(qtype)[0] + 2] = np.array([0x00, 0x3C], np.uint8)
    return raw.reshape(-1)


def quantize_input(rng):
    """64 blocks of 32 floats (8 super-blocks of 256) with edge cases."""
    x = (rng.standard_normal((64, 32)) * 0.05).astype(np.float32)
    x[0] = 0.0                                      # all zero
    x[1] = 0.0; x[1, 5] = -0.3                      # one negative value
    x[2] = np.linspace(-1, 1, 32)                    # exact ties after scaling
    x[3] = 1e-7                                      # tiny
    x[4] = rng.standard_normal(32) * 3e4            # large (f16 scale near its max)
    x[5] = np.abs(x[5])                              # all positive
    x[6] = -np.abs(x[6])                             # all negative
    x[7, ::2] = 0.5; x[7, 1::2] = -0.5               # equal magnitudes, both signs
    return x.reshape(-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests",
                                                  "model", "fixtures", "quant"))
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    warnings.simplefilter("ignore", RuntimeWarning)  # inf/NaN edge values are intended
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    for name, qtype in TYPES.items():
        block, size = GGML_QUANT_SIZES[qtype]
        n_blocks = 256 if block == 1 else (64 if block == 32 else 24)
        raw = random_blocks(rng, qtype, n_blocks)
        y = dequantize(raw.reshape(1, -1), qtype).astype(np.float32).reshape(-1)
        raw.tofile(os.path.join(args.out, name + ".blocks"))
        y.astype("<f4").tofile(os.path.join(args.out, name + ".expect"))
    x = quantize_input(rng)
    x.astype("<f4").tofile(os.path.join(args.out, "quantize_input.f32"))
    for name in ("f16", "bf16", "q8_0", "q4_0"):
        q = np.ascontiguousarray(quantize(x.reshape(8, 256), TYPES[name]))
        q.view(np.uint8).reshape(-1).tofile(os.path.join(args.out, name + ".quantized"))
    print("wrote fixtures to", os.path.normpath(args.out))


if __name__ == "__main__":
    main()
