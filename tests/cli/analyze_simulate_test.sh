#!/usr/bin/env bash
# `longkv simulate` end to end: the report, JSON (deterministic for a seed), the timeline
# SVG, and bad input → exit 2 naming the flag and the valid choices.
set -u
bin=$1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$("$bin" simulate --users 4 --timeline "$tmp/t.svg") || fail "default simulate"
for s in "sessions per hour" "time to first token" "switch stall" "utilization"; do
  grep -qF "$s" <<<"$out" || fail "report lacks '$s'"
done
python3 -c "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])" "$tmp/t.svg" || fail "timeline svg"
grep -q "simulated time" "$tmp/t.svg" || fail "timeline axis label"

args=(--users 30 --arrival poisson --rate 200 --length lognormal --context 8K --context-min 1K
      --context-max 60K --think-dist exp --seed 7 --json)
"$bin" simulate "${args[@]}" | python3 -c "import json,sys; j=json.load(sys.stdin); [j.pop(k) for k in ('wall_s',)]; print(json.dumps(j, sort_keys=True))" >"$tmp/a"
"$bin" simulate "${args[@]}" | python3 -c "import json,sys; j=json.load(sys.stdin); [j.pop(k) for k in ('wall_s',)]; print(json.dumps(j, sort_keys=True))" >"$tmp/b"
cmp -s "$tmp/a" "$tmp/b" || fail "same seed, different result"
python3 - "$tmp/a" <<'PY' || fail "json content"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["sessions_completed"] == 30, j["sessions_completed"]
for k in ["ttft_s", "tpot_s", "switch_s", "queue_s"]:
    assert set(j[k]) >= {"p50", "p99"}, k
assert set(j["utilization"]) == {"compute", "bandwidth", "memory", "link"}
assert j["sessions_per_hour"] > 0
PY

# Two users at 50K on one A100: each switch moves one 12.3 GB session out and one in.
"$bin" simulate --users 2 --context 50K --json | python3 -c "
import json, sys
j = json.load(sys.stdin)
assert abs(j['switch_s']['p50'] - 1.23) < 0.03, j['switch_s']
" || fail "50K pair switch"

expect_bad() {
  local pat=$1; shift
  "$bin" simulate "$@" >/dev/null 2>"$tmp/err"; local rc=$?
  [ "$rc" = 2 ] || fail "simulate $* → exit $rc, expected 2"
  grep -q -- "$pat" "$tmp/err" || { cat "$tmp/err"; fail "simulate $*: message lacks '$pat'"; }
}
expect_bad "valid: all, poisson, uniform" --arrival sometimes
expect_bad "valid: lazy, eager" --swap never
expect_bad "valid: fixed, uniform, lognormal" --length normal
expect_bad "\-\-users" --users 0
expect_bad "\-\-users" --users -3
expect_bad "\-\-chunk" --chunk 0
expect_bad "\-\-rate" --arrival poisson --rate -1
expect_bad "\-\-context-max" --length uniform --context-min 10K --context-max 5K
expect_bad "valid: yi-34b-200k" --model nope
expect_bad "one document length" --context 4K,8K
echo "analyze_simulate_test: ok"
