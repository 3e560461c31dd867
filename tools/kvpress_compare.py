#!/usr/bin/env python3
"""longkv's KV compression against kvpress (NVIDIA's reference presses) on the same model.

Two modes, both on a Hugging Face checkpoint that longkv also loads (config.json +
safetensors + tokenizer.json):

1. --trace (the precise check): for each prompt, each longkv method and its kvpress press at
   the SAME number of kept tokens, compares
     - the token sets every (layer, kv-head) keeps after the prompt's compression: longkv's
       from `longkv kv-trace --json`, kvpress's recovered by matching the compressed cache's
       keys against the uncompressed cache's keys (post-RoPE keys are unique per position);
     - the next-token logits after the prompt and after each of --forced teacher-forced
       tokens (the uncompressed model's greedy continuation): max |diff| and argmax agreement;
     - --greedy greedy tokens generated after them.
   kvpress presses act only while the prompt is prefilled, so longkv runs with
   `--decode-eviction off` here. For a head whose sets differ, the kvpress score margin of
   the differing tokens (relative to the kept/dropped threshold) tells a float near-tie
   (margin ~1e-6) from an algorithmic difference.
   Pairs (longkv spec <-> kvpress press), B = kept share of the prompt:
     streaming      streaming:B                      StreamingLLMPress(n_sink=4)
     snapkv_same    snapkv:B:window=16:kernel=1      SnapKVPress(window_size=16, kernel_size=1)
     snapkv_w64k5   snapkv:B:window=64:kernel=5      SnapKVPress()  (64, 5: kvpress's defaults)
     snapkv         snapkv:B                         SnapKVPress()  (each side's defaults)
     tova           tova:B                           TOVAPress()
     h2o            h2o:B:recent=0                   ObservedAttentionPress()  (eager attention)
     snapkv_avgpool snapkv:B:window=64:kernel=5:pool=avg  SnapKVPress()  (kvpress's scoring)
     tova_layer     tova:B:scope=layer               TOVAPress()
     h2o_mean       h2o:B:recent=0:score=mean        ObservedAttentionPress()
     full           full                             no press (engine vs transformers)
   Diagnostics (--pairs snapkv_w64k5_maxpool,tova_pergroup,h2o_sum): kvpress's press with
   one change each (see variant_press), to show which single difference explains a pair.

2. --tasks without --trace: runs the tasks exported by `longkv eval --export-tasks` through
   transformers (+ a press) with longkv eval's prompt format, greedy decoding, stop rule and
   scoring, and compares accuracies and predictions with a `longkv eval --out` directory:
     round 0: context + "\\n\\n" + question + "\\n" + answer_prefix   (BOS once, before it)
     round r: "\\n\\n" + question + "\\n" + answer_prefix             (continues the sequence)
   Methods are longkv specs (full, streaming:B, snapkv:B, tova:B, h2o:B[:recent=0]); like
   longkv eval, the whole first-round prompt (context and question) is compressed. Unlike
   longkv eval, kvpress keeps every later token (no decode-time eviction for streaming, h2o,
   tova) and does not compress later rounds.

Usage:
  python3 tools/kvpress_compare.py --trace --hf-model HF_DIR --tasks tasks.jsonl \\
      --longkv-binary build/longkv [--budgets 0.3,0.5] [--pairs streaming,snapkv_same,...] \\
      [--limit N] [--prompt-tokens 400] [--forced 8] [--greedy 8] [--out report.json]
  python3 tools/kvpress_compare.py --hf-model HF_DIR --tasks tasks.jsonl [--longkv OUT_DIR] \\
      [--methods full,snapkv:0.5] [--limit N] [--out report.json]
Exit 77 when torch/transformers (or kvpress, for a press) are not installed; 1 when --trace
finds a pair below --require-agreement (default: none required).
"""
import argparse
import json
import math
import os
import subprocess
import sys
from collections import defaultdict

STRIP = set(".,;:!?\"'`")

