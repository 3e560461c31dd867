#!/usr/bin/env bash
# One random model, two files: `longkv synth` writes the same seed as a GGUF (llama-arch Q/K
# permuted, llama3 factors in rope_freqs) and as a Hugging Face folder. The engine must give
# the same logits for both (adjacent-pair RoPE on the GGUF, rotate-half on HF), and generate
# text from the GGUF with its own tokenizer and chat template.
set -u
bin=$1; src=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for cfg in tiny-llama3 tiny-qwen3 tiny-qwen2; do
  like="$src/tests/model/fixtures/hf_configs/$cfg.json"
  [ -f "$like" ] || { echo "skip: $like absent"; continue; }
  "$bin" synth --like "$like" --dtype f32 --seed 7 --out "$tmp/$cfg.gguf" >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
  "$bin" synth --like "$like" --dtype f32 --seed 7 --out "$tmp/$cfg-hf" >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
  ids=1,17,42,99,5,250,3,77,12,64
  "$bin" run -m "$tmp/$cfg.gguf" --prompt-ids $ids -n 12 --temp 0 --dump-logits "$tmp/a.f32" >"$tmp/a.ids" 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
  "$bin" run -m "$tmp/$cfg-hf" --prompt-ids $ids -n 12 --temp 0 --dump-logits "$tmp/b.f32" >"$tmp/b.ids" 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
  cmp -s "$tmp/a.ids" "$tmp/b.ids" || { echo "$cfg: greedy ids differ between GGUF and HF"; cat "$tmp/a.ids" "$tmp/b.ids"; exit 1; }
  python3 - "$tmp/a.f32" "$tmp/b.f32" "$cfg" <<'PY' || exit 1
import struct, sys
a = open(sys.argv[1], "rb").read(); b = open(sys.argv[2], "rb").read()
assert len(a) == len(b) and len(a) > 0, (len(a), len(b))
fa = struct.unpack(f"{len(a)//4}f", a); fb = struct.unpack(f"{len(b)//4}f", b)
err = max(abs(x - y) for x, y in zip(fa, fb))
print(f"{sys.argv[3]}: GGUF vs HF max |logit diff| {err:.2e}")
assert err < 1e-4, err
PY
done
# text generation with the synthesized tokenizer and chat template
"$bin" run -m "$tmp/tiny-llama3.gguf" -p "hello" --chat -n 8 --temp 0.7 --seed 1 >"$tmp/chat.txt" 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
grep -q "decode:" "$tmp/err" || { echo "no speed report"; cat "$tmp/err"; exit 1; }
echo "synth_engine_test: ok"
