#!/usr/bin/env bash
# longkv run on the real stories260K checkpoint reproduces llama2.c run.c's golden text,
# greedy (also with --no-mmap) and sampled (-t 1.0 -p 0.9 -s 133742), and rejects bad input with exit code 2.
set -u
bin=$1; src=$2; shared=$3
[ -f "$shared/stories260K.bin" ] || { echo "skip: $shared/stories260K.bin absent"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
m="$shared/stories260K.bin"; tok="$shared/tok512.bin"
"$bin" run -m "$m" --tokenizer "$tok" --temp 0 -n 256 -t 1 >"$tmp/greedy.txt" 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
cmp "$tmp/greedy.txt" "$shared/golden/stories260K_runc_t0.txt" || { echo "greedy text differs"; diff "$tmp/greedy.txt" "$shared/golden/stories260K_runc_t0.txt" | head; exit 1; }
grep -q "decode:.*tok/s" "$tmp/err" || { echo "no speed report on stderr"; cat "$tmp/err"; exit 1; }
# --no-mmap (weights copied to private huge pages) gives the same text
"$bin" run -m "$m" --tokenizer "$tok" --temp 0 -n 256 -t 1 --no-mmap >"$tmp/greedy_nommap.txt" 2>/dev/null || exit 1
cmp "$tmp/greedy_nommap.txt" "$shared/golden/stories260K_runc_t0.txt" || { echo "--no-mmap greedy text differs"; exit 1; }
"$bin" run -m "$m" --tokenizer "$tok" --temp 1.0 --top-p 0.9 --seed 133742 -n 256 -t 2 >"$tmp/sampled.txt" 2>/dev/null || exit 1
cmp "$tmp/sampled.txt" "$shared/golden/stories260K_runc_t1_p0.9_s133742.txt" || { echo "sampled text differs"; exit 1; }
# prompt continuation: the prompt is echoed and continued
"$bin" run -m "$m" --tokenizer "$tok" -p "Once upon a time" --temp 0 -n 8 >"$tmp/p.txt" 2>/dev/null || exit 1
grep -q "^Once upon a time, there was" "$tmp/p.txt" || { echo "prompt not continued:"; cat "$tmp/p.txt"; exit 1; }
# bad input: exit 2 with a message naming the problem
"$bin" run -m "$m" -p hi 2>"$tmp/e1"; [ $? = 2 ] && grep -q -- "--tokenizer" "$tmp/e1" || { echo "missing tokenizer not reported"; cat "$tmp/e1"; exit 1; }
"$bin" run -m "$tmp/nope.gguf" 2>"$tmp/e2"; [ $? = 2 ] && grep -q "not found" "$tmp/e2" || { echo "missing model not reported"; cat "$tmp/e2"; exit 1; }
"$bin" run -m "$m" --tokenizer "$tok" --kv-format int3 2>"$tmp/e3"; [ $? = 2 ] && grep -q "valid:" "$tmp/e3" || { echo "bad --kv-format"; cat "$tmp/e3"; exit 1; }
"$bin" run -m "$m" --tokenizer "$tok" --temp -1 2>"$tmp/e4"; [ $? = 2 ] || { echo "negative temp accepted"; exit 1; }
echo "run_test: ok"