# Trace pairs: name -> (longkv spec template, kvpress class, kvpress kwargs, needs eager)
PAIRS = {
    "full": ("full", None, {}, False),
    "streaming": ("streaming:{b}", "StreamingLLMPress", {"n_sink": 4}, False),
    "snapkv_same": ("snapkv:{b}:window=16:kernel=1", "SnapKVPress", {"window_size": 16, "kernel_size": 1}, False),
    "snapkv_w64k5": ("snapkv:{b}:window=64:kernel=5", "SnapKVPress", {}, False),
    "snapkv": ("snapkv:{b}", "SnapKVPress", {}, False),
    "tova": ("tova:{b}", "TOVAPress", {}, False),
    "h2o": ("h2o:{b}:recent=0", "ObservedAttentionPress", {}, True),
    # longkv's kvpress-default knobs (docs/compress.md): the same scoring as each press.
    "snapkv_avgpool": ("snapkv:{b}:window=64:kernel=5:pool=avg", "SnapKVPress", {}, False),
    "tova_layer": ("tova:{b}:scope=layer", "TOVAPress", {}, False),
    "h2o_mean": ("h2o:{b}:recent=0:score=mean", "ObservedAttentionPress", {}, True),
    # Diagnostics: kvpress's press with ONE documented change (variant_press below), to show
    # that this change alone explains a pair's difference.
    "snapkv_w64k5_maxpool": ("snapkv:{b}:window=64:kernel=5", "SnapKVPress+maxpool", {}, False),
    "tova_pergroup": ("tova:{b}", "TOVAPress+pergroup", {}, False),
    "h2o_sum": ("h2o:{b}:recent=0", "ObservedAttentionPress+sum", {}, True),
}
# A differing head whose differing tokens all lie within this relative distance of kvpress's
# kept/dropped threshold differs only by how equal (or float-equal) scores are ordered.
TIE_MARGIN = 1e-6
DEFAULT_PAIRS = ("full,streaming,snapkv_same,snapkv_w64k5,snapkv,tova,h2o,snapkv_avgpool,tova_layer,"
                 "h2o_mean")
DIAGNOSTIC_PAIRS = "snapkv_w64k5_maxpool,tova_pergroup,h2o_sum"


def normalize(s):
    # ASCII-only case folding, as longkv does (str.lower() would fold non-ASCII too).
    out = "".join(c.lower() if "A" <= c <= "Z" else c for c in " ".join(s.split()))
    b, e = 0, len(out)
    while b < e and (out[b] in STRIP or out[b] == " "):
        b += 1
    while e > b and (out[e - 1] in STRIP or out[e - 1] == " "):
        e -= 1
    return out[b:e]


def score(mode, prediction, answers):
    if not answers:
        return 0.0
    p = normalize(prediction)
    norm = [normalize(a) for a in answers]
    if mode == "exact":
        return 1.0 if p in norm else 0.0
    if mode == "contains":
        return 1.0 if any(a and a in p for a in norm) else 0.0
    if mode == "all":
        return sum(1 for a in norm if a and a in p) / len(norm)
    raise ValueError(f"unknown score mode {mode!r}")


def load_tasks(path):
    samples, errors = [], []
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                j = json.loads(line)
                prefix = j.get("answer_prefix", "Answer:")
                max_new = j.get("max_new_tokens", 32)
                rounds = j["rounds"] if "rounds" in j else [j]
                rs = []
                for r in rounds:
                    ans = r["answer"]
                    rs.append({
                        "question": r["question"],
                        "answers": [ans] if isinstance(ans, str) else list(ans),
                        "answer_prefix": r.get("answer_prefix", prefix),
                        "max_new_tokens": r.get("max_new_tokens", max_new),
                    })
                samples.append({"id": str(j.get("id", f"line{no}")), "context": j["context"],
                                "score": j.get("score", "contains"), "rounds": rs,
                                "task": j.get("task", os.path.splitext(os.path.basename(path))[0])})
            except (KeyError, TypeError, ValueError) as e:
                errors.append(f"{path}:{no}: {e}")
    return samples, errors


def import_kvpress():
    try:
        import kvpress
    except ImportError:
        print("kvpress_compare: SKIP: kvpress is not installed (make kvpress-venv)")
        sys.exit(77)
    return kvpress


