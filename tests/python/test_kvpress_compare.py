#!/usr/bin/env python3
"""longkv's KV compression against kvpress's presses, token for token (tools/kvpress_compare.py
--trace), on a tiny multi-query Llama that `longkv synth` writes as a Hugging Face folder.

With one kv head, kvpress's layer-wide TOVA score and longkv's per-group score coincide, so
StreamingLLM, SnapKV (kernel 1: no pooling) and TOVA must keep the SAME positions in every
layer, with logits equal to float precision and the same greedy tokens; so must longkv's
knobs that follow kvpress's scoring (snapkv pool=avg at window 64 / kernel 5, tova
scope=layer, h2o score=mean). The default H2O pair (accumulated sum vs kvpress's
observed-attention mean) is known to differ: the test checks the comparison notices it.

kvpress pins an older transformers than the system's, so it lives in its own venv
(`make kvpress-venv`): the test runs the tool with $KVPRESS_PYTHON, else
<source>/.venv/kvpress/bin/python, else this interpreter; exit 77 when none imports kvpress.
"""
import json
import os
import subprocess
import sys
import tempfile

binary = os.environ.get("LONGKV_BINARY")
src = os.environ.get("LONGKV_SOURCE_DIR")
candidates = [os.environ.get("KVPRESS_PYTHON", ""), os.path.join(src or ".", ".venv", "kvpress", "bin", "python"),
              sys.executable]
python = None
for c in candidates:
    if c and os.path.exists(c) and subprocess.run([c, "-c", "import kvpress, torch, transformers"],
                                                  capture_output=True).returncode == 0:
        python = c
        break
if python is None:
    print("SKIP: no python with kvpress + torch + transformers (make kvpress-venv, or set KVPRESS_PYTHON)")
    sys.exit(77)

config = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
    "intermediate_size": 172, "num_hidden_layers": 3, "num_attention_heads": 8,
    "num_key_value_heads": 1, "vocab_size": 512, "max_position_embeddings": 512,
    "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": True,
}
with tempfile.TemporaryDirectory() as tmp:
    with open(os.path.join(tmp, "config.json"), "w") as f:
        json.dump(config, f)
    model = os.path.join(tmp, "mqa-hf")
    subprocess.run([binary, "synth", "--like", os.path.join(tmp, "config.json"), "--dtype", "f32",
                    "--seed", "11", "--out", model], check=True, stdout=subprocess.DEVNULL)
    tasks = os.path.join(tmp, "tasks.jsonl")
    subprocess.run([binary, "eval", "-m", model, "--tasks", "passkey", "--lengths", "160", "-n", "1",
                    "--export-tasks", tasks], check=True, stderr=subprocess.DEVNULL)
    out = os.path.join(tmp, "trace.json")
    r = subprocess.run([python, os.path.join(src, "tools", "kvpress_compare.py"), "--trace", "--hf-model", model,
                        "--tasks", tasks, "--longkv-binary", binary, "--pairs",
                        "full,streaming,snapkv_same,tova,h2o,snapkv_avgpool,tova_layer,h2o_mean",
                        "--budgets", "0.5", "--forced", "4", "--greedy", "4", "--threads", "1", "--out", out,
                        "--require-agreement",
                        "full=1,streaming=1,snapkv_same=1,tova=1,snapkv_avgpool=1,tova_layer=1,h2o_mean=1"])
    if r.returncode == 77:
        sys.exit(77)
    assert r.returncode == 0, f"kvpress_compare --trace exited {r.returncode}"
    rows = {x["pair"]: x for x in json.load(open(out))["rows"]}
    # longkv's kvpress-default knobs (pool=avg, scope=layer, score=mean) score like the presses.
    for pair in ("full", "streaming", "snapkv_same", "tova", "snapkv_avgpool", "tova_layer", "h2o_mean"):
        row = rows[pair]
        assert row["identical_heads"] == 1.0 and row["mean_jaccard"] == 1.0, row
        assert row["logits_max_abs_diff"] < 1e-3, row
        assert row["argmax_agreement"] == 1.0 and row["greedy_identical"] == 1.0, row
    assert 0.45 < rows["streaming"]["kept_share"] < 0.56, rows["streaming"]
    # H2O's accumulated attention (longkv) vs kvpress's per-query mean: the sets must differ.
    assert rows["h2o"]["mean_jaccard"] < 1.0, rows["h2o"]
    print(f"test_kvpress_compare: ok (streaming, snapkv, tova, snapkv pool=avg, h2o score=mean "
          f"identical in every layer; h2o (sum) Jaccard {rows['h2o']['mean_jaccard']:.3f})")
