#!/usr/bin/env python3
"""DMS from a checkpoint against an independent PyTorch reference (skips with 77 without
torch/transformers/safetensors): `longkv dms-synth --form proj` makes a checkpoint carrying the
official dms_* keys and dms_proj_alpha tensors; the reference computes the decision logits from
those tensors in PyTorch (RMSNorm + projection of each layer's input, x alpha_scale - offset),
applies the official inference semantics (decisions shifted by one token; key j hidden from
query i once its decision says evict and i - j > window) as a per-kv-head additive mask in
transformers' eager Llama, and requires longkv's prompt logits (`run --chunk 1`, evicting from
the paged cache after every token) within 1e-4 — with and without eviction actually happening.
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import transformers
    from safetensors.torch import load_file
except Exception as e:  # noqa: BLE001
    print(f"skip: {e}")
    sys.exit(77)

BIN = os.environ.get("LONGKV_BINARY", "build/longkv")
CFG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
       "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4,
       "num_key_value_heads": 2, "head_dim": 16, "max_position_embeddings": 256,
       "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "vocab_size": 300, "tie_word_embeddings": False}


def run(*a):
    subprocess.run([BIN, *a], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    tmp = tempfile.mkdtemp()
    with open(os.path.join(tmp, "cfg.json"), "w") as f:
        json.dump(CFG, f)
    run("synth", "--like", os.path.join(tmp, "cfg.json"), "--dtype", "f32", "--out", os.path.join(tmp, "base"))
    window = 3
    d = os.path.join(tmp, "dms")
    run("dms-synth", "--from", os.path.join(tmp, "base"), "--out", d, "--form", "proj", "--window", str(window))
    cfg = json.load(open(os.path.join(d, "config.json")))
    sd = load_file(os.path.join(d, "model.safetensors"))
    model = transformers.LlamaForCausalLM.from_pretrained(d, torch_dtype=torch.float32,
                                                          attn_implementation="eager").eval()
    H, Hkv, L = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["num_hidden_layers"]
    g = H // Hkv
    rng = np.random.default_rng(0)
    ids = [int(x) for x in rng.integers(3, 299, size=24)]
    T = len(ids)
    t = torch.tensor([ids])
    # Each layer's input, captured by a first unmasked pass only to check that the decisions
    # (which the mask needs up front) are the same in every layer for this checkpoint.
    inputs = {}
    hooks = [model.model.layers[l].register_forward_pre_hook(
        lambda m, a, kw, l=l: inputs.__setitem__(l, (a[0] if a else kw["hidden_states"]).detach()),
        with_kwargs=True) for l in range(L)]
    with torch.no_grad():
        model(t)
    for h in hooks:
        h.remove()

    def decisions(layer):
        x = inputs[layer][0]
        norm = sd[f"model.layers.{layer}.self_attn.dms_proj_alpha_norm.weight"]
        proj = sd[f"model.layers.{layer}.self_attn.dms_proj_alpha.weight"]
        xn = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + cfg["rms_norm_eps"]) * norm
        logit = (xn @ proj.T) * cfg["dms_alpha_scale"] - cfg["dms_initial_alpha_offset"]
        return (logit > 0).T  # [Hkv, T]

    dec = decisions(0)
    for l in range(1, L):
        assert torch.equal(dec, decisions(l)), "decisions differ across layers"
    assert 0 < dec[:, 1:].float().mean() < 1, dec
    refs = {}
    for w in (window, 1000):
        mask = torch.zeros(1, H, T, T)
        for h in range(H):
            kvh = h // g
            for i in range(T):
                for j in range(T):
                    if j > i:
                        mask[0, h, i, j] = float("-inf")
                    elif j + 1 < T and dec[kvh, j + 1] and i - j > w:
                        mask[0, h, i, j] = float("-inf")
        with torch.no_grad():
            ref = model(t, attention_mask=mask).logits[0].numpy()
        refs[w] = ref
        out = os.path.join(tmp, "logits.f32")
        kv = "dms" if w == window else f"dms:window={w}"
        run("run", "-m", d, "--prompt-ids", ",".join(map(str, ids)), "-n", "1", "--temp", "0",
            "--chunk", "1", "--kv", kv, "--dump-logits", out, "-t", "1")
        got = np.fromfile(out, dtype=np.float32).reshape(T, -1)
        diff = float(np.abs(got - ref).max())
        print(f"window {w}: max |longkv - reference| = {diff:.2e}")
        assert diff < 1e-4, diff
    # Eviction mattered: with window 3 the logits differ from plain attention (window 1000).
    evict_effect = float(np.abs(refs[window] - refs[1000]).max())
    print(f"effect of eviction on the logits: {evict_effect:.3f}")
    assert evict_effect > 1e-2, evict_effect
    print("ok")


if __name__ == "__main__":
    main()
