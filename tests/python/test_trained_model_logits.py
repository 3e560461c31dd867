"""longkv's logits on the committed trained model equal the PyTorch training model's.

Loads models/longkv-tiny/model.safetensors into tools/train/model.py (the code that trained
it, in float32), and compares its logits on a retrieval prompt with `longkv run --prompt-ids
... --kv-format f32 --dump-logits` on the Hugging Face folder and on the GGUF written by
`longkv convert`: max |diff| must stay below 1e-4 (the weights are f16 in both, computed in
f32; measured ~8e-6. The default f16 KV cache of an f16 model adds ~2e-3) and the argmax must
agree at every position. Skips (77) without torch or the model.
"""

import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import torch
    from safetensors.torch import load_file
    from tokenizers import Tokenizer
except ImportError:
    sys.exit(77)

SRC = os.environ.get("LONGKV_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("LONGKV_BINARY", "")
MODEL = os.environ.get("LONGKV_TINY_MODEL", os.path.join(SRC, "models", "longkv-tiny"))
sys.path.insert(0, os.path.join(SRC, "tools", "train"))
PROMPT = ("A passkey is hidden somewhere in the long text below. The weaver painted the old "
          "mill. The passkey is 52817. Remember it: 52817 is the passkey. Nobody wrote it down, "
          "yet everyone seemed to know it.\n\nWhat is the passkey hidden in the text above?\n"
          "Answer: The passkey is")
TOL = 1e-4


def main():
    if not BIN or not os.path.exists(os.path.join(MODEL, "model.safetensors")):
        sys.exit(77)
    import model as M  # tools/train/model.py

    hf = json.load(open(os.path.join(MODEL, "config.json")))
    keys = M.Config.__dataclass_fields__.keys()
    cfg = M.Config(**{k: hf[k] for k in keys if k in hf})
    m = M.LlamaLM(cfg).eval()
    sd = {k: v.float() for k, v in load_file(os.path.join(MODEL, "model.safetensors")).items()}
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight"}, (missing, unexpected)
    tok = Tokenizer.from_file(os.path.join(MODEL, "tokenizer.json"))
    ids = [cfg.bos_token_id] + tok.encode(PROMPT, add_special_tokens=False).ids
    with torch.no_grad():
        ref = m(torch.tensor([ids]))[0].float()
    targets = [MODEL] + sorted(os.path.join(MODEL, f) for f in os.listdir(MODEL) if f.endswith(".gguf"))
    with tempfile.TemporaryDirectory() as tmp:
        for t in targets:
            out = os.path.join(tmp, "l.f32")
            r = subprocess.run([BIN, "run", "-m", t, "--prompt-ids", ",".join(map(str, ids)), "-n", "1",
                                "--temp", "0", "-t", "1", "--kv-format", "f32", "--dump-logits", out],
                               capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                raise SystemExit(f"longkv run {t} failed ({r.returncode}): {r.stderr[-1500:]}")
            raw = open(out, "rb").read()
            got = torch.tensor(struct.unpack(f"{len(raw) // 4}f", raw)).view(len(ids), -1)
            assert got.shape == ref.shape, (got.shape, ref.shape)
            diff = (got - ref).abs().max().item()
            agree = (got.argmax(-1) == ref.argmax(-1)).float().mean().item()
            print(f"{os.path.basename(t)}: max |logit diff| {diff:.2e} over {len(ids)} positions, "
                  f"argmax agreement {agree:.3f}")
            if diff > TOL or agree < 1.0:
                raise SystemExit(f"{t}: longkv logits differ from model.py (max {diff}, argmax {agree})")
    print("ok")


if __name__ == "__main__":
    main()
