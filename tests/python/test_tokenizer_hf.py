#!/usr/bin/env python3
"""Live cross-check of `longkv tokenize` against HF `tokenizers` on random text.

For each real vocabulary in ../shared/models (Llama 3, Qwen3, stories260K tokenizer.json;
Llama 2 as HF runs it from a legacy-style tokenizer.json built from its SentencePiece model;
GPT-2 from its GGUF), encodes 250 seeded random strings (random code points from
many scripts, emoji, whitespace runs, digits, code, special-token text) with both and
requires identical ids. Exit 77 (skip) when tokenizers or the model folder is missing.
"""
import json
import os
import random
import subprocess
import sys
import tempfile

try:
    import tokenizers  # noqa: F401
    from tokenizers import Tokenizer
except ImportError:
    print("tokenizers not installed; skipping")
    sys.exit(77)

BIN = os.environ.get("LONGKV_BINARY", "build/longkv")
SRC = os.environ.get("LONGKV_SOURCE_DIR", ".")
SHARED = os.environ.get("LONGKV_SHARED_MODELS", os.path.join(SRC, "..", "shared", "models"))
if not os.path.isdir(SHARED):
    print(f"{SHARED} not found; skipping")
    sys.exit(77)
sys.path.insert(0, os.path.join(SRC, "tools"))
import tokenizer_fixtures as tf  # noqa: E402

RANGES = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF),
          (0x900, 0x97F), (0xE00, 0xE7F), (0x1100, 0x11FF), (0x2000, 0x206F), (0x3000, 0x30FF),
          (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0x1F300, 0x1FAFF), (0x300, 0x36F)]
PIECES = [" ", "  ", "   ", "\n", "\n\n", "\t", "\r\n", "'s", "'LL", "123", "4567890", "3.14",
          "def ", "()", "{}", "->", "==", "//", "<|im_start|>", "<|eot_id|>", "<s>", "</s>",
          "\u00a0", "\u3000", "\u200b", "e\u0301", "👨‍👩‍👧", "🇫🇷"]


def random_text(rng):
    out = []
    for _ in range(rng.randint(1, 24)):
        if rng.random() < 0.35:
            out.append(rng.choice(PIECES))
        else:
            lo, hi = rng.choice(RANGES)
            out.append("".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 6))))
    return "".join(out)


def longkv_ids(model, texts):
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps(t) + "\n")
        path = f.name
    try:
        r = subprocess.run([BIN, "tokenize", "-m", model, "--batch", path, "--no-bos"],
                           capture_output=True, text=True)
    finally:
        os.unlink(path)
    if r.returncode != 0:
        return None, r.stderr
    return [[int(x) for x in line.split()] for line in r.stdout.splitlines()], ""


def main():
    rng = random.Random(1234)
    texts = tf.CORPUS + [random_text(rng) for _ in range(250)]
    legacy_dir = tempfile.mkdtemp()
    llama2_json = os.path.join(legacy_dir, "tokenizer.json")
    tf.hf_llama2(SHARED).save(llama2_json)
    # transformers 5's own conversion of tokenizer.model (Metaspace "first", merges by id):
    # longkv must follow whatever a tokenizer.json says, so it is checked too.
    t5_json = None
    try:
        from transformers import LlamaTokenizer
        os.symlink(f"{SHARED}/tokenizers/llama2-tokenizer.model", os.path.join(legacy_dir, "tokenizer.model"))
        t5_dir = tempfile.mkdtemp(dir=legacy_dir)
        t5 = LlamaTokenizer.from_pretrained(legacy_dir).backend_tokenizer
        t5_json = os.path.join(t5_dir, "tokenizer.json")
        t5.save(t5_json)
    except Exception as e:  # transformers absent or too old: that one check is skipped
        print(f"(transformers conversion of llama2 skipped: {e})")
    vocabs = [
        ("llama3", f"{SHARED}/tokenizers/llama3", Tokenizer.from_file(f"{SHARED}/tokenizers/llama3/tokenizer.json")),
        ("qwen3", f"{SHARED}/tokenizers/qwen3", Tokenizer.from_file(f"{SHARED}/tokenizers/qwen3/tokenizer.json")),
        ("stories260K", f"{SHARED}/stories260K-hf", Tokenizer.from_file(f"{SHARED}/stories260K-hf/tokenizer.json")),
        ("llama2 (tokenizer.json)", llama2_json, Tokenizer.from_file(llama2_json)),
        ("llama2 (gguf)", f"{SHARED}/tokenizers/ggml-vocab-llama-spm.gguf", Tokenizer.from_file(llama2_json)),
        ("gpt2 (gguf)", f"{SHARED}/tokenizers/ggml-vocab-gpt-2.gguf",
         tf.hf_gpt2_from_gguf(f"{SHARED}/tokenizers/ggml-vocab-gpt-2.gguf")),
    ]
    if t5_json:
        vocabs.append(("llama2 (transformers 5 tokenizer.json)", t5_json, Tokenizer.from_file(t5_json)))
    failed = 0
    for name, path, hf in vocabs:
        ours, err = longkv_ids(path, texts)
        if ours is None:
            print(f"FAIL {name}: longkv tokenize failed: {err.strip()}")
            failed += 1
            continue
        # Llama 2 from GGUF: "<s>"/"</s>" are control tokens parsed as specials by llama.cpp's
        # convention; HF's legacy tokenizer.json treats them likewise (added tokens).
        bad = [(t, hf.encode(t, add_special_tokens=False).ids, o)
               for t, o in zip(texts, ours) if hf.encode(t, add_special_tokens=False).ids != o]
        print(f"{name}: {len(texts) - len(bad)}/{len(texts)} identical")
        for t, want, got in bad[:3]:
            print(f"  text {t!r}\n    hf     {want}\n    longkv {got}")
        failed += bool(bad)
    shutil_rm(legacy_dir)
    sys.exit(1 if failed else 0)


def shutil_rm(d):
    import shutil
    shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
