#!/usr/bin/env python3
"""Live cross-check against Hugging Face transformers (skips with 77 when torch/transformers
are not importable): builds fresh random tiny checkpoints (llama with GQA + llama3 rope
scaling, qwen2 with biases, qwen3 with q/k norm, MQA untied), runs them in float32 with
transformers and with `longkv run --prompt-ids ... --dump-logits`, and requires the prompt
logits within 1e-4 and identical 24-token greedy continuations."""
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import transformers
    from safetensors.torch import save_file
except Exception as e:  # noqa: BLE001
    print(f"skip: {e}")
    sys.exit(77)

BIN = os.environ.get("LONGKV_BINARY", "build/longkv")
VOCAB, PROMPT, GEN = 96, 10, 24

CASES = [
    ("llama", transformers.LlamaConfig, transformers.LlamaForCausalLM,
     dict(num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True),
     {"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
      "original_max_position_embeddings": 8}),
    ("qwen2", transformers.Qwen2Config, transformers.Qwen2ForCausalLM,
     dict(num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False), None),
    ("qwen3", transformers.Qwen3Config, transformers.Qwen3ForCausalLM,
     dict(num_attention_heads=4, num_key_value_heads=1, head_dim=16, tie_word_embeddings=True), None),
    ("llama", transformers.LlamaConfig, transformers.LlamaForCausalLM,
     dict(num_attention_heads=4, num_key_value_heads=1, tie_word_embeddings=False), None),
]


def make(tmp, i, arch, cfg_cls, model_cls, kw, scaling):
    base = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                max_position_embeddings=128, rms_norm_eps=1e-6)
    base.update(kw)
    rope = dict(rope_type="default", rope_theta=10000.0)
    rope.update(scaling or {})
    try:
        config = cfg_cls(**base, rope_parameters=rope)
    except TypeError:
        config = cfg_cls(**base, rope_theta=10000.0, rope_scaling=scaling)
    torch.manual_seed(100 + i)
    model = model_cls(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_((1.0 if "norm" in name else 0.0) + 0.2 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) * (0.5 if "embed" in name else 1.5 / p.shape[1] ** 0.5))
    path = os.path.join(tmp, f"m{i}")
    model.save_pretrained(path)
    # transformers 5 writes "rope_parameters"; published checkpoints (and longkv's config
    # reader) use top-level rope_theta / rope_scaling, which transformers also reads.
    cfg_path = os.path.join(path, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    rp = cfg.pop("rope_parameters", None)
    if rp:
        cfg["rope_theta"] = rp.get("rope_theta", 10000.0)
        if rp.get("rope_type", "default") != "default":
            cfg["rope_scaling"] = {k: v for k, v in rp.items() if k != "rope_theta"}
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    model = model_cls.from_pretrained(path, dtype=torch.float32).eval()  # what longkv reads
    return model, path


def main():
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(CASES):
            model, path = make(tmp, i, *case)
            g = torch.Generator().manual_seed(i)
            prompt = torch.randint(3, VOCAB, (1, PROMPT), generator=g)
            with torch.no_grad():
                want = model(prompt).logits[0].numpy()
                ids, greedy = prompt, []
                for _ in range(GEN):  # plain greedy (no EOS handling, no cache subtleties)
                    nxt = int(torch.argmax(model(ids).logits[0, -1]))
                    greedy.append(nxt)
                    ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
            logits_file = os.path.join(tmp, f"l{i}.f32")
            r = subprocess.run([BIN, "run", "-m", path, "--prompt-ids", ",".join(map(str, prompt[0].tolist())),
                                "-n", str(GEN), "--temp", "0", "--kv-format", "f32", "--dump-logits", logits_file],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(f"case {i} ({case[0]}): longkv failed: {r.stderr}")
                failures += 1
                continue
            got_ids = [int(x) for x in r.stdout.split()]
            got = np.fromfile(logits_file, dtype="<f4").reshape(PROMPT, VOCAB)
            err = float(np.abs(got - want).max())
            ok = err < 1e-4 and got_ids == greedy
            print(f"case {i} ({case[0]}): max |logit diff| {err:.2e}, greedy {'same' if got_ids == greedy else 'DIFFERENT'}")
            if not ok:
                print(f"  want {greedy}\n  got  {got_ids}")
                failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
