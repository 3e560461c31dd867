#!/usr/bin/env bash
# Tier demotion with recall on stories260K: streaming:8x+demote holds the same device bytes as
# streaming:8x (evicted tokens live in the host tier), demote:1.0 recalls every page and gives
# the same answer as full, and the report counts demoted / recalled tokens.
set -u
bin=$1
models=$3
[ -f "$models/stories260K.bin" ] || { echo "demote_test: SKIP: $models/stories260K.bin not found"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "demote_test: FAIL: $*"; exit 1; }
"$bin" eval -m "$models/stories260K.bin" --tokenizer "$models/tok512.bin" -t 1 --no-progress \
  --tasks passkey --lengths 300 -n 1 --seed 3 \
  --kv "full,streaming:8x,streaming:8x+demote:0.25,streaming:8x+demote:1.0" --out "$tmp/ev" \
  >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; fail "eval"; }
python3 - "$tmp/ev/samples.jsonl" <<'PY' || fail "results"
import json, sys
r = {json.loads(l)["method"]: json.loads(l) for l in open(sys.argv[1])}
f, s, d25, d100 = r["full"], r["streaming:8x"], r["streaming:8x+demote:0.25"], r["streaming:8x+demote:1.0"]
assert d25["held_kv_bytes"] == s["held_kv_bytes"] == d100["held_kv_bytes"], (s, d25)
c = d25["compression"]["demote"]
assert c["tier"] == "host" and c["demoted_tokens"] > 0 and c["tier_bytes"] > 0, c
assert 0 < c["recalled_tokens"] < d100["compression"]["demote"]["recalled_tokens"], c
assert c["recall_errors"] == 0
assert d100["predictions"] == f["predictions"], (d100["predictions"], f["predictions"])
PY
"$bin" eval -m "$models/stories260K.bin" --tokenizer "$models/tok512.bin" --tasks passkey --lengths 300 \
  -n 1 --kv "quest:0.5+demote" --out "$tmp/e2" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] || fail "demote without an eviction method should exit 2"
echo "demote_test: ok"
