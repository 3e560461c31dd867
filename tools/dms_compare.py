"""DMS retrofits vs training-free KV compression at equal budget, measured by `longkv eval`.

    python3 tools/dms_compare.py --longkv build/longkv --base models/longkv-tiny \
        --dms 4x=models/longkv-tiny-dms4 --dms 8x=models/longkv-tiny-dms8 \
        --tasks passkey,niah_single --lengths 4096 -n 20 --out /tmp/dms-compare

For each ratio of a `--dms` model, the base model runs TOVA, H2O, SnapKV and Quest at that
ratio (and the training-free DMS threshold form is left out: its budget is not a knob), and
the retrofitted model runs with its own decisions (`--kv dms`). Every figure comes from the
runs' results.json / samples.jsonl: accuracy per task, tokens kept (mean retained ratio),
peak KV bytes and KV bytes read per decoded token, both relative to the base's full cache.
Prints a markdown table; the raw results stay under --out.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

BASELINES = ["tova", "h2o", "snapkv", "quest"]


def run_eval(a, model: str, kv: list[str], out: str) -> tuple[dict, dict]:
    """(method, task) -> result cell, and method -> mean retained ratio."""
    if not os.path.exists(os.path.join(out, "results.json")):
        cmd = [a.longkv, "eval", "-m", model, "-t", str(a.threads), "--no-progress", "--tasks",
               a.tasks, "--lengths", a.lengths, "-n", str(a.n), "--kv", ",".join(kv), "--out", out]
        print("+", " ".join(cmd), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    res = json.load(open(os.path.join(out, "results.json")))
    cells = {(r["method"], r["task"], int(r["length"])): r for r in res["results"]}
    ret: dict[str, list[float]] = {}
    for line in open(os.path.join(out, "samples.jsonl")):
        s = json.loads(line)
        c = s.get("compression")
        ret.setdefault(s["method"], []).append(c.get("retained_ratio", 1.0) if c else 1.0)
    return cells, {m: sum(v) / len(v) for m, v in ret.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--longkv", required=True)
    ap.add_argument("--base", required=True, help="the base model (HF folder or GGUF)")
    ap.add_argument("--dms", action="append", required=True, metavar="RATIO=FOLDER",
                    help="a DMS retrofit and the ratio it was trained for, e.g. 4x=models/x")
    ap.add_argument("--tasks", default="passkey,niah_single")
    ap.add_argument("--lengths", default="4096")
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    dms = [d.split("=", 1) for d in a.dms]
    # DMS first: its achieved share of kept tokens is data-dependent (the eviction rate it
    # learned, plus the window it always keeps), so the baselines also run at exactly that
    # share ("equal budget") besides the nominal ratio.
    dms_runs = []
    for r, folder in dms:
        cells, ret = run_eval(a, folder, ["dms"], os.path.join(a.out, f"dms-{r}"))
        dms_runs.append((r, folder, cells, ret))
    # Per DMS run, the baselines' budgets: (label, ratio spec) at the nominal ratio and at the
    # share of tokens that DMS model kept.
    budgets = {r: [(r, r), (f"={ret['dms']:.3f} (dms {r})", f"{ret['dms']:.3f}")]
               for r, _, _, ret in dms_runs}
    base_kv = ["full"] + [f"{m}:{spec}" for bs in budgets.values() for _, spec in bs for m in BASELINES]
    base_cells, base_ret = run_eval(a, a.base, base_kv, os.path.join(a.out, "base"))
    rows = [("full", "1x", a.base, base_cells, base_ret)]
    for r, folder, cells, ret in dms_runs:
        rows.append(("dms", r, folder, cells, ret))
        for label, spec in budgets[r]:
            rows += [(f"{m}:{spec}", label, a.base, base_cells, base_ret) for m in BASELINES]

    tasks = a.tasks.split(",")
    lengths = [int(x) for x in a.lengths.split(",")]
    full = {(t, L): base_cells[("full", t, L)] for t in tasks for L in lengths}
    cols = [f"{t}@{L}" for L in lengths for t in tasks]
    print("| method | target | model | " + " | ".join(cols) + " | tokens kept | peak KV vs full "
          "| KV read/token vs full |")
    print("|---|---|---|" + "---:|" * (len(cols) + 3))
    for m, r, model, cells, ret in rows:
        accs = [cells[(m, t, L)]["accuracy"] for L in lengths for t in tasks]
        def vs_full(key):  # mean over the row's cells of key relative to full's
            return sum(cells[(m, t, L)][key] / full[(t, L)][key] for t in tasks for L in lengths) / len(cols)

        peak, read = vs_full("peak_kv_bytes"), vs_full("kv_bytes_read_per_token")
        print(f"| {m} | {r} | {os.path.basename(model.rstrip('/'))} | "
              + " | ".join(f"{x:.2f}" for x in accs)
              + f" | {ret.get(m, 1.0):.3f} | {peak:.3f} | {read:.3f} |")
    print(f"\n(n={a.n} per cell; tasks {a.tasks} at {a.lengths} tokens; ratios are means over the "
          f"cells of each row, relative to the base model's full cache on the same cell)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
