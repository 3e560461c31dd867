"""Exports a training checkpoint as an HF folder and a GGUF file, and checks the HF export.

    python3 tools/train/export.py --ckpt /work/train-runs/tiny-v1/ckpt.pt \
        --tokenizer-dir /work/train-runs/tiny-v1 --out models/longkv-tiny

Writes into --out: model.safetensors (f16) + config.json (LlamaForCausalLM) +
generation_config.json + tokenizer.json + tokenizer_config.json, and longkv-tiny-f16.gguf.

GGUF: written by longkv's own writer, `longkv convert` (src/model/hf_to_gguf.h), from the
HF folder; the `gguf` Python package (llama.cpp's reader) then verifies it independently:
metadata, every tensor (blk.N.* names, Q/K rows permuted to adjacent-pair RoPE order, f16
values), the vocabulary.

Check: transformers' LlamaForCausalLM loaded from the folder must give the same logits as
tools/train/model.py with the same (f16-rounded) weights, on a fixed prompt (max |diff|
printed, non-zero exit above --tol).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

import model as M  # noqa: E402


def load(ckpt_path: str) -> M.LlamaLM:
    ck = torch.load(ckpt_path, map_location="cpu")
    cfg = M.Config(**ck["config"])
    m = M.LlamaLM(cfg)
    m.load_state_dict(ck["model"])
    return m.eval(), ck


def rounded(m: M.LlamaLM, dtype) -> M.LlamaLM:
    """The model with weights rounded to `dtype` and computed in f32 (the exported model)."""
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(p.to(dtype).float())
    return m


def write_hf(m: M.LlamaLM, out: str, dtype, extra_config: dict | None = None) -> None:
    sd = {k: v.to(dtype).contiguous() for k, v in m.state_dict().items() if k != "lm_head.weight"}
    save_file(sd, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    cfg = M.hf_config(m.cfg)
    cfg["torch_dtype"] = {torch.float16: "float16", torch.bfloat16: "bfloat16", torch.float32: "float32"}[dtype]
    if extra_config:
        cfg.update(extra_config)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": m.cfg.bos_token_id, "eos_token_id": m.cfg.eos_token_id,
                   "pad_token_id": m.cfg.pad_token_id, "do_sample": False}, f, indent=2)
        f.write("\n")


def permute_qk(w: np.ndarray, head_dim: int) -> np.ndarray:
    """HF rotate-half row order -> GGUF adjacent-pair order, per head."""
    rows, cols = w.shape
    n = rows // head_dim
    return w.reshape(n, 2, head_dim // 2, cols).swapaxes(1, 2).reshape(rows, cols)


def longkv_binary(explicit: str | None) -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (explicit, os.environ.get("LONGKV_BINARY"),
                 os.path.join(here, "..", "..", "build", "longkv")):
        if cand and os.path.exists(cand):
            return cand
    raise SystemExit("longkv binary not found: build it (cmake --build build) or pass --longkv")


def convert_gguf(binary: str, hf_dir: str, path: str, name: str) -> None:
    """GGUF from the HF folder with longkv's own writer (`longkv convert`)."""
    r = subprocess.run([binary, "convert", "--in", hf_dir, "--out", path, "--dtype", "f16",
                        "--name", name], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"longkv convert failed ({r.returncode}): {r.stderr.strip()}")
    print(r.stdout.strip())


