#!/usr/bin/env bash
# longkv run on the paged KV manager (stories260K): the default paged f32 cache and the
# contiguous cache give the same greedy text; int8 and KIVI int4 run end to end (int8's first
# 48 greedy tokens equal f32's); stderr reports the cache and its bytes; a decode past the
# --kv-budget stops cleanly; swapping out and in mid-generation (with every tier copy lost or
# corrupted: recompute) keeps the text identical; bad --kv-*/--swap-* values exit 2 naming the
# valid choices.
set -u
bin=$1; shared=$3
[ -f "$shared/stories260K.bin" ] || { echo "skip: $shared/stories260K.bin absent"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "run_kv_test: FAIL: $*"; exit 1; }
r=("$bin" run -m "$shared/stories260K.bin" --tokenizer "$shared/tok512.bin" --temp 0 -t 1)

"${r[@]}" -n 200 >"$tmp/paged.txt" 2>"$tmp/paged.err" || { cat "$tmp/paged.err"; fail "paged"; }
grep -q "kv paged f32, 16-token blocks" "$tmp/paged.err" || { cat "$tmp/paged.err"; fail "no paged cache report"; }
grep -q "^kv: [0-9]* blocks" "$tmp/paged.err" || fail "no kv usage line"
"${r[@]}" -n 200 --kv-cache contiguous >"$tmp/contig.txt" 2>/dev/null || fail "contiguous"
cmp -s "$tmp/paged.txt" "$tmp/contig.txt" || fail "paged and contiguous greedy text differ"

"${r[@]}" -n 48 >"$tmp/f32.txt" 2>/dev/null || fail "f32 48"
"${r[@]}" -n 48 --kv-format int8 >"$tmp/int8.txt" 2>"$tmp/int8.err" || { cat "$tmp/int8.err"; fail "int8"; }
grep -q "kv paged int8" "$tmp/int8.err" || fail "int8 not reported"
cmp -s "$tmp/f32.txt" "$tmp/int8.txt" || { diff "$tmp/f32.txt" "$tmp/int8.txt"; fail "int8 greedy text differs"; }
"${r[@]}" -n 48 --kv-format kivi4 --kv-block 16 >"$tmp/kivi.txt" 2>"$tmp/kivi.err" || { cat "$tmp/kivi.err"; fail "kivi4"; }
grep -q "kv paged int4, 16-token blocks" "$tmp/kivi.err" || { cat "$tmp/kivi.err"; fail "kivi4 not reported"; }
[ "$(wc -c <"$tmp/kivi.txt")" -gt 100 ] || fail "kivi4 produced no text"
"${r[@]}" -n 8 --prompt-ids 1,403,407 --kv-format kivi2 --kv-block 32 >"$tmp/ids.txt" 2>/dev/null || fail "kivi2 ids mode"
[ "$(wc -w <"$tmp/ids.txt")" = 8 ] || fail "kivi2 ids mode printed $(cat "$tmp/ids.txt")"

# Context-switch drill: swapping out and back in every 7 tokens (disk, every copy corrupted:
# swap-in must recompute) and every 10 (host, every copy lost, KIVI int4) leaves the text
# unchanged.
"${r[@]}" -n 200 --swap-every 7 --swap-tier disk --swap-fault corrupt >"$tmp/swap.txt" 2>"$tmp/swap.err" || { cat "$tmp/swap.err"; fail "swap drill"; }
cmp -s "$tmp/paged.txt" "$tmp/swap.txt" || fail "text changed by swapping with recompute"
grep -q "swap: 28 round trips via disk" "$tmp/swap.err" || { cat "$tmp/swap.err"; fail "no swap summary"; }
grep -q "corrupt: [1-9][0-9]* recomputes" "$tmp/swap.err" || { cat "$tmp/swap.err"; fail "no recompute"; }
"${r[@]}" -n 48 --kv-format kivi4 --kv-block 16 --swap-every 10 --swap-fault lose >"$tmp/swap4.txt" 2>"$tmp/swap4.err" || { cat "$tmp/swap4.err"; fail "kivi swap drill"; }
cmp -s "$tmp/kivi.txt" "$tmp/swap4.txt" || fail "kivi4 text changed by swapping"
grep -q "lose: 4 recomputes" "$tmp/swap4.err" || { cat "$tmp/swap4.err"; fail "kivi4: no recompute"; }

# A budget of 4 blocks per (layer, kv head) = 64 tokens: generation stops there, exit 0.
"${r[@]}" -n 200 --kv-budget 80KiB >/dev/null 2>"$tmp/budget.err" || { cat "$tmp/budget.err"; fail "budget run"; }
grep -q "\[kv budget full\]" "$tmp/budget.err" || { cat "$tmp/budget.err"; fail "budget stop not reported"; }

expect2() {  # expect2 PATTERN ARGS...: exit code 2 and PATTERN on stderr
  local pat=$1; shift
  "${r[@]}" "$@" >/dev/null 2>"$tmp/e"; local rc=$?
  [ $rc = 2 ] && grep -q -- "$pat" "$tmp/e" || { echo "args: $*"; cat "$tmp/e"; fail "expected exit 2 with '$pat' (got $rc)"; }
}
expect2 "valid: auto, f32, f16, bf16, int8, int4 (kivi4), int2 (kivi2)" --kv-format int3
expect2 "valid: paged, contiguous" --kv-cache ring
expect2 "needs the paged cache" --kv-cache contiguous --kv-format int8
expect2 "not a byte size" --kv-budget lots
expect2 "give at least 20480 bytes" --kv-budget 1KiB
expect2 "kv-block must be in" --kv-block -3
expect2 "valid: host, disk" --swap-every 4 --swap-tier tape
expect2 "valid: none, lose, corrupt" --swap-every 4 --swap-fault flaky
expect2 "needs the paged KV cache" --swap-every 4 --kv-cache contiguous
expect2 "KV cache budget of" --kv-budget 20KiB -p "Once upon a time there was a big dog and a small cat that lived by the sea"
echo "run_kv_test: ok"
