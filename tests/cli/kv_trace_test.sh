#!/usr/bin/env bash
# `longkv kv-trace`: the positions a KV method keeps per (layer, kv-head). StreamingLLM's set is
# known in closed form (sinks + recent window); `full` keeps everything; the prompt's own
# next-token logits come before any eviction, so they equal full's; decode-time eviction on/off
# changes what is held at the end. Bad input exits 2.
set -u
bin=$1; src=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "kv_trace_test: $*"; exit 1; }
"$bin" synth --like "$src/tests/model/fixtures/hf_configs/tiny-llama3.json" --dtype f32 --seed 2 \
  --out "$tmp/m" >/dev/null || fail synth
ids=$(python3 -c "print(','.join(str(3 + (i * 37) % 300) for i in range(40)))")
run() { "$bin" kv-trace -m "$tmp/m" --prompt-ids "$ids" --json -t 1 "$@"; }
run --kv full -n 5 >"$tmp/full.json" || fail "full"
run --kv streaming:0.5 -n 5 >"$tmp/on.json" || fail "streaming on"
run --kv streaming:0.5 -n 5 --decode-eviction off >"$tmp/off.json" || fail "streaming off"
python3 - "$tmp" <<'PY' || exit 1
import json, sys
d = sys.argv[1]
full, on, off = (json.load(open(f"{d}/{n}.json")) for n in ("full", "on", "off"))
n = 40
assert full["prompt_tokens"] == n and full["keep_per_head"] == -1, full["keep_per_head"]
assert all(h == list(range(n)) for layer in full["kept"] for h in layer), "full must keep every position"
assert on["keep_per_head"] == 20, on["keep_per_head"]
want = list(range(4)) + list(range(24, 40))  # 4 sinks + the 16 most recent
assert all(h == want for layer in on["kept"] for h in layer), on["kept"][0][0]
assert on["kept"] == off["kept"]
# The prompt's logits are computed before the policy evicts.
assert on["argmax"][0] == full["argmax"][0]
assert len(on["greedy"]) == 5 and len(full["greedy"]) == 5
# 4 greedy tokens joined the cache: held at the budget with eviction, 24 without.
assert all(x == 20 for layer in on["held_end"] for x in layer), on["held_end"]
assert all(x == 24 for layer in off["held_end"] for x in layer), off["held_end"]
assert all(x == 44 for layer in full["held_end"] for x in layer), full["held_end"]
PY
"$bin" kv-trace -m "$tmp/m" -p "hello there, a short prompt" --kv tova:0.5 >"$tmp/text.txt" || fail "text prompt"
grep -q "layer 1 head 1:" "$tmp/text.txt" || { cat "$tmp/text.txt"; fail "summary lacks layer 1 head 1"; }
expect2() {  # name, pattern, args...
  local name=$1 pat=$2; shift 2
  "$bin" kv-trace -m "$tmp/m" "$@" >/dev/null 2>"$tmp/err"
  rc=$?
  [ $rc -eq 2 ] || { cat "$tmp/err"; fail "$name: exit $rc, expected 2"; }
  grep -q "$pat" "$tmp/err" || { cat "$tmp/err"; fail "$name: message lacks '$pat'"; }
}
expect2 "unknown method" "valid:" --prompt-ids 1,2,3 --kv snapvk:0.5
expect2 "id outside vocab" "vocabulary" --prompt-ids 1,99999
expect2 "not an id" "not a token id" --prompt-ids 1,x
expect2 "no prompt" "exactly one" --kv full
expect2 "bad decode-eviction" "valid: on, off" --prompt-ids 1,2 --decode-eviction maybe
expect2 "too long" "context" --prompt-ids 1,2 -n 5000
echo "kv_trace_test: ok"
