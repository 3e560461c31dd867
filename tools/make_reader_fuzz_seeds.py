#!/usr/bin/env python3
"""Writes the seed corpora of the GGUF and safetensors reader fuzz targets: tiny valid files
made with the reference writers (the `gguf` and `safetensors` packages), covering every GGUF
metadata value type (arrays and nested arrays included), a custom alignment, each tensor type
longkv reads, and safetensors with F32/F16/BF16, an I64 buffer, metadata and an empty header.

Usage: python3 tools/make_reader_fuzz_seeds.py   (writes under tests/fuzz/corpus/)
"""
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q, GGUFValueType as V
from gguf.constants import GGML_QUANT_SIZES
from safetensors.numpy import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fuzz", "corpus")


def gguf_seeds(out):
    rng = np.random.default_rng(0)
    # 1: every scalar type, arrays, a nested array, two small tensors, llama hyper-parameters.
    w = gguf.GGUFWriter(os.path.join(out, "all_types.gguf"), "llama")
    w.add_uint32("llama.block_count", 1)
    w.add_uint32("llama.context_length", 64)
    w.add_uint32("llama.embedding_length", 32)
    w.add_uint32("llama.feed_forward_length", 32)
    w.add_uint32("llama.attention.head_count", 4)
    w.add_uint32("llama.attention.head_count_kv", 2)
    w.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-5)
    w.add_key_value("t.u8", 7, V.UINT8)
    w.add_key_value("t.i8", -7, V.INT8)
    w.add_key_value("t.u16", 700, V.UINT16)
    w.add_key_value("t.i16", -700, V.INT16)
    w.add_key_value("t.i32", -70000, V.INT32)
    w.add_key_value("t.u64", 1 << 40, V.UINT64)
    w.add_key_value("t.i64", -(1 << 40), V.INT64)
    w.add_key_value("t.f64", 0.125, V.FLOAT64)
    w.add_key_value("t.bool", True, V.BOOL)
    w.add_key_value("t.str", "héllo", V.STRING)
    w.add_key_value("t.arr_i32", [1, -2, 3], V.ARRAY, sub_type=V.INT32)
    w.add_key_value("t.arr_str", ["a", "bc", ""], V.ARRAY, sub_type=V.STRING)
    w.add_key_value("t.nested", [[1, 2], [3]], V.ARRAY, sub_type=V.ARRAY)
    w.add_tensor("a", rng.standard_normal((2, 8)).astype(np.float32))
    q8 = rng.integers(0, 256, size=(1, 34), dtype=np.uint16).astype(np.uint8)
    q8[0, :2] = [0x00, 0x3C]
    w.add_tensor("q", q8, raw_dtype=Q.Q8_0)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    # 2: alignment 64 and one block of each quantized / half type.
    w = gguf.GGUFWriter(os.path.join(out, "types_align64.gguf"), "qwen2")
    w.add_custom_alignment(64)
    for qt in (Q.F16, Q.BF16, Q.Q4_0, Q.Q4_K, Q.Q5_K, Q.Q6_K):
        block, size = GGML_QUANT_SIZES[qt]
        n = 1 if block > 1 else 32
        raw = rng.integers(0, 256, size=(1, n * size), dtype=np.uint16).astype(np.uint8)
        w.add_tensor(f"t_{qt.name.lower()}", raw, raw_dtype=qt)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    # 3: a vocabulary-only file.
    w = gguf.GGUFWriter(os.path.join(out, "vocab.gguf"), "llama")
    w.add_tokenizer_model("gpt2")
    w.add_token_list(["a", "b", "ab", "<s>"])
    w.add_token_types([1, 1, 1, 3])
    w.add_token_merges(["a b"])
    w.add_bos_token_id(3)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()


def safetensors_seeds(out):
    rng = np.random.default_rng(0)
    save_file({"w": rng.standard_normal((3, 4)).astype(np.float32),
               "h": rng.standard_normal(5).astype(np.float16)},
              os.path.join(out, "f32_f16.safetensors"), metadata={"format": "pt"})
    save_file({"pos": np.arange(6, dtype=np.int64).reshape(2, 3),
               "b": np.zeros((2, 2, 2), dtype=np.float32)},
              os.path.join(out, "i64.safetensors"))
    # BF16 is written by hand (numpy has no bfloat16): header + bytes.
    header = b'{"x":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]}}'
    header += b" " * (-len(header) % 8)
    with open(os.path.join(out, "bf16.safetensors"), "wb") as f:
        f.write(len(header).to_bytes(8, "little") + header + bytes([0, 0x3F, 0, 0xBF, 0, 0x40, 0, 0]))
    with open(os.path.join(out, "empty.safetensors"), "wb") as f:
        f.write((8).to_bytes(8, "little") + b"{}      ")


def main():
    for name, fn in (("gguf_reader_fuzz", gguf_seeds), ("safetensors_reader_fuzz", safetensors_seeds)):
        d = os.path.join(ROOT, name)
        os.makedirs(d, exist_ok=True)
        fn(d)
        print("wrote", os.path.normpath(d), sorted(os.listdir(d)))


if __name__ == "__main__":
    main()
