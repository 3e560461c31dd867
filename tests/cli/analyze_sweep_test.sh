#!/usr/bin/env bash
# `longkv analyze sweep` and `longkv analyze figure`: a table plus a well-formed SVG with a
# title, labelled axes and a legend; bad sweep input → exit 2 naming the field.
set -u
bin=$1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
svg_ok() {  # svg_ok file strings...
  local f=$1; shift
  python3 -c "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])" "$f" || fail "$f is not well-formed XML"
  for s in "$@"; do grep -qF -- "$s" "$f" || fail "$f lacks '$s'"; done
}

out=$("$bin" analyze sweep --over context --values 4K,50K,1M --svg "$tmp/c.svg") || fail "context sweep"
grep -q "1M" <<<"$out" || fail "sweep table"
svg_ok "$tmp/c.svg" "vs context" "context (tokens, log scale)" "prefill (s)" "sessions per hour"

for over in hardware tp kv-heads compression; do
  "$bin" analyze sweep --over $over --svg "$tmp/$over.svg" >/dev/null || fail "sweep $over"
  svg_ok "$tmp/$over.svg" "4K context" "50K context"
done
"$bin" analyze sweep --over tp --values 1,2 --json --svg "" | python3 -c "import json,sys; j=json.load(sys.stdin); assert len(j['points'])==4" \
  || fail "sweep json"

"$bin" analyze figure 2 --svg "$tmp/f2.svg" >/dev/null || fail "figure 2"
svg_ok "$tmp/f2.svg" "Figure 2" "hardware generation" "a100-80gb" "1M"
"$bin" analyze figure 3 --svg "$tmp/f3.svg" >/dev/null || fail "figure 3"
svg_ok "$tmp/f3.svg" "Figure 3" "Command-R-Plus-104B" "rounds per session"

expect_bad() {
  local pat=$1; shift
  "$bin" analyze "$@" >/dev/null 2>"$tmp/err"; local rc=$?
  [ "$rc" = 2 ] || fail "analyze $* → exit $rc, expected 2"
  grep -q -- "$pat" "$tmp/err" || { cat "$tmp/err"; fail "analyze $*: message lacks '$pat'"; }
}
expect_bad "valid: context" sweep --over colour --svg ""
expect_bad "valid: rtx-4090" sweep --over hardware --values a100-80gb,tpu --svg ""
expect_bad "2 or 3" figure 4 --svg ""
expect_bad "over" sweep --svg ""
"$bin" analyze sweep --over context --svg /nonexistent/dir/x.svg >/dev/null 2>&1; rc=$?
[ "$rc" = 1 ] || fail "unwritable svg → exit $rc, expected 1"
echo "analyze_sweep_test: ok"
