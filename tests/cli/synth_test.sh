#!/usr/bin/env bash
# longkv synth + inspect end to end: a tiny GGUF and HF folder are written, inspected, and
# bad input gets exit code 2 with a message naming the problem.
set -u
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cfg=$src/tests/model/fixtures/hf_configs/tiny-qwen3.json
fail() { echo "synth_test: $*"; exit 1; }

"$bin" synth --like "$cfg" --dtype q8_0 --seed 1 --out "$tmp/m.gguf" >"$tmp/out.txt" || fail "synth gguf"
grep -q "qwen3, 2 layers" "$tmp/out.txt" || fail "summary: $(cat "$tmp/out.txt")"
"$bin" inspect "$tmp/m.gguf" >"$tmp/ins.txt" || fail "inspect gguf"
grep -q 'tokenizer.ggml.pre *"qwen2"' "$tmp/ins.txt" || fail "no tokenizer pre"
grep -q "blk.1.attn_q_norm.weight *f32" "$tmp/ins.txt" || fail "no q_norm in tensor table"
grep -q "qk norm yes" "$tmp/ins.txt" || fail "spec not shown"
"$bin" synth --like "$cfg" --dtype bf16 --layers 1 --ctx 512 --out "$tmp/hf" >/dev/null || fail "synth hf"
for f in config.json model.safetensors tokenizer.json tokenizer_config.json; do
  [ -f "$tmp/hf/$f" ] || fail "missing $f"
done
"$bin" inspect "$tmp/hf" >"$tmp/ins2.txt" || fail "inspect hf"
grep -q "layers 1," "$tmp/ins2.txt" || fail "--layers not applied"
grep -q "context 512" "$tmp/ins2.txt" || fail "--ctx not applied"

expect2() {  # expect exit code 2 and a message
  local needle=$1; shift
  "$@" >/dev/null 2>"$tmp/err.txt"; local rc=$?
  [ "$rc" = 2 ] || fail "expected exit 2 from '$*', got $rc"
  grep -q -- "$needle" "$tmp/err.txt" || fail "'$needle' not in: $(cat "$tmp/err.txt")"
}
expect2 "not a weight type" "$bin" synth --like "$cfg" --dtype q3_k --out "$tmp/x.gguf"
expect2 "'no-such-model'" "$bin" synth --like no-such-model --out "$tmp/x.gguf"
expect2 "multiples of 256" "$bin" synth --like "$cfg" --dtype q4_k --out "$tmp/x.gguf"
expect2 "f32, f16 or bf16" "$bin" synth --like "$cfg" --dtype q8_0 --out "$tmp/xdir"
expect2 "not supported" "$bin" synth --like "$src/tests/model/fixtures/hf_configs/mixtral-8x7b.json" --out "$tmp/x.gguf"
expect2 "--layers must be positive" "$bin" synth --like "$cfg" --layers 0 --out "$tmp/x.gguf"
printf 'GGUF\x07\x00\x00\x00' >"$tmp/bad.gguf"
expect2 "version 7" "$bin" inspect "$tmp/bad.gguf"
head -c 1000 "$tmp/m.gguf" >"$tmp/trunc.gguf"
expect2 "truncated" "$bin" inspect "$tmp/trunc.gguf"
expect2 "not found" "$bin" inspect "$tmp/m.gguf" --dump nope --out "$tmp/d.f32"
echo "synth_test: ok"