def variant_press(kp, name, **kw):
    """kvpress's press class `name`, or for "Class+change" a subclass with one change:
      SnapKVPress+maxpool      mean over the GQA group first, then max-pool (longkv's SnapKV)
                               instead of average-pooling each query head, then the mean
      TOVAPress+pergroup       the last query's attention averaged over each kv-head's group
                               (longkv's TOVA) instead of over all heads of the layer
      ObservedAttentionPress+sum  attention summed over the queries (H2O's accumulation, as
                               longkv does) instead of divided by how many queries see a key
    Everything else (windows, padding of the window/last token, top-k) is kvpress's own."""
    import torch
    import torch.nn.functional as F
    base, _, change = name.partition("+")
    cls = getattr(kp, base)
    if not change:
        return cls(**kw)
    if change == "maxpool":
        class Variant(cls):
            def score(self, module, hidden_states, keys, values, attentions, kwargs):
                bsz, hkv, k_len, _ = keys.shape
                groups = module.config.num_attention_heads // hkv
                if attentions is not None:
                    w = attentions[..., -self.window_size:, : -self.window_size]
                else:
                    w = self.compute_window_attention(module, hidden_states, keys, self.window_size,
                                                      kwargs["position_embeddings"])
                sc = w.mean(dim=-2).view(bsz, hkv, groups, k_len - self.window_size).mean(2)
                sc = F.max_pool1d(sc, kernel_size=self.kernel_size, padding=self.kernel_size // 2, stride=1)
                return F.pad(sc, (0, self.window_size), value=sc.max().item() + 1)
    elif change == "pergroup":
        class Variant(cls):
            def score(self, module, hidden_states, keys, values, attentions, kwargs):
                bsz, hkv, k_len, _ = keys.shape
                groups = module.config.num_attention_heads // hkv
                if attentions is not None:
                    w = attentions[..., -1:, :-1]
                else:
                    w = kp.SnapKVPress.compute_window_attention(module, hidden_states, keys, 1,
                                                                kwargs["position_embeddings"])
                sc = w[:, :, 0].view(bsz, hkv, groups, k_len - 1).mean(2)
                return F.pad(sc, (0, 1), value=sc.max().item() + 1)
    elif change == "sum":
        class Variant(cls):
            def score(self, module, hidden_states, keys, values, attentions, kwargs):
                bsz, hkv, n, _ = keys.shape
                return attentions.sum(2).view(bsz, hkv, -1, n).mean(2)
    else:
        raise ValueError(change)
    Variant.__name__ = name
    return Variant(**kw)


def kvpress_ratio(n_prompt, keep):
    """kvpress's compression_ratio that keeps exactly `keep` of n_prompt tokens
    (kvpress keeps int(n * (1 - ratio)))."""
    return 1.0 - (keep + 0.5) / n_prompt


def longkv_keep(budget, n_prompt):
    """longkv's kept tokens per (layer, kv-head) for a ratio budget: ceil(B * n)."""
    return max(1, math.ceil(budget * n_prompt - 1e-9))


def press_for_spec(spec, n_prompt):
    """The kvpress press for a longkv task-mode spec at the same kept count (None: full)."""
    name, _, rest = spec.partition(":")
    if name == "full":
        return None, False
    parts = [p for p in rest.split(":") if p]
    if not parts or "=" in parts[0]:
        raise SystemExit(f"kvpress_compare: '{spec}': give a ratio budget first, e.g. {name}:0.5")
    budget = float(parts[0])
    knobs = dict(p.split("=", 1) for p in parts[1:])
    kp = import_kvpress()
    ratio = kvpress_ratio(n_prompt, longkv_keep(budget, n_prompt))
    if name == "streaming":
        return kp.StreamingLLMPress(compression_ratio=ratio, n_sink=int(knobs.get("sinks", 4))), False
    if name == "snapkv":
        return kp.SnapKVPress(compression_ratio=ratio, window_size=int(knobs.get("window", 32)),
                              kernel_size=int(knobs.get("kernel", 7))), False
    if name == "tova":
        return kp.TOVAPress(compression_ratio=ratio), False
    if name == "h2o":
        return kp.ObservedAttentionPress(compression_ratio=ratio), True
    raise SystemExit(f"kvpress_compare: no kvpress press for longkv method '{name}' "
                     "(valid: full, streaming, snapkv, tova, h2o)")


class Runner:
    """Hugging Face transformers on CPU, f32, eager attention (kvpress's observed-attention
    press needs the attention weights; the same implementation serves every method)."""

    def __init__(self, hf_dir, threads):
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer
        transformers.utils.logging.disable_progress_bar()
        torch.set_num_threads(threads)
        self.torch = torch
        self.tok = AutoTokenizer.from_pretrained(hf_dir)
        self.model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32,
                                                          attn_implementation="eager")
        self.model.eval()
        self.eos = self.tok.eos_token_id
        self.pos = 0

    def encode(self, text, first):
        return self.tok(text, add_special_tokens=first, return_tensors="pt").input_ids

    def step(self, ids, cache):
        # Explicit positions: after a press evicts prompt tokens the cache is shorter than the
        # sequence, and positions continue from the original count (as in longkv and in
        # kvpress's own pipeline).
        n = ids.shape[1]
        pos = self.torch.arange(self.pos, self.pos + n).unsqueeze(0)
        self.pos += n
        with self.torch.no_grad():
            out = self.model(input_ids=ids, past_key_values=cache, position_ids=pos, use_cache=True)
        return out.logits[0, -1], out.past_key_values

    # --- trace mode ---

    def trace(self, prompt, forced, greedy, press):
        """Prefill prompt (ids, BOS included) under press, then forced ids, then greedy ids.
        Returns (cache after the prompt as [layer] key tensors [Hkv, n_kept, D], logits rows,
        greedy ids)."""
        from transformers import DynamicCache
        torch = self.torch
        cache = DynamicCache()
        self.pos = 0
        ids = torch.tensor([prompt])
        if press is not None:
            with press(self.model):
                logits, cache = self.step(ids, cache)
        else:
            logits, cache = self.step(ids, cache)
        keys = [layer.keys[0].clone() for layer in cache.layers]
        rows = [logits.clone()]
        for t in forced:
            logits, cache = self.step(torch.tensor([[t]]), cache)
            rows.append(logits.clone())
        gen = []
        for i in range(greedy):
            nxt = int(torch.argmax(logits))
            gen.append(nxt)
            if i + 1 < greedy:
                logits, cache = self.step(torch.tensor([[nxt]]), cache)
        return keys, rows, gen

    # --- tasks mode ---

    def run_sample(self, sample, spec):
        from transformers import DynamicCache
        cache = DynamicCache()
        self.pos = 0
        preds, pending = [], None
        for i, r in enumerate(sample["rounds"]):
            text = "\n\n" + r["question"] + "\n" + r["answer_prefix"]
            if i == 0:
                # The whole first-round prompt is one prefill, compressed as longkv eval does.
                # One string, tokenized once, as longkv eval feeds it.
                ids = self.encode(sample["context"] + text, True)
                press, _ = press_for_spec(spec, ids.shape[1])
                if press is not None:
                    with press(self.model):
                        logits, cache = self.step(ids, cache)
                else:
                    logits, cache = self.step(ids, cache)
            else:
                ids = self.encode(text, False)
                if pending is not None:
                    ids = self.torch.cat([self.torch.tensor([[pending]]), ids], dim=1)
                    pending = None
                logits, cache = self.step(ids, cache)
            gen = []
            for _ in range(r["max_new_tokens"]):
                nxt = int(self.torch.argmax(logits))
                if nxt == self.eos:
                    break
                gen.append(nxt)
                s = self.tok.decode(gen, skip_special_tokens=True)
                nl = s.find("\n")
                if nl >= 0 and s[:nl].strip():
                    pending = nxt
                    s = s[:nl]
                    break
                logits, cache = self.step(self.torch.tensor([[nxt]]), cache)
            else:
                s = self.tok.decode(gen, skip_special_tokens=True)
            preds.append(s)
        return preds


