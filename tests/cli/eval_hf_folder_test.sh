#!/usr/bin/env bash
# `longkv eval -m DIR` on a Hugging Face folder (config.json + model.safetensors +
# tokenizer.json) works like a GGUF model: `longkv synth` writes the same random model both
# ways; the same tasks must give the same prompts and the same greedy predictions, for `full`
# and for a compressed method. Broken folders are refused with exit 2 and a message naming
# what is missing.
set -u
bin=$1; src=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "eval_hf_folder_test: $*"; exit 1; }
like="$src/tests/model/fixtures/hf_configs/tiny-llama3.json"
"$bin" synth --like "$like" --dtype f32 --seed 5 --out "$tmp/m-hf" >/dev/null || fail "synth hf"
"$bin" synth --like "$like" --dtype f32 --seed 5 --out "$tmp/m.gguf" >/dev/null || fail "synth gguf"
args=(--tasks passkey,niah_single:depths=0.5 --lengths 300 -n 2 --kv full,snapkv:0.5 -t 1 --no-progress)
"$bin" eval -m "$tmp/m-hf" "${args[@]}" --out "$tmp/hf" >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; fail "eval on the folder"; }
"$bin" eval -m "$tmp/m.gguf" "${args[@]}" --out "$tmp/gguf" >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; fail "eval on the gguf"; }
python3 - "$tmp/hf" "$tmp/gguf" <<'PY' || exit 1
import json, sys
def load(d):
    return {(r["method"], r["id"]): r for r in map(json.loads, open(d + "/samples.jsonl"))}
hf, gg = load(sys.argv[1]), load(sys.argv[2])
assert len(hf) == 8 and hf.keys() == gg.keys(), (len(hf), sorted(hf))
for k, r in hf.items():
    assert "error" not in r, r
    assert r["prompt_tokens"] > 250, r  # filled towards 300 tokens with the folder's tokenizer
    assert r["prompt_tokens"] == gg[k]["prompt_tokens"], (k, r["prompt_tokens"], gg[k]["prompt_tokens"])
    assert r["predictions"] == gg[k]["predictions"], (k, r["predictions"], gg[k]["predictions"])
    if k[0] != "full":
        assert r["held_kv_bytes"] < hf[("full", k[1])]["held_kv_bytes"], (k, r["held_kv_bytes"])
rows = json.load(open(sys.argv[1] + "/results.json"))["results"]
assert {x["method"] for x in rows} == {"full", "snapkv:0.5"} and all(x["n"] == 2 for x in rows), rows
run = json.load(open(sys.argv[1] + "/run.json"))
print("eval_hf_folder_test: folder and GGUF agree on", len(hf), "samples; model", run.get("model"))
PY
# Broken folders: exit 2, the message names what is missing.
expect2() {  # name, pattern, model dir
  "$bin" eval -m "$3" --tasks passkey --lengths 300 -n 1 >/dev/null 2>"$tmp/err"
  rc=$?
  [ $rc -eq 2 ] || { cat "$tmp/err"; fail "$1: exit $rc, expected 2"; }
  grep -q "$2" "$tmp/err" || { cat "$tmp/err"; fail "$1: message lacks '$2'"; }
}
mkdir "$tmp/empty" "$tmp/noweights" "$tmp/notok"
expect2 "empty folder" "config.json" "$tmp/empty"
cp "$tmp/m-hf/config.json" "$tmp/m-hf/tokenizer.json" "$tmp/noweights/"
expect2 "no safetensors" "model.safetensors" "$tmp/noweights"
cp "$tmp/m-hf/config.json" "$tmp/m-hf/model.safetensors" "$tmp/notok/"
expect2 "no tokenizer" "tokenizer.json" "$tmp/notok"
echo "eval_hf_folder_test: ok"
