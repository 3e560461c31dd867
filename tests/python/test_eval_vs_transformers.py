#!/usr/bin/env python3
"""longkv eval's real backend against Hugging Face transformers on the same tasks.

Exports a few generated tasks with stories260K's tokenizer, runs them through `longkv eval`
and through tools/kvpress_compare.py (method `full` = plain transformers, no kvpress needed),
and checks that both score the same and that most greedy predictions agree token for token
(the two use different tokenizer implementations of tok512 and float summation orders, so a
near-tie may flip one sample). Exit 77 when torch/transformers or the shared models are absent.
"""
import json
import os
import subprocess
import sys
import tempfile

binary = os.environ.get("LONGKV_BINARY")
src = os.environ.get("LONGKV_SOURCE_DIR")
models = os.environ.get("LONGKV_SHARED_MODELS", "")
try:
    import torch  # noqa: F401
    import transformers  # noqa: F401
except ImportError:
    print("SKIP: torch/transformers not installed")
    sys.exit(77)
if not os.path.exists(os.path.join(models, "stories260K-hf", "config.json")):
    print(f"SKIP: {models}/stories260K-hf not found")
    sys.exit(77)

m = ["-m", os.path.join(models, "stories260K.bin"), "--tokenizer", os.path.join(models, "tok512.bin"), "-t", "1"]
with tempfile.TemporaryDirectory() as tmp:
    tasks = os.path.join(tmp, "tasks.jsonl")
    subprocess.run([binary, "eval", *m, "--tasks", "passkey,multi_round:rounds=2", "--lengths", "300",
                    "-n", "2", "--export-tasks", tasks], check=True)
    subprocess.run([binary, "eval", *m, "--tasks", tasks, "--out", os.path.join(tmp, "lk"), "--no-progress"],
                   check=True, stdout=subprocess.DEVNULL)
    out = os.path.join(tmp, "cmp.json")
    r = subprocess.run([sys.executable, os.path.join(src, "tools", "kvpress_compare.py"), "--hf-model",
                        os.path.join(models, "stories260K-hf"), "--tasks", tasks, "--longkv",
                        os.path.join(tmp, "lk"), "--threads", "1", "--out", out])
    if r.returncode != 0:
        sys.exit(r.returncode)
    d = json.load(open(out))
    agree = [s["agree"] for s in d["samples"]]
    assert len(agree) == 4, d["samples"]
    for row in d["rows"]:
        assert abs(row["difference"]) < 1e-9, row
    assert sum(agree) >= 3, d["samples"]
    print(f"test_eval_vs_transformers: ok ({sum(agree)}/{len(agree)} identical predictions)")
