"""Exports a training checkpoint as an HF folder and a GGUF file, and checks the HF export.

    python3 tools/train/export.py --ckpt /work/train-runs/tiny-v1/ckpt.pt \
        --tokenizer-dir /work/train-runs/tiny-v1 --out models/longkv-tiny

Writes into --out: model.safetensors (f16) + config.json (LlamaForCausalLM) +
generation_config.json + tokenizer.json + tokenizer_config.json, and longkv-tiny-f16.gguf.

GGUF: main has no GGUF-writing CLI (src/model/gguf_writer.h has no command in front of it
yet), so this uses the `gguf` Python package as a stop-gap, in llama.cpp's llama-arch
conventions: blk.N.* tensor names, Q/K rows permuted to adjacent-pair RoPE order (see
src/model/qk_permute.h), tied embeddings (no output.weight), a gpt2/llama-bpe tokenizer.

Check: transformers' LlamaForCausalLM loaded from the folder must give the same logits as
tools/train/model.py with the same (f16-rounded) weights, on a fixed prompt (max |diff|
printed, non-zero exit above --tol).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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


def write_gguf(m: M.LlamaLM, tok_dir: str, path: str, name: str) -> None:
    import gguf

    c = m.cfg
    w = gguf.GGUFWriter(path, "llama")
    w.add_name(name)
    w.add_context_length(c.max_position_embeddings)
    w.add_embedding_length(c.hidden_size)
    w.add_block_count(c.num_hidden_layers)
    w.add_feed_forward_length(c.intermediate_size)
    w.add_head_count(c.num_attention_heads)
    w.add_head_count_kv(c.num_key_value_heads)
    w.add_layer_norm_rms_eps(c.rms_norm_eps)
    w.add_rope_freq_base(c.rope_theta)
    w.add_rope_dimension_count(c.head_dim)
    w.add_key_length(c.head_dim)
    w.add_value_length(c.head_dim)
    w.add_vocab_size(c.vocab_size)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)

    tj = json.load(open(os.path.join(tok_dir, "tokenizer.json")))
    vocab = tj["model"]["vocab"]
    tokens = [None] * len(vocab)
    for piece, i in vocab.items():
        tokens[i] = piece
    types = [gguf.TokenType.NORMAL] * len(tokens)
    for at in tj.get("added_tokens", []):
        tokens[at["id"]] = at["content"]
        types[at["id"]] = gguf.TokenType.CONTROL
    merges = [mg if isinstance(mg, str) else " ".join(mg) for mg in tj["model"]["merges"]]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("llama-bpe")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(c.bos_token_id)
    w.add_eos_token_id(c.eos_token_id)
    w.add_pad_token_id(c.pad_token_id)
    w.add_add_bos_token(True)

    sd = {k: v.float().numpy() for k, v in m.state_dict().items()}
    names = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm",
             "post_attention_layernorm": "ffn_norm"}
    w.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"].astype(np.float16))
    for i in range(c.num_hidden_layers):
        for hf, gg in names.items():
            t = sd[f"model.layers.{i}.{hf}.weight"]
            if gg in ("attn_q", "attn_k"):
                t = permute_qk(t, c.head_dim)
            # Norm weights stay f32 (as llama.cpp does); matrices f16.
            t = t.astype(np.float32 if t.ndim == 1 else np.float16)
            w.add_tensor(f"blk.{i}.{gg}.weight", t)
    w.add_tensor("output_norm.weight", sd["model.norm.weight"].astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


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
        write_gguf(m, a.out, os.path.join(a.out, f"{a.name}-f16.gguf"), a.name)
    check_hf(m, a.out, os.path.join(a.out, "tokenizer.json"), a.tol)
    print(f"exported step {ck['step']} -> {a.out}")


if __name__ == "__main__":
    main()
