"""The 2x/4x/8x KV-compression table of docs/compress.md, from one `longkv eval` run.

    python3 tools/compress_table.py --longkv build/longkv -m ../shared/models/stories260K.bin \
        --tokenizer ../shared/models/tok512.bin --fidelity docs/data/stories260K_fidelity.txt \
        --out /tmp/compress-table

Runs every method of `--kv` at 2x, 4x and 8x (methods whose knob is not a budget — duo's share
of retrieval heads, training-free DMS's threshold, MiniCache — at settings near those ratios;
the table shows what each achieved; storage formats — int8, kivi, mixed by age — keep every
token and shrink its bits) on a needle task (accuracy, held / peak KV bytes, KV bytes
read per decode token) and on a fidelity text (top-1 agreement and KL against `full` with the
prefix compressed), then prints a markdown table. Everything is measured by longkv itself.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

BUDGETED = ["streaming", "h2o", "tova", "snapkv", "pyramidkv", "adakv", "quest"]


def methods(head_map: str) -> list[tuple[str, str]]:
    out = [("full", "1x")]
    for m in BUDGETED:
        for x in ("2x", "4x", "8x"):
            out.append((f"{m}:{x}", x))
    for r, x in (("0.5", "2x"), ("0.25", "4x"), ("0.125", "8x")):
        out.append((f"duo:{r}:window=32:map={head_map}", x))
    for t, x in (("0.02", "~2x"), ("0.04", "~4x"), ("0.07", "~8x")):
        out.append((f"dms:threshold={t}:window=32", x))
    for m in ("streaming:8x+demote:0.25", "snapkv:8x+demote:0.25"):
        out.append((m, "8x device"))
    out.append(("minicache", "<2x"))
    out.append(("minicache:start=0:retain=0.05", "<2x"))
    # Hidden dimension: whole-cache formats, then mixed precision by age (the last 64 tokens of
    # each (layer, kv-head) in full precision, older blocks low-bit).
    for m in ("int8", "kivi:4", "kivi:2"):
        out.append((m, "bits"))
    for o in ("int8", "kivi4", "kivi2"):
        out.append((f"mixed:window=64:old={o}", "bits, by age"))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--longkv", required=True)
    ap.add_argument("-m", "--model", required=True)
    ap.add_argument("--tokenizer", default="")
    ap.add_argument("--fidelity", required=True)
    ap.add_argument("--fidelity-tokens", default="128")
    ap.add_argument("--task", default="passkey")
    ap.add_argument("--length", default="400")
    ap.add_argument("-n", default="4")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    tok = ["--tokenizer", a.tokenizer] if a.tokenizer else []
    head_map = os.path.join(a.out, "heads.json")
    subprocess.run([a.longkv, "profile-heads", "-m", a.model, *tok, "--length", a.length, "-n", "4",
                    "--window", "32", "--out", head_map, "-t", "1"], check=True,
                   stdout=subprocess.DEVNULL)
    ms = methods(head_map)
    run = os.path.join(a.out, "run")
    cmd = [a.longkv, "eval", "-m", a.model, *tok, "-t", "1", "--no-progress", "--tasks", a.task,
           "--lengths", a.length, "-n", a.n, "--kv", ",".join(m for m, _ in ms), "--fidelity",
           a.fidelity, "--fidelity-tokens", a.fidelity_tokens, "--out", run]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    res = json.load(open(os.path.join(run, "results.json")))
    cells = {r["method"]: r for r in res["results"]}
    fid = {r["method"]: r for r in res["fidelity"]}
    held, ret = {}, {}
    for line in open(os.path.join(run, "samples.jsonl")):
        s = json.loads(line)
        held.setdefault(s["method"], []).append(s.get("held_kv_bytes", 0))
        c = s.get("compression")
        if c:
            ret.setdefault(s["method"], []).append(c.get("retained_ratio", 1.0))
    mean = lambda v: sum(v) / len(v) if v else float("nan")  # noqa: E731
    f_held = mean(held["full"])
    f_read = cells["full"]["kv_bytes_read_per_token"]
    print("| method | target | tokens kept | KV held vs full | peak KV (KiB) | KV read/token vs full "
          f"| {a.task} acc | top-1 agreement | KL mean (nats) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for m, x in ms:
        c, f = cells[m], fid.get(m, {})
        name = m.split(":map=")[0]
        kept = mean(ret.get(m, [])) if m != "full" else 1.0
        print(f"| {name} | {x} | {kept:.3f} | {mean(held[m]) / f_held:.3f} | "
              f"{c['peak_kv_bytes'] / 1024:.0f} | {c['kv_bytes_read_per_token'] / f_read:.3f} | "
              f"{c['accuracy']:.2f} | {f.get('top1_agreement', float('nan')):.3f} | "
              f"{f.get('kl_mean', float('nan')):.4f} |")
    print(f"\n({len(ms)} methods; {a.task} at {a.length} tokens, n={a.n}; fidelity: "
          f"{os.path.basename(a.fidelity)}, {a.fidelity_tokens} forced tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
