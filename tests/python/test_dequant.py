#!/usr/bin/env python3
"""Live cross-check of longkv's GGUF reading and dequantization against the `gguf` package.

Writes a GGUF with gguf's own GGUFWriter holding fresh random blocks of every supported type
(f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k), has `longkv inspect --dump` dequantize each
tensor, and requires the result to equal gguf.quants.dequantize bit for bit. Then reads a
quantized synth model written by longkv with gguf's GGUFReader and checks the same for every
tensor. Exit 77 (skip) when numpy or gguf is missing.
"""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import gguf
    from gguf import GGMLQuantizationType as Q
    from gguf.constants import GGML_QUANT_SIZES
    from gguf.quants import dequantize
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

BIN = os.environ.get("LONGKV_BINARY", "build/longkv")
SRC = os.environ.get("LONGKV_SOURCE_DIR", ".")
TYPES = [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_K, Q.Q5_K, Q.Q6_K]


def random_raw(rng, qtype, rows, cols):
    """Random bytes of a [rows, cols] tensor with finite f16 scales."""
    block, size = GGML_QUANT_SIZES[qtype]
    nb = rows * cols // block
    if qtype == Q.F32:
        return rng.standard_normal((rows, cols)).astype(np.float32)
    raw = rng.integers(0, 256, size=(nb, size), dtype=np.uint16).astype(np.uint8)
    if qtype in (Q.F16, Q.BF16):
        h = raw.view(np.uint16)
        h[(h & 0x7F80) == 0x7F80] &= 0xBF7F  # keep clear of inf/NaN in both encodings
        return raw.reshape(rows, cols * 2)
    offs = {Q.Q8_0: [0], Q.Q4_0: [0], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208]}[qtype]
    for o in offs:
        s = rng.integers(0, 1 << 16, size=nb, dtype=np.uint32).astype(np.uint16)
        s[(s & 0x7C00) == 0x7C00] &= 0xBFFF
        raw[:, o:o + 2] = s.view(np.uint8).reshape(nb, 2)
    return raw.reshape(rows, nb // rows * size)


def dump(path, name, out):
    r = subprocess.run([BIN, "inspect", path, "--no-metadata", "--dump", name, "--out", out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"longkv inspect --dump {name} failed: {r.stderr}")
    return np.fromfile(out, dtype="<f4")


def main():
    failures = 0
    rng = np.random.default_rng(int.from_bytes(os.urandom(4), "little"))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "blocks.gguf")
        w = gguf.GGUFWriter(path, "llama")
        expected = {}
        for qt in TYPES:
            rows, cols = 3, 512
            raw = random_raw(rng, qt, rows, cols)
            name = f"t_{qt.name.lower()}"
            w.add_tensor(name, raw, raw_dtype=qt)
            expected[name] = np.asarray(dequantize(raw, qt), dtype=np.float32).reshape(-1)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        for name, want in expected.items():
            got = dump(path, name, os.path.join(tmp, name + ".f32"))
            same = got.shape == want.shape and np.array_equal(got.view(np.uint32),
                                                              want.view(np.uint32))
            print(f"{name}: {'bit-exact' if same else 'MISMATCH'} ({want.size} values)")
            failures += not same

        # A longkv-written quantized model, read back by gguf's reader.
        cfg = os.path.join(SRC, "tests", "model", "fixtures", "hf_configs", "tiny-k256.json")
        for dt in ("q4_k", "q5_k", "q6_k", "q8_0", "q4_0", "bf16"):
            out = os.path.join(tmp, f"synth-{dt}.gguf")
            subprocess.run([BIN, "synth", "--like", cfg, "--dtype", dt, "--out", out, "--seed", "3"],
                           check=True, capture_output=True)
            reader = gguf.GGUFReader(out)
            n = 0
            for t in reader.tensors:
                want = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(-1)
                got = dump(out, t.name, os.path.join(tmp, "x.f32"))
                if not np.array_equal(got.view(np.uint32), want.view(np.uint32)):
                    print(f"synth {dt}: {t.name} MISMATCH")
                    failures += 1
                n += 1
            print(f"synth {dt}: {n} tensors read by gguf.GGUFReader, dequantization bit-exact")
    if failures:
        print(f"FAILED: {failures} mismatches")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
