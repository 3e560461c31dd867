#!/usr/bin/env python3
"""Peer timing for bench/tokenizer_bench: HF tokenizers on the same long text.

Writes /tmp/longkv_tokenizer_bench.txt (or --text): the fixture corpus shuffled and
repeated to ~128K Llama 3 tokens, then times HF `tokenizers` encode of the whole text (one
call, as a 128K-token prompt) for each vocabulary and prints tokens/s. Run the C++ side on
the same file with: LONGKV_TOKENIZER_BENCH_TEXT=<file> build/bench/tokenizer_bench
"""
import argparse
import os
import random
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import tokenizer_fixtures as tf  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(here, "..", "..", "shared", "models"))
    ap.add_argument("--text", default="/tmp/longkv_tokenizer_bench.txt")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    rng = random.Random(7)
    text = " ".join(rng.choice(tf.CORPUS) for _ in range(9000))
    with open(a.text, "w", encoding="utf-8") as f:
        f.write(text)
    from tokenizers import Tokenizer
    s = a.shared
    vocabs = {"llama3_json": Tokenizer.from_file(f"{s}/tokenizers/llama3/tokenizer.json"),
              "qwen3_json": Tokenizer.from_file(f"{s}/tokenizers/qwen3/tokenizer.json"),
              "llama2 (tokenizer.json)": tf.hf_llama2(s),
              "gpt2": tf.hf_gpt2_from_gguf(f"{s}/tokenizers/ggml-vocab-gpt-2.gguf")}
    print(f"text: {len(text.encode())} bytes -> {a.text}")
    for name, tok in vocabs.items():
        best = 1e9
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            n = len(tok.encode(text, add_special_tokens=False).ids)
            best = min(best, time.perf_counter() - t0)
        print(f"HF tokenizers {name:24s} {n:7d} tokens  {best * 1e3:8.1f} ms  {n / best / 1e6:6.2f} M tokens/s")


if __name__ == "__main__":
    main()
