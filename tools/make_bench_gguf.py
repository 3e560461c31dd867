#!/usr/bin/env python3
"""Writes a random-weight Llama-architecture GGUF for speed benchmarks (`longkv bench`
side by side with llama.cpp's llama-bench). Speed does not depend on weight values, so the
weights are random (small normal values); the vocabulary is a placeholder SentencePiece-style
list (<unk>, <s>, </s>, 256 byte pieces, then "▁t<i>") so llama.cpp loads it.

Default shape "bench-1b-4l": Llama-3.2-1B's layer shape (d=2048, 32 heads, 8 KV heads,
head_dim 64, ffn 8192) with 4 layers and a 32000 vocabulary, untied: ~370M parameters —
0.74 GB in F16, 0.40 GB in Q8_0, far larger than a 32 MiB L3.

usage: python3 tools/make_bench_gguf.py OUT.gguf [--dtype f16|q8_0|f32] [--layers 4] ...
"""
import argparse

import numpy as np
import gguf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--dtype", default="f16", choices=["f32", "f16", "q8_0"])
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--dim", type=int, default=2048)
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--kv-heads", type=int, default=8)
    ap.add_argument("--ffn", type=int, default=8192)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--ctx", type=int, default=32768)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    head_dim = a.dim // a.heads
    w = gguf.GGUFWriter(a.out, "llama")
    w.add_name(f"bench-d{a.dim}-l{a.layers}-{a.dtype}")
    w.add_context_length(a.ctx)
    w.add_embedding_length(a.dim)
    w.add_block_count(a.layers)
    w.add_feed_forward_length(a.ffn)
    w.add_head_count(a.heads)
    w.add_head_count_kv(a.kv_heads)
    w.add_rope_dimension_count(head_dim)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(500000.0)
    w.add_file_type({"f32": 0, "f16": 1, "q8_0": 7}[a.dtype])
    # placeholder SentencePiece vocabulary
    tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % i for i in range(256)]
    tokens += ["\u2581t%d" % i for i in range(a.vocab - len(tokens))]
    types = [2, 3, 3] + [6] * 256 + [1] * (a.vocab - 259)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([-float(i) for i in range(a.vocab)])
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)

    qt = {"f32": gguf.GGMLQuantizationType.F32, "f16": gguf.GGMLQuantizationType.F16,
          "q8_0": gguf.GGMLQuantizationType.Q8_0}[a.dtype]

    def matrix(name, rows, cols):  # numpy shape [rows=out][cols=in] -> ggml ne [in, out]
        x = (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02)
        if a.dtype == "f16":
            w.add_tensor(name, x.astype(np.float16))
        elif a.dtype == "q8_0":
            w.add_tensor(name, gguf.quants.quantize(x, qt), raw_dtype=qt)
        else:
            w.add_tensor(name, x)

    def vector(name, n):
        w.add_tensor(name, (1.0 + 0.01 * rng.standard_normal(n)).astype(np.float32))

    q, kv = a.heads * head_dim, a.kv_heads * head_dim
    matrix("token_embd.weight", a.vocab, a.dim)
    for l in range(a.layers):
        vector(f"blk.{l}.attn_norm.weight", a.dim)
        matrix(f"blk.{l}.attn_q.weight", q, a.dim)
        matrix(f"blk.{l}.attn_k.weight", kv, a.dim)
        matrix(f"blk.{l}.attn_v.weight", kv, a.dim)
        matrix(f"blk.{l}.attn_output.weight", a.dim, q)
        vector(f"blk.{l}.ffn_norm.weight", a.dim)
        matrix(f"blk.{l}.ffn_gate.weight", a.ffn, a.dim)
        matrix(f"blk.{l}.ffn_up.weight", a.ffn, a.dim)
        matrix(f"blk.{l}.ffn_down.weight", a.dim, a.ffn)
    vector("output_norm.weight", a.dim)
    matrix("output.weight", a.vocab, a.dim)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print("wrote", a.out)


if __name__ == "__main__":
    main()
