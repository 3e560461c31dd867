#!/usr/bin/env python3
"""Paired, repeated benchmark of longkv against llama.cpp on one GGUF.

Each round runs `longkv bench` and then `llama-bench` with the same model, threads, test
sizes and depth, back to back, so both see the same machine state; the order alternates
between rounds. Prints every round and the medians of tok/s and of the per-round ratio
(longkv / llama.cpp) — on a shared machine the per-round ratio is what to read.

usage: tools/bench_pairs.py MODEL.gguf [--threads 2] [--pp 512] [--tg 128] [--depth 0]
                            [--rounds 3] [--longkv build/longkv] [--llama-bench PATH]
                            [--longkv-arg=--prefill-bf16] [--llama-arg=-lm --llama-arg=none]
"""
import argparse
import json
import statistics
import subprocess
import sys
import time


def run_longkv(a, test):
    pp, tg = (a.pp, 1) if test == "pp" else (1, a.tg)
    cmd = [a.longkv, "bench", "-m", a.model, "-t", str(a.threads), "-p", str(pp), "-n", str(tg),
           "-d", str(a.depth), "--kv-format", "f16", "--json"]
    if test == "pp":
        cmd.append("--no-roofline")
    cmd += a.longkv_arg
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    j = json.loads(out)
    row = j["rows"][0] if "rows" in j else j
    return row["prefill_tok_s"] if test == "pp" else row["decode_tok_s"], row


def run_llama(a, test):
    pp, tg = (a.pp, 0) if test == "pp" else (0, a.tg)
    cmd = [a.llama_bench, "-m", a.model, "-t", str(a.threads), "-p", str(pp), "-n", str(tg),
           "-d", str(a.depth), "-ctk", "f16", "-ctv", "f16", "-r", "1", "-o", "json"] + a.llama_arg
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)[0]["avg_ts"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--pp", type=int, default=512)
    p.add_argument("--tg", type=int, default=128)
    p.add_argument("--depth", type=int, default=0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--tests", default="pp,tg")
    p.add_argument("--longkv", default="build/longkv")
    p.add_argument("--llama-arg", action="append", default=[],
                   help="extra argument for llama-bench (repeatable), e.g. --llama-arg=-lm --llama-arg=none")
    p.add_argument("--longkv-arg", action="append", default=[],
                   help="extra argument for longkv bench (repeatable), e.g. --longkv-arg=--prefill-bf16")
    p.add_argument("--llama-bench", default="/work/peers/llama.cpp/build/bin/llama-bench")
    a = p.parse_args()
    with open("/proc/loadavg") as f:
        load0 = f.read().split()[:3]
    print(f"# {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {a.model} t={a.threads} "
          f"pp{a.pp} tg{a.tg} depth {a.depth}, load {' '.join(load0)}")
    for test in a.tests.split(","):
        mine, peer, ratio = [], [], []
        for r in range(a.rounds):
            if r % 2 == 0:
                m, row = run_longkv(a, test)
                q = run_llama(a, test)
            else:
                q = run_llama(a, test)
                m, row = run_longkv(a, test)
            mine.append(m)
            peer.append(q)
            ratio.append(m / q)
            extra = ""
            if test == "tg" and row.get("decode_roofline_pct"):
                extra = f"  roofline {row['decode_roofline_pct']:.0f}%"
            print(f"{test} round {r}: longkv {m:.2f} tok/s, llama.cpp {q:.2f} tok/s, "
                  f"ratio {m / q:.2f}{extra}", flush=True)
        print(f"{test} MEDIAN: longkv {statistics.median(mine):.2f}, llama.cpp "
              f"{statistics.median(peer):.2f}, ratio {statistics.median(ratio):.2f} "
              f"(min {min(ratio):.2f}, max {max(ratio):.2f})", flush=True)
    with open("/proc/loadavg") as f:
        print(f"# load at end {' '.join(f.read().split()[:3])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