def kept_positions(full_keys, kept_keys):
    """Positions of the compressed cache's keys in the uncompressed cache, per layer and
    kv-head: [layer][head] sorted lists. Raises when a key has no exact counterpart."""
    torch = sys.modules["torch"]
    out = []
    for fk, kk in zip(full_keys, kept_keys):  # [Hkv, n, D], [Hkv, m, D]
        heads = []
        for h in range(fk.shape[0]):
            d = torch.cdist(kk[h].double(), fk[h].double())  # [m, n]
            dist, idx = d.min(dim=1)
            scale = float(fk[h].abs().max()) or 1.0
            if float(dist.max()) > 1e-5 * scale:
                raise RuntimeError(f"kvpress cache key without an exact match (distance {float(dist.max()):.3g})")
            heads.append(sorted(int(i) for i in idx))
        out.append(heads)
    return out


class ScoreRecorder:
    """Wraps a ScorerPress's score() to keep its per-layer scores [Hkv, n] for diagnostics."""

    def __init__(self, press):
        self.scores = {}
        orig = press.score

        def wrapped(module, *a, **kw):
            s = orig(module, *a, **kw)
            self.scores[module.layer_idx] = s[0].detach().double().clone()
            return s
        object.__setattr__(press, "score", wrapped)


def near_tie_margin(scores, kp_set, lk_set, n_kept):
    """Largest relative distance from kvpress's kept/dropped threshold among the tokens the
    two sides disagree on (small: a float near-tie; large: a different score)."""
    s = scores
    top = sorted(s.tolist(), reverse=True)
    thr = (top[n_kept - 1] + top[n_kept]) / 2 if n_kept < len(top) else top[-1]
    diff = set(kp_set) ^ set(lk_set)
    scale = max(abs(thr), 1e-30)
    return max(abs(float(s[p]) - thr) / scale for p in diff) if diff else 0.0


