#!/usr/bin/env bash
# Side by side in one run: `longkv bench` and llama.cpp's `llama-bench` on the same GGUF,
# same threads, same test sizes and depths, alternating per model so both see the same
# machine state. Prints both outputs; docs/benchmarks.md records the table.
#
# usage: tools/bench_vs_llama_cpp.sh MODEL.gguf [THREADS] [PP] [TG] [DEPTHS]
#   e.g. tools/bench_vs_llama_cpp.sh /work/peers/models/bench-q8_0.gguf 2 512 128 0,4096,16384
# env: LONGKV (default build/longkv), LLAMA_BENCH (default /work/peers/llama.cpp/build/bin/llama-bench)
set -euo pipefail
model=$1; threads=${2:-2}; pp=${3:-512}; tg=${4:-128}; depths=${5:-0}
longkv=${LONGKV:-build/longkv}
llama_bench=${LLAMA_BENCH:-/work/peers/llama.cpp/build/bin/llama-bench}
echo "== $(date -u +%FT%TZ) $model, $threads threads, pp$pp tg$tg, depths $depths"
echo "== load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== longkv"
"$longkv" bench -m "$model" -t "$threads" -p "$pp" -n "$tg" -d "$depths" --kv-format f16
echo "== llama.cpp ($("$llama_bench" --version 2>&1 | head -1 || true))"
"$llama_bench" -m "$model" -t "$threads" -p "$pp" -n "$tg" -d "$depths" -ctk f16 -ctv f16 -r 1 -o md
