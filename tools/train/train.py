"""Trains the longkv test model (see docs/model.md for the recipe and how to resume).

    nice -n 19 python3 tools/train/train.py --run-dir /work/train-runs/tiny \
        --tokenizer models/longkv-tiny/tokenizer.json --device cpu --threads 2

Resumable: every --ckpt-every steps the run directory gets ckpt.pt (model, optimizer, step,
arguments); data is a pure function of (seed, step, sequence index), so resuming replays
exactly the sequences a run without interruption would have seen. Rerunning the same command
continues from ckpt.pt. Progress is appended to log.jsonl in the run directory.
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
import torch.nn.functional as F  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

import corpus  # noqa: E402
import data  # noqa: E402
import evalmirror  # noqa: E402
import model as M  # noqa: E402


def parse_curriculum(s: str) -> list[tuple[int, int]]:
    """'256:1500,512:1000,...' -> [(length, steps)]"""
    out = []
    for part in s.split(","):
        L, n = part.split(":")
        out.append((int(L), int(n)))
    return out


def stage_at(cur, step):
    """(length, index of stage) for a step; past the end, the last stage continues."""
    acc = 0
    for i, (L, n) in enumerate(cur):
        acc += n
        if step < acc:
            return L, i
    return cur[-1][0], len(cur) - 1


def lr_at(a, step, total):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    p = min(1.0, (step - a.warmup) / max(1, total - a.warmup))
    return a.lr * (a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))


# The sampler lives in a module global so that forked data workers inherit it.
_SAMPLER = None


def _sample(job):
    seed, step, index, length = job
    s = _SAMPLER.sample(data.rng_for(seed, step, index), length)
    return s.ids, s.weights, s.family


def step_jobs(seed, step, n_seq_total, per_micro, L):
    """The sequences of one step, grouped by micro-batch: (seed, step, index, L + 1) each.

    A sequence is a pure function of (seed, step, micro * 10000 + j), whatever the number of
    data workers, so a resumed or differently parallel run sees the same data.
    """
    out, done, micro = [], 0, 0
    while done < n_seq_total:
        n = min(per_micro, n_seq_total - done)
        out.append([(seed, step, micro * 10000 + j, L + 1) for j in range(n)])  # L inputs + 1 target
        done += n
        micro += 1
    return out


def make_batch(samples, L, pad):
    n_seq = len(samples)
    ids = torch.full((n_seq, L), pad, dtype=torch.long)
    tgt = torch.full((n_seq, L), -100, dtype=torch.long)
    w = torch.zeros((n_seq, L), dtype=torch.float32)
    fams = []
    for j, (s_ids, s_w, fam) in enumerate(samples):
        n = len(s_ids) - 1
        ids[j, :n] = torch.tensor(s_ids[:-1])
        tgt[j, :n] = torch.tensor(s_ids[1:])
        w[j, :n] = torch.tensor(s_w)
        fams.append(fam)
    return ids, tgt, w, fams


class StepData:
    """Sampled sequences per step; with workers, the next step is sampled during this one."""

    def __init__(self, workers):
        self.pool = None
        if workers > 1:
            import multiprocessing as mp
            os.environ["TOKENIZERS_PARALLELISM"] = "false"
            self.pool = mp.get_context("fork").Pool(workers)
        self.pending = {}

    def _submit(self, key, jobs):
        flat = [j for m in jobs for j in m]
        self.pending[key] = (self.pool.map_async(_sample, flat, chunksize=1), [len(m) for m in jobs])

    def get(self, key, jobs, next_key=None, next_jobs=None):
        if self.pool is None:
            return [[_sample(j) for j in m] for m in jobs]
        if key not in self.pending:
            self._submit(key, jobs)
        res, sizes = self.pending.pop(key)
        flat = res.get()
        if next_key is not None and next_key not in self.pending:
            self._submit(next_key, next_jobs)
        out, i = [], 0
        for n in sizes:
            out.append(flat[i:i + n])
            i += n
        return out


@torch.no_grad()
def induction_probe(model, dev, n_seq=8, span=100):
    """Mean CE of a span of uniformly random tokens and of its exact repeat right after.

    Without a copy (induction) circuit both are ~ln(vocab); once one forms, the repeat's CE
    falls towards 0. Fixed seed so values are comparable across steps and runs.
    """
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(16, model.cfg.vocab_size, (n_seq, span), generator=g)
    x = torch.cat([ids, ids], 1).to(dev)
    logits = model(x).float()
    ce = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1),
                         reduction="none").view(n_seq, -1)
    return {"probe_first_ce": round(ce[:, : span - 1].mean().item(), 3),
            "probe_repeat_ce": round(ce[:, span:].mean().item(), 3)}


def save_ckpt(path, model, opt, step, args, extra):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                "args": vars(args), "config": model.cfg.to_dict(), **extra}, tmp)
    os.replace(tmp, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--data-workers", type=int, default=1,
                    help="processes sampling training sequences (the next step is sampled during this one)")
    ap.add_argument("--corpus", default="",
                    help="corpus snapshot from `corpus.py --snapshot` (default: this machine's files)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads; 1 is ~4x faster than 2 on a contended 2-core host")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--ffn", type=int, default=704)
    ap.add_argument("--rope-theta", type=float, default=100000.0)
    ap.add_argument("--curriculum", default="256:800,512:600,1024:500,2048:300,4096:300",
                    help="length:steps,... (the last stage continues past its end)")
    ap.add_argument("--tokens-per-step", type=int, default=2048)
    ap.add_argument("--micro-tokens", type=int, default=4096, help="tokens per forward (grad accumulation)")
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--text-fraction", type=float, default=0.15)
    ap.add_argument("--lm-weight", type=float, default=0.2)
    ap.add_argument("--repeat-fraction", type=float, default=data.REPEAT_FRACTION,
                    help="share of task sequences that are pure repeated-span copying")
    ap.add_argument("--random-copy", type=float, default=0.0,
                    help="share of repeat sequences whose content is uniformly random token ids")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (default on for cuda)")
    ap.add_argument("--ckpt-every", type=int, default=50)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-n", type=int, default=10)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this step (0: curriculum end)")
    ap.add_argument("--init-from", default="",
                    help="start a NEW run from this checkpoint's weights (fresh optimizer, step 0, "
                         "own LR schedule); used to begin a training phase with another recipe")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    os.makedirs(a.run_dir, exist_ok=True)
    ckpt_path = os.path.join(a.run_dir, "ckpt.pt")
    log_path = os.path.join(a.run_dir, "log.jsonl")
    dev = a.device
    autocast = a.bf16 or dev == "cuda"

    tok = Tokenizer.from_file(a.tokenizer)
    cfg = M.Config(vocab_size=tok.get_vocab_size(), hidden_size=a.hidden, num_hidden_layers=a.layers,
                   num_attention_heads=a.heads, num_key_value_heads=a.kv_heads,
                   head_dim=a.hidden // a.heads, intermediate_size=a.ffn, rope_theta=a.rope_theta,
                   bos_token_id=tok.token_to_id("<|bos|>"), eos_token_id=tok.token_to_id("<|eos|>"),
                   pad_token_id=tok.token_to_id("<|pad|>"))
    torch.manual_seed(a.seed)
    model = M.LlamaLM(cfg).to(dev)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    step, elapsed = 0, 0.0
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=dev)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, elapsed = ck["step"], ck.get("elapsed_s", 0.0)
        print(f"resumed from {ckpt_path} at step {step}", flush=True)
        # Arguments may change on resume (data mix, lr); the log keeps every set used.
        with open(log_path, "a") as f:
            f.write(json.dumps({"step": step, "resume_args": vars(a)}) + "\n")
    else:
        if a.init_from:
            ck = torch.load(a.init_from, map_location=dev)
            if ck["config"] != cfg.to_dict():
                sys.exit(f"--init-from {a.init_from}: its model shape differs from this run's arguments")
            model.load_state_dict(ck["model"])
            # The phase before counts towards the model's training compute.
            elapsed = ck.get("elapsed_s", 0.0)
            print(f"initialized from {a.init_from} (its step {ck['step']})", flush=True)
        with open(os.path.join(a.run_dir, "args.json"), "w") as f:
            json.dump(vars(a), f, indent=2)

    global _SAMPLER
    docs = corpus.documents(a.corpus)
    _SAMPLER = data.Sampler(tok, corpus.sentences(docs), docs, a.text_fraction, a.lm_weight,
                            a.repeat_fraction, a.random_copy)
    cur = parse_curriculum(a.curriculum)
    total = sum(n for _, n in cur)
    end = a.max_steps or total
    print(f"model {model.num_params()/1e6:.2f}M params, steps {step}->{end}, device {dev}", flush=True)

    def log(rec):
        with open(log_path, "a") as f:
            f.write(json.dumps(rec) + "\n")
        print(json.dumps(rec), flush=True)

    def run_eval(L_now):
        model.eval()
        res = {}
        for L in sorted({256, 512, 1024, 2048, 4096, 8192}):
            if L > max(2 * L_now, 512):
                break
            for task in ("passkey", "niah_single"):
                res[f"{task}@{L}"] = evalmirror.accuracy(model, tok, task, L, a.eval_n, dev, autocast=autocast)
        # The probe stays within the trained length: at 2x the length, a model trained at 128
        # tokens failed it while copying fine in-length (docs/model.md, session 4).
        res.update(induction_probe(model, dev, span=min(100, L_now // 2)))
        model.train()
        return res

    def jobs_for(st):
        L = stage_at(cur, st)[0]
        n_seq_total = max(1, a.tokens_per_step // L)
        return step_jobs(a.seed, st, n_seq_total, max(1, min(n_seq_total, a.micro_tokens // L)), L)

    feeder = StepData(a.data_workers)
    model.train()
    while step < end:
        L, si = stage_at(cur, step)
        lr = lr_at(a, step, total)
        for g in opt.param_groups:
            g["lr"] = lr
        t0 = time.time()
        jobs = jobs_for(step)
        nxt = step + 1 if step + 1 < end else None
        micro_samples = feeder.get(step, jobs, nxt, jobs_for(nxt) if nxt is not None else None)
        n_seq_total = sum(len(m) for m in jobs)
        loss_sum, fams = 0.0, []
        for samples in micro_samples:
            ids, tgt, w, fm = make_batch(samples, L, cfg.pad_token_id)
            ids, tgt, w = ids.to(dev), tgt.to(dev), w.to(dev)
            fams += fm
            with torch.autocast(device_type=dev, dtype=torch.bfloat16, enabled=autocast):
                logits = model(ids)
            ce = F.cross_entropy(logits.view(-1, logits.shape[-1]), tgt.view(-1),
                                 ignore_index=-100, reduction="none").view_as(w)
            loss = (ce * w).sum() / n_seq_total
            loss.backward()
            loss_sum += loss.item()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip).item()
        opt.step()
        opt.zero_grad(set_to_none=True)
        dt = time.time() - t0
        elapsed += dt
        step += 1
        if step % 10 == 0 or step == 1:
            log({"step": step, "len": L, "loss": round(loss_sum, 4), "lr": round(lr, 6),
                 "gnorm": round(gn, 3), "s_per_step": round(dt, 2), "elapsed_s": round(elapsed),
                 "wall": time.strftime("%H:%M:%S")})
        if step % a.eval_every == 0 or step == end:
            t1 = time.time()
            res = run_eval(L)
            log({"step": step, "len": L, "eval": res, "eval_s": round(time.time() - t1, 1)})
        if step % a.ckpt_every == 0 or step == end:
            save_ckpt(ckpt_path, model, opt, step, a, {"elapsed_s": elapsed})
            if step % (a.ckpt_every * 20) == 0:
                save_ckpt(os.path.join(a.run_dir, f"ckpt-{step}.pt"), model, opt, step, a,
                          {"elapsed_s": elapsed})


if __name__ == "__main__":
    main()
