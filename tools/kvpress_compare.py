#!/usr/bin/env python3
"""Run longkv eval's tasks through Hugging Face transformers + kvpress and compare with longkv.

The tasks come from `longkv eval --export-tasks FILE.jsonl` (or any file in longkv's task
JSONL format, docs/eval.md). Prompts, greedy decoding, the stop rule and scoring are the
same as longkv's:
  round 0: context + "\\n\\n" + question + "\\n" + answer_prefix   (BOS once, before it)
  round r: "\\n\\n" + question + "\\n" + answer_prefix             (continues the sequence)
  greedy, up to max_new_tokens, stop at EOS or the first newline after some text;
  normalise (case fold, collapse whitespace, strip punctuation/quotes at the ends), then
  contains / exact / all scoring.

Methods: `full` runs plain transformers (DynamicCache, no compression) and needs no kvpress.
Other methods map to kvpress presses (kvpress applies them while the context is prefilled;
the question and answer are then run uncompressed, kvpress's own pipeline convention):
  snapkv:ratio=R -> SnapKVPress, streaming_llm:ratio=R -> StreamingLLMPress,
  tova:ratio=R -> TOVAPress, knorm:ratio=R -> KnormPress, pyramidkv:ratio=R -> PyramidKVPress,
  expected_attention:ratio=R -> ExpectedAttentionPress   (R = compression_ratio, default 0.5)
Compare only methods longkv also has (see `longkv eval --list`).

Usage:
  python3 tools/kvpress_compare.py --hf-model HF_DIR --tasks tasks.jsonl \
      [--longkv OUT_DIR] [--methods full,snapkv:ratio=0.5] [--limit N] [--out report.json]
With --longkv (the --out directory of `longkv eval --tasks tasks.jsonl ...`) it reports, per
task and method, both accuracies, their difference and the fraction of samples whose
normalised predictions agree. Exit 77 when torch/transformers (or kvpress, for a
compression method) are not installed.
"""
import argparse
import json
import os
import sys
from collections import defaultdict

PRESSES = {
    "snapkv": "SnapKVPress",
    "streaming_llm": "StreamingLLMPress",
    "tova": "TOVAPress",
    "knorm": "KnormPress",
    "pyramidkv": "PyramidKVPress",
    "expected_attention": "ExpectedAttentionPress",
}

STRIP = set(".,;:!?\"'`")


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


def parse_method(spec):
    name, _, params = spec.partition(":")
    kv = dict(p.split("=", 1) for p in params.split(":") if p)
    return name, kv


class Runner:
    def __init__(self, hf_dir, threads):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        torch.set_num_threads(threads)
        self.torch = torch
        self.tok = AutoTokenizer.from_pretrained(hf_dir)
        self.model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32)
        self.model.eval()
        self.eos = self.tok.eos_token_id

    def encode(self, text, first):
        return self.tok(text, add_special_tokens=first, return_tensors="pt").input_ids

    def step(self, ids, cache):
        # Explicit positions: after a press evicts context tokens the cache is shorter than
        # the sequence, and positions must continue from the original count (as kvpress's
        # own pipeline does).
        n = ids.shape[1]
        pos = self.torch.arange(self.pos, self.pos + n).unsqueeze(0)
        self.pos += n
        with self.torch.no_grad():
            out = self.model(input_ids=ids, past_key_values=cache, position_ids=pos, use_cache=True)
        return out.logits[0, -1], out.past_key_values

    def run_sample(self, sample, press):
        from transformers import DynamicCache
        cache = DynamicCache()
        self.pos = 0
        preds, pending = [], None
        for i, r in enumerate(sample["rounds"]):
            if i == 0:
                ctx = self.encode(sample["context"], True)
                if press is not None:
                    with press(self.model):
                        _, cache = self.step(ctx, cache)
                else:
                    _, cache = self.step(ctx, cache)
                text = "\n\n" + r["question"] + "\n" + r["answer_prefix"]
            else:
                text = "\n\n" + r["question"] + "\n" + r["answer_prefix"]
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


def make_press(spec):
    name, params = parse_method(spec)
    if name == "full":
        return None
    if name not in PRESSES:
        raise SystemExit(f"kvpress_compare: unknown method '{name}' (valid: full, {', '.join(PRESSES)})")
    try:
        import kvpress
    except ImportError:
        print("kvpress_compare: SKIP: kvpress is not installed (pip install kvpress)")
        sys.exit(77)
    return getattr(kvpress, PRESSES[name])(compression_ratio=float(params.get("ratio", 0.5)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hf-model", required=True, help="Hugging Face checkpoint directory")
    ap.add_argument("--tasks", required=True, help="task JSONL (longkv eval --export-tasks)")
    ap.add_argument("--longkv", help="longkv eval --out directory for the same tasks")
    ap.add_argument("--methods", default="full")
    ap.add_argument("--limit", type=int, default=0, help="first N samples only")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", help="write the comparison as JSON here")
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
    label = os.path.splitext(os.path.basename(a.tasks))[0]
    longkv = {}
    if a.longkv:
        with open(os.path.join(a.longkv, "samples.jsonl"), encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                if r.get("task") == label and "error" not in r:
                    longkv[(r["method"], r["id"])] = r
    runner = Runner(a.hf_model, a.threads)
    rows, per_sample = [], []
    for m in [s for s in a.methods.split(",") if s]:
        press = make_press(m)
        by_task = defaultdict(lambda: {"n": 0, "kv": 0.0, "lk": 0.0, "n_lk": 0, "agree": 0})
        for s in samples:
            preds = runner.run_sample(s, press)
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
            json.dump({"rows": rows, "samples": per_sample}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
