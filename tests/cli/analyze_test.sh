#!/usr/bin/env bash
# `longkv analyze` end to end: the default report (Yi-34B-200K on one A100, 4K vs 50K, with
# the errata), JSON keys, CSV, and bad input → exit 2 with a message naming the field.
set -u
bin=$1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$("$bin" analyze) || fail "default run failed"
for s in "Yi-34B-200K" "A100 80GB" "4K" "50K" "concurrency" "prefill" "decode 250 tokens" \
         "context switch" "sessions per hour" "Errata" "0.91 GB" "~20" "4.33e15" "122 GB"; do
  grep -qF -- "$s" <<<"$out" || fail "default report lacks '$s'"
done

"$bin" analyze --json >"$tmp/a.json" || fail "--json failed"
python3 - "$tmp/a.json" <<'PY' || fail "json keys"
import json, sys
j = json.load(open(sys.argv[1]))
for k in ["kv_bytes_per_token", "kv_bytes_per_session", "concurrency", "prefill_s", "decode_s",
          "switch_s", "sessions_per_hour"]:
    assert k in j and isinstance(j[k], (int, float)), k
assert j["kv_bytes_per_token"] == 245760, j["kv_bytes_per_token"]
assert abs(j["kv_bytes_per_session"] - 4000 * 245760) < 1
assert [p["context_tokens"] for p in j["points"]] == [4000, 50000]
PY

out=$("$bin" analyze --context 50K --mfu 0.7 --flops 312T --mem 80G --bw 2T --link 20G --d-attn 4096 \
      --params 34e9 --json) || fail "overrides"
python3 -c "import json,sys; j=json.loads(sys.argv[1]); assert abs(j['prefill_s']-14.836/0.7)<0.01, j['prefill_s']; assert abs(j['switch_s']-1.2288)<1e-3" "$out" \
  || fail "source-input prefill/switch"

"$bin" analyze --csv --context 4K,50K,1M >"$tmp/a.csv" || fail "--csv"
[ "$(wc -l <"$tmp/a.csv")" = 4 ] || fail "csv rows"
head -1 "$tmp/a.csv" | grep -q "kv_bytes_per_session" || fail "csv header"

"$bin" analyze --explain | grep -q "arithmetic slip" || fail "--explain reasons"
"$bin" analyze --list | grep -q "mi300x" || fail "--list hardware"
"$bin" analyze --model deepseek-v2 --hardware h200 --tp 8 --context 128K --compress snapkv,kivi \
  >/dev/null || fail "deepseek compress"

expect_bad() {  # expect_bad <pattern> args...
  local pat=$1; shift
  "$bin" analyze "$@" >/dev/null 2>"$tmp/err"; local rc=$?
  [ "$rc" = 2 ] || fail "analyze $* → exit $rc, expected 2"
  grep -q -- "$pat" "$tmp/err" || { cat "$tmp/err"; fail "analyze $*: message lacks '$pat'"; }
}
expect_bad "valid: yi-34b-200k" --model yi-35b
expect_bad "valid: rtx-4090" --hardware a200
expect_bad "\-\-context" --context -5
expect_bad "\-\-context" --context 12abc
expect_bad "\-\-tp" --tp 0
expect_bad "\-\-mfu" --mfu 3
expect_bad "\-\-bw" --bw -1
expect_bad "valid: yoco" --compress h3o
expect_bad "\-\-kv-dtype" --kv-dtype int3
expect_bad "\-\-rounds" --rounds 0
expect_bad "\-\-token-keep" --token-keep 1.5
expect_bad "\-\-rounds" --rounds abc
expect_bad "\-\-config" --config "$tmp/missing.json"
echo "analyze_test: ok"