def run_longkv_trace(binary, model, spec, prompt, forced, greedy, threads):
    cmd = [binary, "kv-trace", "-m", model, "--kv", spec, "--prompt-ids", ",".join(map(str, prompt)),
           "--greedy", str(greedy), "--decode-eviction", "off", "--json", "--logits", "-t", str(threads)]
    if forced:
        cmd += ["--forced-ids", ",".join(map(str, forced))]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"kvpress_compare: longkv kv-trace failed ({r.returncode}): {r.stderr.strip()}")
    return json.loads(r.stdout)


def trace_mode(a, samples):
    import torch
    kp = None
    pairs = list(PAIRS) if a.pairs == "all" else [p for p in a.pairs.split(",") if p]
    for p in pairs:
        if p not in PAIRS:
            raise SystemExit(f"kvpress_compare: unknown pair '{p}' (valid: {', '.join(PAIRS)})")
        if PAIRS[p][1] is not None and kp is None:
            kp = import_kvpress()
    budgets = [float(b) for b in a.budgets.split(",") if b]
    runner = Runner(a.hf_model, a.threads)
    lk_model = a.longkv_model or a.hf_model
    prompts = []
    for s in samples:
        r0 = s["rounds"][0]
        ids = runner.encode(s["context"] + "\n\n" + r0["question"] + "\n" + r0["answer_prefix"], True)[0].tolist()
        if a.prompt_tokens and len(ids) > a.prompt_tokens:
            ids = ids[:1] + ids[len(ids) - a.prompt_tokens + 1:]  # BOS + the prompt's tail
        prompts.append((s["id"], ids))
    rows, details = [], []
    for pair in pairs:
        template, cls, kwargs, _ = PAIRS[pair]
        for b in (budgets if "{b}" in template else [1.0]):
            spec = template.format(b=b)
            agg = defaultdict(float)
            for sid, prompt in prompts:
                n = len(prompt)
                full_keys, full_rows, full_gen = runner.trace(prompt, [], a.forced, None)
                forced = full_gen  # the uncompressed model's greedy continuation
                lk = run_longkv_trace(a.longkv_binary, lk_model, spec, prompt, forced, a.greedy, a.threads)
                press, rec = None, None
                if cls is not None:
                    keep = lk["keep_per_head"]
                    press = variant_press(kp, cls, compression_ratio=kvpress_ratio(n, keep), **kwargs)
                    rec = ScoreRecorder(press)
                keys, kv_rows, kv_gen = runner.trace(prompt, forced, a.greedy, press)
                kv_sets = kept_positions(full_keys, keys)
                heads = same = tied = 0
                jac = 0.0
                margins = []
                for l, layer in enumerate(kv_sets):
                    for h, kset in enumerate(layer):
                        lset = lk["kept"][l][h]
                        heads += 1
                        u = len(set(kset) | set(lset))
                        jac += len(set(kset) & set(lset)) / u if u else 1.0
                        if kset == lset:
                            same += 1
                        elif rec is not None and l in rec.scores:
                            m = near_tie_margin(rec.scores[l][h], kset, lset, len(kset))
                            margins.append(m)
                            tied += m <= TIE_MARGIN
                lk_rows = torch.tensor(lk["logits"])
                kvr = torch.stack(kv_rows)
                dmax = float((lk_rows - kvr).abs().max())
                am = float((lk_rows.argmax(-1) == kvr.argmax(-1)).float().mean())
                g_same = lk["greedy"] == kv_gen
                agg["heads"] += heads
                agg["same"] += same
                agg["tied"] += same + tied
                agg["jaccard"] += jac
                agg["logit_max"] = max(agg["logit_max"], dmax)
                agg["argmax"] += am
                agg["greedy"] += g_same
                agg["n"] += 1
                agg["kept"] += sum(len(h) for layer in kv_sets for h in layer) / heads / n
                if margins:
                    agg["margin_max"] = max(agg["margin_max"], max(margins))
                    agg["margin_min"] = min(agg.get("margin_min", 1e300), min(margins))
                details.append({"pair": pair, "longkv": spec, "kvpress": cls or "none", "id": sid, "prompt_tokens": n,
                                "heads": heads, "identical_heads": same, "identical_up_to_ties": same + tied, "mean_jaccard": jac / heads,
                                "logits_max_abs_diff": dmax, "argmax_agreement": am,
                                "greedy_longkv": lk["greedy"], "greedy_kvpress": kv_gen,
                                "mismatch_margins": margins})
                print(f"kvpress_compare: {pair} {spec} {sid}: {same}/{heads} heads identical, "
                      f"jaccard {jac / heads:.3f}, max|dlogit| {dmax:.2e}, greedy {'=' if g_same else '≠'}",
                      file=sys.stderr)
            nn = agg["n"]
            row = {"pair": pair, "longkv": spec, "kvpress": (f"{cls}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
                                                              if cls else "none (transformers)"),
                   "prompts": int(nn), "kept_share": agg["kept"] / nn,
                   "identical_heads": agg["same"] / agg["heads"],
                   "identical_up_to_ties": agg["tied"] / agg["heads"], "mean_jaccard": agg["jaccard"] / agg["heads"],
                   "logits_max_abs_diff": agg["logit_max"], "argmax_agreement": agg["argmax"] / nn,
                   "greedy_identical": agg["greedy"] / nn}
            if "margin_max" in agg:
                row["mismatch_margin_range"] = [agg["margin_min"], agg["margin_max"]]
            rows.append(row)
    print("| pair | longkv | kvpress | prompts | kept | identical heads | same up to ties | mean Jaccard "
          "| max abs dlogit | argmax agree | greedy same | mismatch margin |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        mm = r.get("mismatch_margin_range")
        print(f"| {r['pair']} | `{r['longkv']}` | {r['kvpress']} | {r['prompts']} | {r['kept_share']:.3f} | "
              f"{r['identical_heads']:.3f} | {r['identical_up_to_ties']:.3f} | {r['mean_jaccard']:.3f} | {r['logits_max_abs_diff']:.1e} | "
              f"{r['argmax_agreement']:.3f} | {r['greedy_identical']:.2f} | "
              f"{'—' if mm is None else f'{mm[0]:.1e}–{mm[1]:.1e}'} |")
    if a.out:
        with open(a.out, "w", encoding="utf-8") as f:
            json.dump({"mode": "trace", "model": a.hf_model, "rows": rows, "prompts": details}, f, indent=1)
    bad = 0
    for req in [x for x in a.require_agreement.split(",") if x]:
        name, _, thr = req.partition("=")
        for r in rows:
            if r["pair"] == name and r["identical_heads"] < float(thr or 1.0):
                print(f"kvpress_compare: {name} ({r['longkv']}): identical heads {r['identical_heads']:.3f} < {thr}",
                      file=sys.stderr)
                bad += 1
    return 1 if bad else 0


def tasks_mode(a, samples):
    label = os.path.splitext(os.path.basename(a.tasks))[0]
    longkv = {}
    if a.longkv:
        with open(os.path.join(a.longkv, "samples.jsonl"), encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                if r.get("task") == label and "error" not in r:
                    longkv[(r["method"], r["id"])] = r
    methods = [s for s in a.methods.split(",") if s]
    for m in methods:  # fail early on a method without a press
        press_for_spec(m, 100)
    runner = Runner(a.hf_model, a.threads)
    rows, per_sample = [], []
    for m in methods:
        by_task = defaultdict(lambda: {"n": 0, "kv": 0.0, "lk": 0.0, "n_lk": 0, "agree": 0})
        for s in samples:
            preds = runner.run_sample(s, m)
            sc = sum(score(s["score"], p, r["answers"]) for p, r in zip(preds, s["rounds"])) / len(preds)
            t = by_task[s["task"]]
            t["n"] += 1
            t["kv"] += sc
            rec = {"method": m, "id": s["id"], "task": s["task"], "predictions": preds, "score": sc}
            lk = longkv.get((m, s["id"]))
            if lk is not None:
                t["n_lk"] += 1
                t["lk"] += lk["score"]
                same = [normalize(x) for x in lk["predictions"]] == [normalize(x) for x in preds]
                t["agree"] += same
                rec["longkv_predictions"] = lk["predictions"]
                rec["agree"] = same
            per_sample.append(rec)
        for task, t in by_task.items():
            row = {"method": m, "task": task, "n": t["n"], "kvpress_accuracy": t["kv"] / t["n"]}
            if t["n_lk"]:
                row["longkv_accuracy"] = t["lk"] / t["n_lk"]
                row["difference"] = row["kvpress_accuracy"] - row["longkv_accuracy"]
                row["prediction_agreement"] = t["agree"] / t["n_lk"]
                row["n_compared"] = t["n_lk"]
            rows.append(row)
    print("| method | task | n | kvpress acc | longkv acc | diff | same predictions |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        lk = r.get("longkv_accuracy")
        print(f"| {r['method']} | {r['task']} | {r['n']} | {r['kvpress_accuracy']:.3f} | "
              f"{'—' if lk is None else f'{lk:.3f}'} | "
              f"{'—' if lk is None else format(r['difference'], '+.3f')} | "
              f"{'—' if lk is None else format(r['prediction_agreement'], '.2f')} |")
    if a.out:
        with open(a.out, "w", encoding="utf-8") as f:
            json.dump({"mode": "tasks", "rows": rows, "samples": per_sample}, f, indent=1)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hf-model", required=True, help="Hugging Face checkpoint directory")
    ap.add_argument("--tasks", required=True, help="task JSONL (longkv eval --export-tasks)")
    ap.add_argument("--limit", type=int, default=0, help="first N samples only")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", help="write the comparison as JSON here")
    ap.add_argument("--longkv", help="tasks mode: longkv eval --out directory for the same tasks")
    ap.add_argument("--methods", default="full", help="tasks mode: longkv method specs")
    ap.add_argument("--trace", action="store_true", help="token-set / logits comparison per pair")
    ap.add_argument("--longkv-binary", default="build/longkv", help="trace mode: the longkv binary")
    ap.add_argument("--longkv-model", help="trace mode: the model longkv loads (default: --hf-model)")
    ap.add_argument("--pairs", default=DEFAULT_PAIRS, help=f"trace mode: pairs, or all (default {DEFAULT_PAIRS})")
    ap.add_argument("--budgets", default="0.3,0.5", help="trace mode: kept shares of the prompt")
    ap.add_argument("--prompt-tokens", type=int, default=0, help="trace mode: keep only BOS + the last N-1 prompt tokens")
    ap.add_argument("--forced", type=int, default=8, help="trace mode: teacher-forced tokens after the prompt")
    ap.add_argument("--greedy", type=int, default=8, help="trace mode: greedy tokens after the forced ones")
    ap.add_argument("--require-agreement", default="",
                    help="trace mode: pair=min_identical_heads,... (exit 1 when a pair falls below)")
    a = ap.parse_args()
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        print("kvpress_compare: SKIP: torch and transformers are needed")
        return 77
    samples, errors = load_tasks(a.tasks)
    for e in errors:
        print(f"kvpress_compare: warning: {e}", file=sys.stderr)
    if a.limit:
        samples = samples[: a.limit]
    if not samples:
        print("kvpress_compare: no tasks", file=sys.stderr)
        return 2
    return trace_mode(a, samples) if a.trace else tasks_mode(a, samples)


if __name__ == "__main__":
    sys.exit(main())
