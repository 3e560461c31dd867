"""longkv runs the committed trained model (models/longkv-tiny) like transformers does.

Greedy continuations of a few prompts from `longkv run --temp 0` (HF folder and GGUF) must
equal transformers' LlamaForCausalLM greedy decoding of the same folder; a divergence is only
accepted at a step where transformers' top-2 logits are within 1e-3 (a genuine tie, where f16
vs f32 rounding may pick either). Skips (77) without torch/transformers or the model files.
"""

import os
import subprocess
import sys

try:
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM
except ImportError:
    sys.exit(77)

SRC = os.environ.get("LONGKV_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("LONGKV_BINARY", "")
MODEL = os.path.join(SRC, "models", "longkv-tiny")
N = 12
PROMPTS = [
    "The value of grooshax is 8812734. Several miners sealed the copper canal. "
    "Look up grooshax.\nReply: The value of grooshax is",
    "A passkey is hidden somewhere in the long text below. The passkey is 52817. "
    "Remember it: 52817 is the passkey. The weaver painted the old mill.\n\n"
    "What is the passkey hidden in the text above?\nAnswer: The passkey is",
    "Return the number of items in the container.",
]


def hf_greedy(model, tok, prompt):
    ids = [tok.bos_token_id] + tok(prompt, add_special_tokens=False)["input_ids"]
    out, gaps = [], []
    x = torch.tensor([ids])
    with torch.no_grad():
        for _ in range(N):
            logits = model(x).logits[0, -1].float()
            top = torch.topk(logits, 2)
            gaps.append((top.values[0] - top.values[1]).item())
            t = top.indices[0].item()
            out.append(t)
            if t == tok.eos_token_id:
                break
            x = torch.cat([x, torch.tensor([[t]])], dim=1)
    return out, gaps


def longkv_text(model_path, prompt):
    r = subprocess.run([BIN, "run", "-m", model_path, "--temp", "0", "-n", str(N), "--no-echo",
                        "-t", "1", "-p", prompt], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise SystemExit(f"longkv run failed ({r.returncode}): {r.stderr[-2000:]}")
    return r.stdout


def main():
    if not BIN or not os.path.exists(os.path.join(MODEL, "model.safetensors")):
        sys.exit(77)
    tok = AutoTokenizer.from_pretrained(MODEL)
    model = LlamaForCausalLM.from_pretrained(MODEL, torch_dtype=torch.float32).eval()
    gguf = [f for f in os.listdir(MODEL) if f.endswith(".gguf")]
    targets = [MODEL] + [os.path.join(MODEL, g) for g in gguf]
    for prompt in PROMPTS:
        toks, gaps = hf_greedy(model, tok, prompt)
        for target in targets:
            got = longkv_text(target, prompt)
            for i in range(len(toks)):
                ref = tok.decode(toks[: i + 1], skip_special_tokens=True)
                if not got.startswith(ref):
                    if gaps[i] < 1e-3:
                        break  # a tie: either token is a correct greedy choice
                    raise SystemExit(
                        f"{os.path.basename(target)}: prompt {prompt[:40]!r}: longkv {got!r} vs "
                        f"transformers {tok.decode(toks)!r} (diverged at token {i}, top-2 gap {gaps[i]:.4f})")
    print(f"ok: {len(PROMPTS)} prompts x {len(targets)} files, {N} greedy tokens")


if __name__ == "__main__":
    main()