def verify_gguf(m: M.LlamaLM, tok_dir: str, path: str) -> None:
    """Independent check of longkv's GGUF with the `gguf` package (llama.cpp's reader):
    hyper-parameters, every tensor (names, shapes, f16 values, Q/K permutation) and the
    vocabulary must be what llama.cpp's own converter would have written."""
    import gguf

    c = m.cfg
    r = gguf.GGUFReader(path)

    def field(key):
        f = r.fields[key]
        v = f.parts[f.data[0]]
        return bytes(v).decode() if f.types[0] == gguf.GGUFValueType.STRING else v.tolist()[0]

    want = {"general.architecture": "llama", "llama.block_count": c.num_hidden_layers,
            "llama.embedding_length": c.hidden_size, "llama.feed_forward_length": c.intermediate_size,
            "llama.attention.head_count": c.num_attention_heads,
            "llama.attention.head_count_kv": c.num_key_value_heads,
            "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "llama-bpe",
            "tokenizer.ggml.bos_token_id": c.bos_token_id, "tokenizer.ggml.eos_token_id": c.eos_token_id}
    for k, v in want.items():
        if field(k) != v:
            raise SystemExit(f"gguf verify: {k} = {field(k)!r}, expected {v!r}")
    if abs(field("llama.rope.freq_base") - c.rope_theta) > 1e-3 * c.rope_theta:
        raise SystemExit(f"gguf verify: rope.freq_base {field('llama.rope.freq_base')} != {c.rope_theta}")
    tj = json.load(open(os.path.join(tok_dir, "tokenizer.json")))
    tf = r.fields["tokenizer.ggml.tokens"]
    tokens = [bytes(tf.parts[i]).decode() for i in tf.data]
    for piece, i in tj["model"]["vocab"].items():
        if tokens[i] != piece:
            raise SystemExit(f"gguf verify: token {i} is {tokens[i]!r}, tokenizer.json has {piece!r}")
    sd = {k: v.float().numpy() for k, v in m.state_dict().items()}
    names = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm",
             "post_attention_layernorm": "ffn_norm"}
    expect = {"token_embd.weight": sd["model.embed_tokens.weight"],
              "output_norm.weight": sd["model.norm.weight"]}
    for i in range(c.num_hidden_layers):
        for hf, gg in names.items():
            t = sd[f"model.layers.{i}.{hf}.weight"]
            expect[f"blk.{i}.{gg}.weight"] = permute_qk(t, c.head_dim) if gg in ("attn_q", "attn_k") else t
    got = {t.name: t for t in r.tensors}
    if set(got) != set(expect):
        raise SystemExit(f"gguf verify: tensors differ: extra {sorted(set(got) - set(expect))}, "
                         f"missing {sorted(set(expect) - set(got))}")
    for name, e in expect.items():
        t = got[name]
        a = np.asarray(t.data, dtype=np.float32).reshape(e.shape)
        if not np.array_equal(a, e):
            raise SystemExit(f"gguf verify: {name} differs (max {np.abs(a - e).max()})")
    print(f"gguf verify (gguf package): {len(expect)} tensors, {len(tokens)} tokens, metadata ok")


def check_hf(m: M.LlamaLM, out: str, tok_path: str, tol: float) -> float:
    from tokenizers import Tokenizer
    from transformers import LlamaForCausalLM

    tok = Tokenizer.from_file(tok_path)
    text = ("The value of grooshax is 8812734. Several miners sealed the copper canal. "
            "Look up grooshax.\nReply: The value of grooshax is")
    ids = torch.tensor([[m.cfg.bos_token_id] + tok.encode(text, add_special_tokens=False).ids])
    hf = LlamaForCausalLM.from_pretrained(out, torch_dtype=torch.float32).eval()
    with torch.no_grad():
        a = m(ids)
        b = hf(ids).logits.float()
    diff = (a - b).abs().max().item()
    print(f"transformers vs model.py: max |logit diff| = {diff:.3g} over {ids.shape[1]} tokens "
          f"(greedy next: {tok.decode([a[0, -1].argmax().item()])!r})")
    if diff > tol:
        raise SystemExit(f"export check failed: {diff} > {tol}")
    return diff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--tokenizer-dir", required=True, help="folder with tokenizer.json + tokenizer_config.json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="longkv-tiny")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--no-gguf", action="store_true")
    ap.add_argument("--longkv", help="longkv binary (default: $LONGKV_BINARY, then build/longkv)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    m, ck = load(a.ckpt)
    m = rounded(m, torch.float16)
    os.makedirs(a.out, exist_ok=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        src = os.path.join(a.tokenizer_dir, f)
        if os.path.abspath(src) != os.path.abspath(os.path.join(a.out, f)):
            shutil.copyfile(src, os.path.join(a.out, f))
    write_hf(m, a.out, torch.float16)
    if not a.no_gguf:
        path = os.path.join(a.out, f"{a.name}-f16.gguf")
        convert_gguf(longkv_binary(a.longkv), a.out, path, a.name)
        verify_gguf(m, a.out, path)
    check_hf(m, a.out, os.path.join(a.out, "tokenizer.json"), a.tol)
    print(f"exported step {ck['step']} -> {a.out}")


if __name__ == "__main__":
    main()
