#!/usr/bin/env bash
# longkv convert: a Hugging Face folder -> GGUF with longkv's own writer.
# Round trip: `synth` writes the same random model (seed 7) as a HF folder and as a GGUF;
# converting the folder must give a GGUF whose logits are bit-identical to synth's GGUF (same
# tensors, Q/K permuted the same way) and whose tokenizer tokenizes like the folder's
# tokenizer.json. Bad input exits 2 with a message naming the problem.
set -u
bin=$1; src=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "convert_test: $*"; exit 1; }
for cfg in tiny-llama3 tiny-qwen2; do
  like="$src/tests/model/fixtures/hf_configs/$cfg.json"
  [ -f "$like" ] || fail "$like absent"
  for dt in f32 f16; do
    "$bin" synth --like "$like" --dtype $dt --seed 7 --out "$tmp/$cfg-$dt.gguf" >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
    "$bin" synth --like "$like" --dtype $dt --seed 7 --out "$tmp/$cfg-$dt-hf" >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
    "$bin" convert --in "$tmp/$cfg-$dt-hf" --out "$tmp/$cfg-$dt-conv.gguf" --dtype $dt >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err"; fail "$cfg $dt: convert failed"; }
    grep -q "wrote .*tensors" "$tmp/out" || fail "no report: $(cat "$tmp/out")"
    ids=1,17,42,99,5,250,3,77,12,64
    "$bin" run -m "$tmp/$cfg-$dt.gguf" --prompt-ids $ids -n 8 --temp 0 -t 1 --dump-logits "$tmp/a.f32" >"$tmp/a.ids" 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
    "$bin" run -m "$tmp/$cfg-$dt-conv.gguf" --prompt-ids $ids -n 8 --temp 0 -t 1 --dump-logits "$tmp/b.f32" >"$tmp/b.ids" 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
    cmp -s "$tmp/a.f32" "$tmp/b.f32" || fail "$cfg $dt: converted GGUF logits differ from synth's GGUF"
    cmp -s "$tmp/a.ids" "$tmp/b.ids" || fail "$cfg $dt: greedy ids differ"
    text='Hello world, the 12345 passkeys are   here.'
    "$bin" tokenize -m "$tmp/$cfg-$dt-hf" -p "$text" --ids-only >"$tmp/t1" 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
    "$bin" tokenize -m "$tmp/$cfg-$dt-conv.gguf" -p "$text" --ids-only >"$tmp/t2" 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
    cmp -s "$tmp/t1" "$tmp/t2" || fail "$cfg $dt: tokenization differs: $(cat "$tmp/t1") vs $(cat "$tmp/t2")"
  done
done
# q8_0 output loads and runs.
"$bin" convert --in "$tmp/tiny-llama3-f32-hf" --out "$tmp/q8.gguf" --dtype q8_0 >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; fail "q8_0 convert failed"; }
"$bin" run -m "$tmp/q8.gguf" --prompt-ids 1,2,3 -n 2 --temp 0 -t 1 >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; fail "q8_0 GGUF does not run"; }

expect2() {  # expect2 <pattern> <args...>: exit code 2 and the pattern on stderr
  local pat=$1; shift
  "$bin" convert "$@" >/dev/null 2>"$tmp/err"; local rc=$?
  [ $rc -eq 2 ] || fail "convert $* exited $rc, expected 2 ($(cat "$tmp/err"))"
  grep -q -- "$pat" "$tmp/err" || fail "convert $*: message lacks '$pat': $(cat "$tmp/err")"
}
expect2 "not a .*file" --in "$tmp/tiny-llama3-f32.gguf" --out "$tmp/x.gguf"
expect2 "must end in .gguf" --in "$tmp/tiny-llama3-f32-hf" --out "$tmp/x.bin"
expect2 "q4_k" --in "$tmp/tiny-llama3-f32-hf" --out "$tmp/x.gguf" --dtype q4_k
expect2 "not a weight type" --in "$tmp/tiny-llama3-f32-hf" --out "$tmp/x.gguf" --dtype f8
expect2 "" --in "$tmp/absent" --out "$tmp/x.gguf"
cp -r "$tmp/tiny-llama3-f32-hf" "$tmp/dms"
sed -i 's/^{/{"dms_cr": 4,/' "$tmp/dms/config.json"
expect2 "dms_cr" --in "$tmp/dms" --out "$tmp/x.gguf"
[ ! -e "$tmp/x.gguf" ] || fail "a failed convert left $tmp/x.gguf"
echo "convert_test: ok"
