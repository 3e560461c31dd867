#!/usr/bin/env bash
# DuoAttention end to end on stories260K: profile-heads writes a head map (scores are 0 when the
# streaming window covers the whole prompt, positive otherwise), and `eval --kv duo:R` keeps the
# top R share of kv heads full while the others hold sinks + window, so the held KV drops.
set -u
bin=$1
models=$3
[ -f "$models/stories260K.bin" ] || { echo "duo_test: SKIP: $models/stories260K.bin not found"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "duo_test: FAIL: $*"; exit 1; }
m=(-m "$models/stories260K.bin" --tokenizer "$models/tok512.bin" -t 1)
"$bin" profile-heads "${m[@]}" --length 300 -n 2 --window 32 --out "$tmp/heads.json" >"$tmp/out" ||
  fail "profile-heads"
grep -q "layer   4:" "$tmp/out" || fail "profile table"
"$bin" profile-heads "${m[@]}" --length 300 -n 1 --window 100000 --out "$tmp/zero.json" >/dev/null ||
  fail "profile-heads wide window"
python3 - "$tmp/heads.json" "$tmp/zero.json" <<'PY' || fail "head maps"
import json, sys
a, z = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a["format"] == "longkv-head-map-v1" and a["n_layers"] == 5 and a["n_kv_heads"] == 4
flat = [x for r in a["scores"] for x in r]
assert max(flat) > 0.01 and min(flat) >= 0, flat
assert all(abs(x) < 1e-9 for r in z["scores"] for x in r), z["scores"]
PY
"$bin" eval "${m[@]}" --no-progress --tasks passkey --lengths 300 -n 1 --seed 2 \
  --kv "full,duo:0.5:window=32:map=$tmp/heads.json,duo:1.0:map=$tmp/heads.json" --out "$tmp/ev" \
  >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; fail "eval"; }
python3 - "$tmp/ev/samples.jsonl" <<'PY' || fail "eval results"
import json, sys
recs = {json.loads(l)["method"].split(":map")[0]: json.loads(l) for l in open(sys.argv[1])}
f, d, all_ = recs["full"], recs["duo:0.5:window=32"], recs["duo:1.0"]
for r in (d, all_): assert "error" not in r, r
c = d["compression"]["duo"]
assert c["retrieval_heads"] == 10 and c["streaming_heads"] == 10, c
assert d["held_kv_bytes"] < 0.75 * f["held_kv_bytes"], (d["held_kv_bytes"], f["held_kv_bytes"])
# Every head retrieval: nothing evicted, same answer as full.
assert all_["compression"]["evictions"] == 0 and all_["predictions"] == f["predictions"], all_
PY
# A missing map names the command that makes one (exit 2).
"$bin" eval "${m[@]}" --no-progress --tasks passkey --lengths 300 -n 1 --kv duo:0.5 --out "$tmp/e2" \
  >/dev/null 2>"$tmp/err"
grep -q "profile-heads" "$tmp/err" "$tmp/e2/samples.jsonl" 2>/dev/null || { cat "$tmp/err"; fail "missing map message"; }
echo "duo_test: ok"
