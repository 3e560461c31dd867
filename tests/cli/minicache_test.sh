#!/usr/bin/env bash
# MiniCache end to end on stories260K: merging the deep layer pair drops the held KV (side store
# included), retain=1 (nothing merged) reproduces `full` exactly, bad options exit 2.
set -u
bin=$1
models=$3
[ -f "$models/stories260K.bin" ] || { echo "minicache_test: SKIP: $models/stories260K.bin not found"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "minicache_test: FAIL: $*"; exit 1; }
m=(-m "$models/stories260K.bin" --tokenizer "$models/tok512.bin" -t 1 --no-progress)
"$bin" eval "${m[@]}" --tasks passkey --lengths 300 -n 1 --seed 4 \
  --kv "full,minicache:start=1:retain=0.05,minicache:retain=1" --out "$tmp/ev" >/dev/null 2>"$tmp/err" ||
  { cat "$tmp/err"; fail "eval"; }
python3 - "$tmp/ev/samples.jsonl" <<'PY' || fail "results"
import json, sys
r = {json.loads(l)["method"]: json.loads(l) for l in open(sys.argv[1])}
f, mc, none = r["full"], r["minicache:start=1:retain=0.05"], r["minicache:retain=1"]
c = mc["compression"]["minicache"]
assert c["pairs"] == 2 and c["merged_tokens"] > 0 and c["side_bytes"] > 0, c
assert mc["held_kv_bytes"] < 0.85 * f["held_kv_bytes"], (mc["held_kv_bytes"], f["held_kv_bytes"])
assert none["compression"]["minicache"]["merged_tokens"] == 0
assert none["predictions"] == f["predictions"], (none["predictions"], f["predictions"])
PY
"$bin" eval "${m[@]}" --tasks passkey --lengths 300 -n 1 --kv "minicache:retain=3" --out "$tmp/e2" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] || fail "bad retain should exit 2"
grep -q "valid: start=L" "$tmp/err" || fail "message"
echo "minicache_test: ok"
