#!/usr/bin/env python3
"""Builds the transformers logit fixtures under tests/engine/fixtures/hf/.

For each architecture variant a tiny random model is created with Hugging Face transformers
(PyPI), saved as a real checkpoint (model.safetensors + config.json in the classic layout
that published checkpoints use: rope_theta / rope_scaling at top level), reloaded from disk,
and run in float32. Saved beside it:
  expected.json   prompt ids, greedy continuation (32 tokens), tolerance notes
  logits.f32      float32 logits [n_prompt][vocab] of the prompt (teacher forcing)
The C++ tests (tests/engine/hf_fixture_test.cpp) load the checkpoint with longkv and compare.
Weights are drawn with a larger std than HF's default so logits are well separated and the
greedy continuation is robust to f32 summation order (the script checks the top-2 margin).

usage: python3 tools/make_hf_fixtures.py [--out tests/engine/fixtures/hf]
"""
import argparse
import json
import os
import shutil

import numpy as np
import torch
import transformers
from safetensors.torch import save_file

VOCAB = 128
PROMPT = 12
GEN = 32

VARIANTS = {
    # name: (model class, config kwargs, storage dtype)
    "llama_gqa_tied": ("llama", dict(num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True), "float32"),
    "llama_mha_untied": ("llama", dict(num_attention_heads=4, num_key_value_heads=4, tie_word_embeddings=False), "float32"),
    "llama_mqa": ("llama", dict(num_attention_heads=4, num_key_value_heads=1, tie_word_embeddings=False), "float32"),
    "llama3_rope_scaling": ("llama", dict(num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True,
                                          rope_theta=500000.0,
                                          rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                        "high_freq_factor": 4.0, "original_max_position_embeddings": 16}),
                            "float32"),
    "mistral_gqa": ("mistral", dict(num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False,
                                    sliding_window=None), "float32"),
    "qwen2_bias": ("qwen2", dict(num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True), "float32"),
    "qwen3_qknorm": ("qwen3", dict(num_attention_heads=4, num_key_value_heads=2, head_dim=16, tie_word_embeddings=True),
                     "float32"),
    "llama_bf16": ("llama", dict(num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False), "bfloat16"),
    "qwen2_f16": ("qwen2", dict(num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False), "float16"),
}

CLASSES = {
    "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
    "mistral": (transformers.MistralConfig, transformers.MistralForCausalLM),
    "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
    "qwen3": (transformers.Qwen3Config, transformers.Qwen3ForCausalLM),
}


def classic_config(cfg: dict) -> dict:
    """transformers 5 writes rope_parameters; published checkpoints carry rope_theta and
    rope_scaling at top level. Write the classic form (transformers reads both)."""
    rp = cfg.pop("rope_parameters", None)
    if rp:
        cfg["rope_theta"] = rp.get("rope_theta", 10000.0)
        if rp.get("rope_type", "default") != "default":
            cfg["rope_scaling"] = {k: v for k, v in rp.items() if k != "rope_theta"}
    for k in ("transformers_version", "dtype", "torch_dtype"):
        cfg.pop(k, None)
    return cfg


def build(name, arch, kwargs, dtype, out_dir, seed):
    cfg_cls, model_cls = CLASSES[arch]
    kw = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
              max_position_embeddings=256, rms_norm_eps=1e-6, bos_token_id=1, eos_token_id=2)
    kw.update(kwargs)
    scaling = kw.pop("rope_scaling", None)
    theta = kw.pop("rope_theta", 10000.0)
    rope = dict(rope_type="default", rope_theta=theta)
    rope.update(scaling or {})
    try:  # transformers 5: rope_parameters
        config = cfg_cls(**kw, rope_parameters=rope)
    except TypeError:  # transformers 4
        config = cfg_cls(**kw, rope_theta=theta, rope_scaling=scaling)
    torch.manual_seed(seed)
    model = model_cls(config).eval()
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if p.dim() == 1:  # norms (around 1) and biases
                p.copy_((1.0 if "norm" in pname else 0.0) + 0.2 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) * (0.5 if "embed" in pname else 1.0 / p.shape[1] ** 0.5 * 1.5))
    path = os.path.join(out_dir, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    torch_dtype = getattr(torch, dtype)
    state = {k: v.detach().to(torch_dtype).contiguous() for k, v in model.state_dict().items()}
    if config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    save_file(state, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
    cfg = classic_config(config.to_dict())
    cfg["torch_dtype"] = dtype
    cfg["architectures"] = [model_cls.__name__]
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)

    # Reload exactly what was written and compute the reference in float32.
    ref = model_cls.from_pretrained(path, dtype=torch.float32).eval()
    g = torch.Generator().manual_seed(seed + 1)
    prompt = torch.randint(3, VOCAB, (1, PROMPT), generator=g)
    prompt[0, 0] = 1
    assert (ref.config.to_dict().get("rope_parameters") or {}).get("rope_type", "default") == \
        ((scaling or {}).get("rope_type", "default")), "rope scaling lost in the round trip"
    with torch.no_grad():
        logits = ref(prompt).logits[0].float().numpy()
        ids = prompt.clone()
        gen, margins = [], []
        for _ in range(GEN):  # greedy, full recompute each step (no cache subtleties)
            last = ref(ids).logits[0, -1].float()
            top2 = torch.topk(last, 2).values
            margins.append(float(top2[0] - top2[1]))
            nxt = int(torch.argmax(last))
            gen.append(nxt)
            ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
    logits.astype("<f4").tofile(os.path.join(path, "logits.f32"))
    expected = {
        "architecture": arch,
        "storage_dtype": dtype,
        "prompt_ids": prompt[0].tolist(),
        "greedy_ids": gen,
        "min_top2_margin": min(margins),
        "logits_shape": list(logits.shape),
        "tolerance": 1e-4,
        "note": "transformers %s, torch %s, float32 compute (weights stored as %s, upcast)" % (
            transformers.__version__, torch.__version__, dtype),
    }
    with open(os.path.join(path, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    return min(margins)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "engine", "fixtures", "hf"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for i, (name, (arch, kw, dtype)) in enumerate(VARIANTS.items()):
        seed = 1000 + i
        for attempt in range(20):  # pick a seed whose greedy path has clear margins
            margin = build(name, arch, dict(kw), dtype, args.out, seed + 100 * attempt)
            if margin > 2e-3:
                break
        print(f"{name}: min top-2 margin {margin:.4f}")


if __name__ == "__main__":
    main()
