#!/usr/bin/env python3
"""`longkv synth` output checked with the reference libraries.

For tiny llama (with and without llama3 RoPE scaling), qwen2 and qwen3 configs, writes a HF
folder and a GGUF of the same seed and checks that
  - HF `tokenizers` and `transformers` load the folder (tokenizer, chat template, model) and
    the model's logits are finite and O(1);
  - the GGUF (read by the `gguf` package) holds the same tensors as the safetensors, with
    llama-arch Q/K rows permuted exactly as llama.cpp's converter permutes them;
  - the GGUF vocabulary and merges equal tokenizer.json's;
  - transformers loading the GGUF itself (it reverses llama.cpp's conventions) gives the same
    logits as the HF folder (needs `accelerate`; skipped visibly otherwise);
  - the same seed gives byte-identical files, another seed different weights.
Exit 77 (skip) when a required package is missing.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import warnings

try:
    import numpy as np
    import gguf
    import torch
    import transformers
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

warnings.simplefilter("ignore")
transformers.logging.set_verbosity_error()
BIN = os.environ.get("LONGKV_BINARY", "build/longkv")
SRC = os.environ.get("LONGKV_SOURCE_DIR", ".")
CONFIGS = os.path.join(SRC, "tests", "model", "fixtures", "hf_configs")
TEXT = "The little girl walked along the river, counting 12345 boats!  Hello world."


def synth(like, out, seed=5, dtype="f32"):
    subprocess.run([BIN, "synth", "--like", like, "--dtype", dtype, "--seed", str(seed), "--out",
                    out], check=True, capture_output=True)


def permute(w, n_head):
    """llama.cpp convert_hf_to_gguf's Q/K row permutation (per head: rotate-half -> pairs)."""
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


GGUF_NAMES = {"input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight",
              "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
              "self_attn.o_proj.weight": "attn_output.weight", "self_attn.q_proj.bias": "attn_q.bias",
              "self_attn.k_proj.bias": "attn_k.bias", "self_attn.v_proj.bias": "attn_v.bias",
              "self_attn.q_norm.weight": "attn_q_norm.weight", "self_attn.k_norm.weight": "attn_k_norm.weight",
              "post_attention_layernorm.weight": "ffn_norm.weight", "mlp.gate_proj.weight": "ffn_gate.weight",
              "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight"}


def gguf_name(hf):
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    parts = hf.split(".")
    return f"blk.{parts[2]}." + GGUF_NAMES[".".join(parts[3:])]


def check_model(name, cfg_path, tmp, have_accelerate):
    cfg = json.load(open(cfg_path))
    hf_dir, gg = os.path.join(tmp, name + "-hf"), os.path.join(tmp, name + ".gguf")
    synth(cfg_path, hf_dir)
    synth(cfg_path, gg)

    tok = Tokenizer.from_file(os.path.join(hf_dir, "tokenizer.json"))
    enc = tok.encode(TEXT)
    assert tok.decode(enc.ids, skip_special_tokens=True) == TEXT, "tokenizer round trip"
    at = transformers.AutoTokenizer.from_pretrained(hf_dir)
    chat = at.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False,
                                  add_generation_prompt=True)
    assert ("<|start_header_id|>" in chat) or ("<|im_start|>" in chat), chat
    model = transformers.AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32)
    ids = torch.tensor([at(TEXT)["input_ids"]])
    with torch.no_grad():
        logits = model(ids).logits
    std = float(logits.std())
    assert torch.isfinite(logits).all() and 0.1 < std < 10, f"logits std {std}"

    # Same tensors in both files.
    st = load_file(os.path.join(hf_dir, "model.safetensors"))
    reader = gguf.GGUFReader(gg)
    gt = {t.name: np.asarray(t.data) for t in reader.tensors}
    head_dim = cfg.get("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
    permuted = cfg["model_type"] in ("llama", "mistral")
    for hf_name, w in st.items():
        g = gt[gguf_name(hf_name)].reshape(w.shape)
        if permuted and hf_name.endswith(("q_proj.weight", "k_proj.weight")):
            w = permute(w, w.shape[0] // head_dim)
        assert np.array_equal(g.view(np.uint32), w.view(np.uint32)), hf_name
    assert ("rope_freqs.weight" in gt) == ("rope_scaling" in cfg)

    # Same vocabulary.
    tj = json.load(open(os.path.join(hf_dir, "tokenizer.json")))
    fields = reader.fields
    toks = [bytes(fields["tokenizer.ggml.tokens"].parts[i]).decode()
            for i in fields["tokenizer.ggml.tokens"].data]
    merges = [bytes(fields["tokenizer.ggml.merges"].parts[i]).decode()
              for i in fields["tokenizer.ggml.merges"].data]
    vocab = dict(tj["model"]["vocab"])
    vocab.update({a["content"]: a["id"] for a in tj["added_tokens"]})
    assert [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])] == toks
    assert merges == tj["model"]["merges"]

    line = f"{name}: transformers loads it (logits std {std:.2f}), {len(st)} tensors identical in GGUF"
    if have_accelerate and "rope_scaling" not in cfg and cfg["model_type"] != "qwen3":
        # transformers' GGUF import reads neither rope_freqs nor attention.key_length, hence
        # only configs without llama3 scaling and with head_dim == hidden / heads.
        mg = transformers.AutoModelForCausalLM.from_pretrained(tmp, gguf_file=os.path.basename(gg),
                                                               dtype=torch.float32)
        with torch.no_grad():
            diff = float((mg(ids).logits - logits).abs().max())
        assert diff == 0.0, f"GGUF via transformers differs by {diff}"
        tg = transformers.AutoTokenizer.from_pretrained(tmp, gguf_file=os.path.basename(gg))
        assert tg(TEXT)["input_ids"] == at(TEXT)["input_ids"]
        line += "; transformers' own GGUF import gives identical logits and tokens"
    print(line)


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def main():
    try:
        import accelerate  # noqa: F401
        have_accelerate = True
    except ImportError:
        have_accelerate = False
        print("note: accelerate missing: transformers' GGUF import comparison skipped")
    with tempfile.TemporaryDirectory() as tmp:
        plain = json.load(open(os.path.join(CONFIGS, "tiny-llama3.json")))
        del plain["rope_scaling"]
        plain_path = os.path.join(tmp, "tiny-llama.json")
        json.dump(plain, open(plain_path, "w"))
        for name, path in [("tiny-llama", plain_path),
                           ("tiny-llama3", os.path.join(CONFIGS, "tiny-llama3.json")),
                           ("tiny-qwen2", os.path.join(CONFIGS, "tiny-qwen2.json")),
                           ("tiny-qwen3", os.path.join(CONFIGS, "tiny-qwen3.json"))]:
            check_model(name, path, tmp, have_accelerate)
        a, b, c = (os.path.join(tmp, x) for x in ("a.gguf", "b.gguf", "c.gguf"))
        cfg = os.path.join(CONFIGS, "tiny-k256.json")
        synth(cfg, a, seed=9, dtype="q4_k")
        synth(cfg, b, seed=9, dtype="q4_k")
        synth(cfg, c, seed=10, dtype="q4_k")
        assert sha(a) == sha(b), "same seed must give identical files"
        assert sha(a) != sha(c), "another seed must give other weights"
        print("determinism: same seed identical, other seed different")
    return 0


if __name__ == "__main__":
    sys.exit(main())
