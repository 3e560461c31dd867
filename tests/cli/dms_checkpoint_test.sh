#!/usr/bin/env bash
# DMS from a checkpoint through the CLI: `longkv synth` + `longkv dms-synth` make a model whose
# config.json carries the official dms_* keys and whose decisions are known (kv head h evicts
# the key before token t when (t even) == (h even)); `longkv run` (default --kv auto) and
# `longkv eval --kv dms` take the decisions from the model and evict from the paged cache.
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "dms_checkpoint_test: FAIL: $*"; exit 1; }
cat >"$tmp/cfg.json" <<'JSON'
{"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":64,"intermediate_size":96,
 "num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":16,
 "max_position_embeddings":2048,"rms_norm_eps":1e-5,"rope_theta":10000,"vocab_size":300,
 "tie_word_embeddings":false}
JSON
"$bin" synth --like "$tmp/cfg.json" --dtype f32 --out "$tmp/base" >/dev/null || fail "synth"
for form in neuron proj; do
  "$bin" dms-synth --from "$tmp/base" --out "$tmp/$form" --form "$form" --window 4 >/dev/null ||
    fail "dms-synth $form"
  grep -q '"dms_window_size": 4' "$tmp/$form/config.json" || fail "dms keys in config.json"
  # Prompt 1..20, 3 decode tokens fed: keys 0..18 are past the window; tokens 2..20 decide
  # them: 10 even, 9 odd -> head 0 evicts 10, head 1 evicts 9, over 2 layers: 38.
  ids=$(seq -s, 1 20)
  "$bin" run -m "$tmp/$form" --prompt-ids "$ids" -n 4 --temp 0 -t 1 >"$tmp/out" 2>"$tmp/err" ||
    { cat "$tmp/err"; fail "run $form"; }
  grep -q "kv: dms | retained .* 38 evictions" "$tmp/err" || { cat "$tmp/err"; fail "run $form evictions"; }
  grep -q '"from_model":true' "$tmp/err" || fail "run $form from_model"
  # --kv full keeps everything (no compression line).
  "$bin" run -m "$tmp/$form" --prompt-ids "$ids" -n 4 --temp 0 -t 1 --kv full >/dev/null 2>"$tmp/err" ||
    fail "run --kv full"
  ! grep -q "evictions" "$tmp/err" || fail "--kv full evicted"
done
# A threshold on a model with its own decisions is refused (exit 2), naming the form to use.
"$bin" run -m "$tmp/neuron" --prompt-ids 1,2,3 -n 1 --kv dms:threshold=0.1 >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] || fail "threshold on DMS model should exit 2"
grep -q "carries its own DMS decisions" "$tmp/err" || fail "threshold message"
# Unknown forms are refused.
"$bin" dms-synth --from "$tmp/base" --out "$tmp/x" --form bogus >/dev/null 2>&1
[ $? -eq 2 ] || fail "dms-synth --form bogus should exit 2"
# eval: the dms method runs from the model's decisions and the held KV drops.
"$bin" eval -m "$tmp/neuron" --tasks passkey --lengths 200 -n 1 --seed 1 -t 1 --no-progress \
  --kv full,dms --out "$tmp/ev" >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; fail "eval"; }
python3 - "$tmp/ev/samples.jsonl" <<'PY' || fail "eval results"
import json, sys
recs = {json.loads(l)["method"]: json.loads(l) for l in open(sys.argv[1])}
d, f = recs["dms"], recs["full"]
assert "error" not in d, d
c = d["compression"]
assert c["dms"]["from_model"] and c["evictions"] > 0, c
assert 0.3 < c["retained_ratio"] < 0.7, c["retained_ratio"]
assert d["held_kv_bytes"] < 0.75 * f["held_kv_bytes"], (d["held_kv_bytes"], f["held_kv_bytes"])
print("dms eval: retained", round(c["retained_ratio"], 3), "held", d["held_kv_bytes"], "of", f["held_kv_bytes"])
PY
echo "dms_checkpoint_test: ok"
