#!/usr/bin/env bash
# End to end: longkv bench-kv (tier bandwidth JSON, memory check) and longkv kv-snapshot
# (synth, inspect, restore, refusal of another model's or a corrupted snapshot).
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "kv_cli_test: $*"; exit 1; }

# bench-kv on the host tier, tiny shape, JSON keys present and positive.
out=$("$bin" bench-kv --tier host --tokens 64 --layers 2 --kv-heads 2 --head-dim 32 --repeat 1 --json) \
  || fail "bench-kv host failed"
for key in tier swap_out_gbps swap_in_gbps raw_gbps; do
  echo "$out" | grep -q "\"$key\"" || fail "missing key $key in: $out"
done
echo "$out" | grep -q '"tier": "host"' || fail "tier is not host: $out"
# disk tier in a cache dir of ours
"$bin" bench-kv --tier disk --cache-dir "$tmp/cache" --no-fsync --tokens 32 --layers 1 --kv-heads 2 \
  --head-dim 32 --repeat 1 --json | grep -q '"tier": "disk"' || fail "bench-kv disk failed"
[ -z "$(ls -A "$tmp/cache")" ] || fail "bench-kv left files in the cache dir"
# memory check: a 128K-token session of one head at int4 is at most 27% of f16
mc=$("$bin" bench-kv --mem-check --tokens 131072 --layers 1 --kv-heads 1 --json) || fail "mem-check failed"
ratio=$(echo "$mc" | sed -n 's/.*"accounting_ratio": \([0-9.e-]*\).*/\1/p')
awk -v r="$ratio" 'BEGIN { exit !(r > 0.2 && r <= 0.27) }' || fail "int4 accounting ratio $ratio"
# bad input: exit 2 with the valid choices named
"$bin" bench-kv --tier tape 2>"$tmp/err"; [ $? = 2 ] || fail "bad tier not exit 2"
grep -q "valid: host, disk, redis, all" "$tmp/err" || fail "no valid tiers listed"
"$bin" bench-kv --format int3 2>"$tmp/err"; [ $? = 2 ] || fail "bad format not exit 2"

# snapshots
"$bin" kv-snapshot synth "$tmp/s.lkkv" --tokens 70 --format int4 --evict-every 4 >/dev/null \
  || fail "synth failed"
"$bin" kv-snapshot inspect "$tmp/s.lkkv" --json | grep -q '"checksums_verified": true' \
  || fail "inspect failed"
"$bin" kv-snapshot restore "$tmp/s.lkkv" --format int4 | grep -q "length 70" || fail "restore failed"
"$bin" kv-snapshot restore "$tmp/s.lkkv" --format int4 --model-digest other-model 2>"$tmp/err"
[ $? = 2 ] || fail "other model's snapshot not refused"
grep -q "saved for model 'synthetic-model'" "$tmp/err" || fail "refusal does not name the model"
# flip one byte near the end (block data): checksum mismatch, exit 2
size=$(stat -c %s "$tmp/s.lkkv")
printf '\xff' | dd of="$tmp/s.lkkv" bs=1 seek=$((size - 5)) conv=notrunc status=none
"$bin" kv-snapshot inspect "$tmp/s.lkkv" 2>"$tmp/err"; [ $? = 2 ] || fail "corrupt not exit 2"
grep -q "checksum" "$tmp/err" || fail "corruption not reported as a checksum error"
"$bin" kv-snapshot restore "$tmp/s.lkkv" --format int4 2>/dev/null; [ $? = 2 ] || fail "corrupt restored"
head -c 100 "$tmp/s.lkkv" >"$tmp/t.lkkv"
"$bin" kv-snapshot inspect "$tmp/t.lkkv" 2>"$tmp/err"; [ $? = 2 ] || fail "truncated not exit 2"
grep -q "truncated" "$tmp/err" || { cat "$tmp/err"; fail "truncation not named"; }
echo "kv_cli_test: ok"
