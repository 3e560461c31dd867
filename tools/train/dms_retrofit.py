"""DMS (Dynamic Memory Sparsification) retrofitting of a trained longkv model.

    nice -n 19 python3 tools/train/dms_retrofit.py --base /work/train-runs/tiny-v1/ckpt.pt \
        --tokenizer /work/train-runs/tiny-v1/tokenizer.json --run-dir /work/train-runs/dms-cr8 \
        --form neuron --cr 8 --window 256 --length 1024 --steps 1000 --out models/longkv-tiny-dms8

Follows the DMS paper (Łańcucki et al., "Inference-Time Hyper-Scaling with KV Cache
Compression", 2025) and the conventions of its official implementation:

* a decision logit per token and KV head, either from a repurposed query neuron (--form
  neuron: the last pre-RoPE dimension of the first query head of each KV group; that
  dimension is zeroed before and after RoPE so it no longer takes part in attention) or from a
  separate projection of the layer input (--form proj: RMSNorm + Linear(hidden -> n_kv_heads));
  logit = raw * alpha_scale - initial_alpha_offset; logit > 0 means "evict";
* training: logistic (Gumbel-sigmoid) noise and temperature tau; attention adds the soft gate
  log sigmoid(-logit) to the scores of keys more than `window` positions older than the query
  (delayed eviction), with the decision produced at token t+1 applied to key t; the eviction
  statistic uses the straight-through hard decision;
* loss = forward KL(teacher || student) over all positions (logit distillation from the frozen
  base model) + max(0, target_fraction - evicted_fraction) (one-sided compression loss); the
  target fraction 1 - 1/CR ramps linearly from CR 1 to --cr over --ramp-steps;
* export: an HF folder whose config.json carries the dms_* keys of the official
  implementation (dms_cr, dms_window_size, dms_alpha_scale, dms_initial_alpha_offset, dms_tau,
  dms_separate_alpha, dms_alpha_per, dms_disable_eviction) and, for --form proj, the tensors
  model.layers.N.self_attn.dms_proj_alpha{,_norm}.weight.

Inference semantics (what an engine must do with the export): token t's KV entry is removed
from the cache `window` steps after its decision is known; queries never see keys older than
the window whose (shifted) decision is "evict". `dms_eval` below implements exactly that mask
(hard decisions, no noise) to measure accuracy and the kept fraction in PyTorch.

Resumable like train.py (ckpt.pt in --run-dir; rerun the same command).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

import corpus  # noqa: E402
import data  # noqa: E402
import evalmirror  # noqa: E402
import model as M  # noqa: E402

MASK = -1e9


class DMSLlama(nn.Module):
    """A LlamaLM plus DMS decision heads; forward(ids, mode) with mode in
    'teacher' (plain attention), 'train' (noisy soft gate) or 'eval' (hard eviction)."""

    def __init__(self, base: M.LlamaLM, form: str, alpha_scale: float, alpha_offset: float,
                 tau: float, window: int):
        super().__init__()
        self.lm = base
        self.cfg = base.cfg
        self.form, self.alpha_scale, self.alpha_offset = form, alpha_scale, alpha_offset
        self.tau, self.window = tau, window
        c = self.cfg
        if form == "neuron":
            # Start at "keep everything": the repurposed channel's q_proj row is zeroed, so its
            # logit begins at -alpha_offset for every token. Without this the base model's own
            # values of that channel (|q| > offset/scale for ~40% of tokens here) evicted 43%
            # of the keys at step 0 and the distillation started from a broken model.
            g = c.num_attention_heads // c.num_key_value_heads
            with torch.no_grad():
                for layer in base.model.layers:
                    w = layer.self_attn.q_proj.weight.view(c.num_attention_heads, c.head_dim, -1)
                    w[::g, -1, :] = 0
        if form == "proj":
            for layer in base.model.layers:
                layer.self_attn.dms_proj_alpha_norm = M.RMSNorm(c.hidden_size, c.rms_norm_eps)
                layer.self_attn.dms_proj_alpha = nn.Linear(c.hidden_size, c.num_key_value_heads, bias=False)
                nn.init.zeros_(layer.self_attn.dms_proj_alpha.weight)  # start at "keep everything"

    def _attention(self, attn, x_in, xn, cos, sin, mode, noise, stats):
        c = self.cfg
        B, T, _ = xn.shape
        H, Hkv, D = c.num_attention_heads, c.num_key_value_heads, c.head_dim
        g = H // Hkv
        q = attn.q_proj(xn).view(B, T, H, D).transpose(1, 2)
        k = attn.k_proj(xn).view(B, T, Hkv, D).transpose(1, 2)
        v = attn.v_proj(xn).view(B, T, Hkv, D).transpose(1, 2)
        logit = None
        if mode != "teacher":
            if self.form == "neuron":
                logit = q[:, ::g, :, -1] * self.alpha_scale - self.alpha_offset  # [B, Hkv, T]
                keep = torch.ones(H, D, dtype=q.dtype, device=q.device)
                keep[::g, -1] = 0
                q = q * keep[None, :, None, :]
            else:
                logit = attn.dms_proj_alpha(attn.dms_proj_alpha_norm(x_in)) * self.alpha_scale - self.alpha_offset
                logit = logit.transpose(1, 2)  # [B, Hkv, T]
        q, k = M.apply_rope(q, cos, sin), M.apply_rope(k, cos, sin)
        if self.form == "neuron" and mode != "teacher":
            q = q * keep[None, :, None, :]
        k = k.repeat_interleave(g, dim=1)
        v = v.repeat_interleave(g, dim=1)
        if mode == "teacher":
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            pos = torch.arange(T, device=xn.device)
            causal = pos[None, :] <= pos[:, None]                      # [Tq, Tk]
            old = (pos[:, None] - pos[None, :]) > self.window           # outside the window
            if mode == "train":
                gl = (logit + noise) / self.tau
                probs = torch.sigmoid(gl)
                hard = (probs > 0.5).to(probs.dtype) - probs.detach() + probs
                stats.append(hard)
                gate = F.logsigmoid(-gl)                                # log P(keep)
            else:
                hard = (logit > 0).to(q.dtype)
                stats.append(hard)
                gate = torch.where(logit > 0, torch.full_like(logit, MASK), torch.zeros_like(logit))
            # The decision made at token t+1 applies to key t (last key: never outside window).
            gate = F.pad(gate[..., 1:], (0, 1), value=0.0)             # [B, Hkv, Tk]
            bias = torch.where(old[None, None], gate[:, :, None, :], torch.zeros((), device=xn.device))
            bias = bias.masked_fill(~causal[None, None], MASK)          # [B, Hkv, Tq, Tk]
            bias = bias.repeat_interleave(g, dim=1).to(q.dtype)
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return attn.o_proj(o.transpose(1, 2).reshape(B, T, -1))

    def forward(self, ids, mode="eval", noise=None):
        lm = self.lm
        T = ids.shape[1]
        x = lm.model.embed_tokens(ids)
        cos, sin = M.rope_cos_sin(self.cfg, torch.arange(T, device=ids.device), x.dtype)
        stats = []
        for li, layer in enumerate(lm.model.layers):
            xn = layer.input_layernorm(x)
            x = x + self._attention(layer.self_attn, x, xn, cos, sin, mode,
                                    None if noise is None else noise[li], stats)
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        logits = lm.lm_head(lm.model.norm(x)).float()
        return logits, stats


def logistic_noise(shape, gen, device):
    u = torch.rand(shape, generator=gen).clamp(1e-6, 1 - 1e-6)
    return (torch.log(u) - torch.log1p(-u)).to(device)


def kept_fraction(stats, T, window):
    """Fraction of KV entries still cached after T tokens with hard decisions: a key is gone
    when its shifted decision says evict and it is older than the window."""
    kept = []
    pos = torch.arange(T)
    for hard in stats:  # [B, Hkv, T]
        d = F.pad(hard[..., 1:], (0, 1), value=0.0).cpu() > 0.5
        gone = d & ((T - 1 - pos) > window)[None, None]
        kept.append(1.0 - gone.float().mean().item())
    return sum(kept) / len(kept)


def load_base(path: str) -> M.LlamaLM:
    if os.path.isdir(path):
        from safetensors.torch import load_file
        cfgd = json.load(open(os.path.join(path, "config.json")))
        fields = M.Config.__dataclass_fields__
        cfg = M.Config(**{k: v for k, v in cfgd.items() if k in fields})
        m = M.LlamaLM(cfg)
        sd = {k: v.float() for k, v in load_file(os.path.join(path, "model.safetensors")).items()}
        m.load_state_dict(sd, strict=False)
        return m
    ck = torch.load(path, map_location="cpu")
    m = M.LlamaLM(M.Config(**ck["config"]))
    m.load_state_dict(ck["model"])
    return m


@torch.no_grad()
def dms_eval(student, tok, length, n, device):
    """Held-out passkey / niah_single accuracy with hard DMS eviction, and the kept fraction."""
    student.eval()
    bos = tok.token_to_id("<|bos|>")
    res, kept = {}, []
    for task in ("passkey", "niah_single"):
        ok = 0
        for i in range(n):
            prompt, ans = evalmirror.encode_item(tok, bos, task, length, i, seed=7)
            ids = torch.tensor([prompt + ans], device=device)
            logits, stats = student(ids, "eval")
            pred = logits[0, len(prompt) - 1: len(prompt) - 1 + len(ans)].argmax(-1).tolist()
            ok += int(pred == ans)
            kept.append(kept_fraction([s[..., : len(prompt)] for s in stats], len(prompt), student.window))
        res[f"{task}@{length}"] = ok / n
    res["kept_fraction"] = sum(kept) / len(kept)
    student.train()
    return res


def export(student, tok_dir, out, a, step):
    import shutil

    from safetensors.torch import save_file
    os.makedirs(out, exist_ok=True)
    sd = {k[len("lm."):]: v.to(torch.float16).contiguous() for k, v in student.state_dict().items()
          if k != "lm.lm_head.weight"}
    save_file(sd, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    cfg = M.hf_config(student.cfg)
    cfg["torch_dtype"] = "float16"
    cfg["architectures"] = ["LlamaForCausalLMDMS"]
    cfg.update({
        "dms_cr": a.cr,
        "dms_window_size": a.window,
        "dms_alpha_scale": a.alpha_scale,
        "dms_initial_alpha_offset": a.alpha_offset,
        "dms_tau": a.tau,
        "dms_separate_alpha": a.form == "proj",
        "dms_alpha_per": "head",
        "dms_disable_eviction": False,
        "dms_retrofit_steps": step,
    })
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(tok_dir, f), os.path.join(out, f))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="train.py ckpt.pt or an exported HF folder")
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--out", default="", help="export folder (written at the end)")
    ap.add_argument("--form", choices=["neuron", "proj"], default="neuron")
    ap.add_argument("--cr", type=float, default=8.0, help="target compression ratio (4 or 8)")
    ap.add_argument("--window", type=int, default=256)
    ap.add_argument("--alpha-scale", type=float, default=100.0)
    ap.add_argument("--alpha-offset", type=float, default=5.0)
    ap.add_argument("--tau", type=float, default=0.1)
    ap.add_argument("--length", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--ramp-steps", type=int, default=0, help="CR ramp length (default: 80%% of --steps)")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--seed", type=int, default=4321)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--corpus", default="",
                    help="corpus snapshot from `corpus.py --snapshot` (default: this machine's files)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ckpt-every", type=int, default=25)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-n", type=int, default=10)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.run_dir, exist_ok=True)
    dev = a.device
    ramp = a.ramp_steps or max(1, int(0.8 * a.steps))

    tok = Tokenizer.from_file(a.tokenizer)
    teacher = load_base(a.base).to(dev).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    student = DMSLlama(load_base(a.base), a.form, a.alpha_scale, a.alpha_offset, a.tau, a.window).to(dev)
    opt = torch.optim.AdamW(student.parameters(), lr=a.lr, betas=(0.9, 0.95), weight_decay=0.0)
    step, elapsed = 0, 0.0
    ck_path = os.path.join(a.run_dir, "ckpt.pt")
    if os.path.exists(ck_path):
        ck = torch.load(ck_path, map_location=dev)
        student.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, elapsed = ck["step"], ck["elapsed_s"]
        print(f"resumed at step {step}", flush=True)
    docs = corpus.documents(a.corpus)
    sampler = data.Sampler(tok, corpus.sentences(docs), docs)
    c = student.cfg
    log_path = os.path.join(a.run_dir, "log.jsonl")

    def log(r):
        with open(log_path, "a") as f:
            f.write(json.dumps(r) + "\n")
        print(json.dumps(r), flush=True)

    if step == 0:
        log({"step": 0, "eval": dms_eval(student, tok, a.length, a.eval_n, dev)})
    student.train()
    while step < a.steps:
        cr = 1.0 + (a.cr - 1.0) * min(1.0, step / ramp)
        target = 1.0 - 1.0 / cr
        for gr in opt.param_groups:
            gr["lr"] = a.lr * min(1.0, (step + 1) / 20)
        t0 = time.time()
        ids = torch.full((a.batch, a.length), c.pad_token_id, dtype=torch.long)
        valid = torch.zeros((a.batch, a.length), dtype=torch.bool)
        for j in range(a.batch):
            s = sampler.sample(data.rng_for(a.seed, step, j), a.length)
            ids[j, : len(s.ids)] = torch.tensor(s.ids)
            valid[j, : len(s.ids)] = True
        ids, valid = ids.to(dev), valid.to(dev)
        gen = torch.Generator().manual_seed(a.seed * 1000003 + step)
        noise = logistic_noise((c.num_hidden_layers, a.batch, c.num_key_value_heads, a.length), gen, dev)
        with torch.no_grad():
            t_logits = teacher(ids)
        s_logits, stats = student(ids, "train", noise)
        t_logp = F.log_softmax(t_logits, -1)
        s_logp = F.log_softmax(s_logits, -1)
        kl = (t_logp.exp() * (t_logp - s_logp)).sum(-1)
        distil = (kl * valid).sum() / valid.sum()
        # Evicted fraction per sequence (valid positions), averaged over layers and KV heads.
        vm = valid[:, None, :].float()
        frac = torch.stack([(h * vm).sum((1, 2)) / (vm.sum((1, 2)) * c.num_key_value_heads) for h in stats]).mean(0)
        comp = torch.clamp(target - frac, min=0.0).mean()
        loss = distil + comp
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        dt = time.time() - t0
        elapsed += dt
        step += 1
        if step % 5 == 0 or step == 1:
            log({"step": step, "distil": round(distil.item(), 4), "comp": round(comp.item(), 4),
                 "evicted": round(frac.mean().item(), 3), "target": round(target, 3),
                 "s_per_step": round(dt, 2), "elapsed_s": round(elapsed)})
        if step % a.eval_every == 0 or step == a.steps:
            log({"step": step, "eval": dms_eval(student, tok, a.length, a.eval_n, dev)})
        if step % a.ckpt_every == 0 or step == a.steps:
            tmp = ck_path + ".tmp"
            torch.save({"model": student.state_dict(), "opt": opt.state_dict(), "step": step,
                        "elapsed_s": elapsed, "args": vars(a)}, tmp)
            os.replace(tmp, ck_path)
    if a.out:
        export(student, os.path.dirname(os.path.abspath(a.tokenizer)), a.out, a, step)
        print(f"exported {a.out} at step {step}", flush=True)


if __name__ == "__main__":
    main()
