#!/usr/bin/env bash
# longkv bench runs pp/tg at several depths on a real model and reports the JSON keys the
# issue asks for; bad flags exit with 2 and a message.
set -u
bin=$1; src=$2; shared=$3
[ -f "$shared/stories260K.gguf" ] || { echo "skip: $shared/stories260K.gguf absent"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$bin" bench -m "$shared/stories260K.gguf" -p 16 -n 4 -d 0,64 -t 1 --no-roofline --json >"$tmp/b.json" 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
python3 - "$tmp/b.json" <<'PY' || exit 1
import json, sys
j = json.load(open(sys.argv[1]))
for k in ("prefill_tok_s", "decode_tok_s", "decode_roofline_pct", "prefill_peak_pct"):
    assert k in j, k
assert j["prefill_tok_s"] > 0 and j["decode_tok_s"] > 0
rows = j["results"]
assert [r["depth"] for r in rows] == [0, 64], rows
# at depth 64 the decode reads the cached K/V: 5 layers x 4 kv heads x 8 dims x 2 (K,V) x 2 bytes x >= 64 tokens
assert rows[1]["kv_bytes_per_token"] >= 5 * 4 * 8 * 2 * 2 * 64, rows[1]
assert rows[0]["weight_bytes_per_token"] > 0
PY
# --prefill-bf16 (where the CPU has AVX-512 BF16) is reported in the JSON
if grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null; then
  "$bin" bench -m "$shared/stories260K.gguf" -p 16 -n 2 -t 1 --no-roofline --prefill-bf16 --json >"$tmp/bf.json" 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["prefill_gemm"] == "bf16" and j["prefill_tok_s"] > 0, j' "$tmp/bf.json" || exit 1
fi
"$bin" bench -m "$shared/stories260K.gguf" -d 0,abc 2>"$tmp/e1"; [ $? = 2 ] && grep -q "depth" "$tmp/e1" || { echo "bad --depth accepted"; cat "$tmp/e1"; exit 1; }
"$bin" bench -m "$tmp/none.gguf" 2>"$tmp/e2"; [ $? = 2 ] || { echo "missing model not exit 2"; exit 1; }
echo "bench_test: ok"
