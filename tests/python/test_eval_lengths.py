#!/usr/bin/env python3
"""Task lengths are in the model's tokens: `longkv eval --export-tasks` with the Llama 3
tokenizer fills every first-round prompt to at most the requested length and within a few
tokens of it, as counted by Hugging Face `tokenizers` (the reference implementation).
Exit 77 when `tokenizers` or the shared tokenizer files are absent."""
import json
import os
import subprocess
import sys
import tempfile

binary = os.environ.get("LONGKV_BINARY")
models = os.environ.get("LONGKV_SHARED_MODELS", "")
tok_path = os.path.join(models, "tokenizers", "llama3", "tokenizer.json")
try:
    from tokenizers import Tokenizer
except ImportError:
    print("SKIP: tokenizers not installed")
    sys.exit(77)
if not os.path.exists(tok_path):
    print(f"SKIP: {tok_path} not found")
    sys.exit(77)

tok = Tokenizer.from_file(tok_path)
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "t.jsonl")
    subprocess.run([binary, "eval", "--tokenizer", tok_path, "--tasks",
                    "passkey,niah_multikey,niah_multivalue,niah_multiquery,variable_tracking,common_words,multi_round",
                    "--lengths", "1000,8k", "-n", "2", "--seed", "9", "--export-tasks", out], check=True)
    n = 0
    for line in open(out, encoding="utf-8"):
        d = json.loads(line)
        r = d["rounds"][0]
        prompt = d["context"] + "\n\n" + r["question"] + "\n" + r["answer_prefix"]
        got = len(tok.encode(prompt, add_special_tokens=False).ids)
        length = d["length"]
        # One filler sentence (or word-list entry) is well under 64 tokens.
        assert length - 64 <= got <= length, (d["id"], got, length)
        n += 1
    assert n == 7 * 2 * 2, n
print(f"test_eval_lengths: ok ({n} prompts within 64 tokens below their length)")
