#!/usr/bin/env bash
# longkv eval with KV compression on a real model (stories260K): the compressed methods run on
# the paged KV manager, the held KV bytes drop by the stated ratio (within one 16-token block
# per layer and kv-head), answers are produced from the compressed cache (the report counts
# the evictions), a budget of 1.0 reproduces `full` exactly, and bad specs exit 2 with the
# valid choices.
set -u
bin=$1
models=$3
[ -f "$models/stories260K.bin" ] || { echo "compress_eval_test: SKIP: $models/stories260K.bin not found"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "compress_eval_test: FAIL: $*"; exit 1; }
m=(-m "$models/stories260K.bin" --tokenizer "$models/tok512.bin" -t 1 --no-progress)

"$bin" eval "${m[@]}" --tasks passkey --lengths 400 -n 2 --seed 5 \
  --kv "full,snapkv:1.0,snapkv:0.25,streaming:0.25,h2o:4x,tova:0.25,pyramidkv:0.25,adakv:0.25,dms:threshold=0.002:window=32,quest:0.25" \
  --out "$tmp/run" >"$tmp/md" 2>"$tmp/err" || { cat "$tmp/err"; fail "run"; }
python3 - "$tmp/run" <<'PY' || fail "compressed results"
import json, sys
recs = {}
for l in open(sys.argv[1] + "/samples.jsonl"):
    r = json.loads(l)
    assert "error" not in r, r
    recs[(r["method"], r["index"])] = r
full = {i: recs[("full", i)] for i in range(2)}
# stories260K: 5 layers x 4 kv heads x 8 dims x 2 (K, V) x 4 bytes = 1280 bytes per token (f32).
per_token_head = 8 * 2 * 4
heads = 5 * 4
for i in range(2):
    f = full[i]
    # A budget of 1.0 keeps everything: the paged path gives the same greedy answer.
    assert recs[("snapkv:1.0", i)]["predictions"] == f["predictions"], (recs[("snapkv:1.0", i)], f)
    n = f["prompt_tokens"] + 1  # + BOS
    for m in ("snapkv:0.25", "streaming:0.25", "h2o:4x", "tova:0.25", "adakv:0.25"):
        r = recs[(m, i)]
        c = r["compression"]
        assert c["evictions"] > 0 and r["predictions"], (m, r)
        # Tokens held: 25% of the prompt per (layer, head) (+ the decode tokens SnapKV-style
        # methods keep). Bytes: the manager merges adjacent partial blocks whose tokens fit one
        # block, so two neighbours always hold more than a block: at most 2 x ceil(held / 16)
        # + 1 blocks per head, plus 4 bytes of position per token.
        keep = -(-n // 4)
        appended = n + r["decode_tokens"] - 1
        assert keep / appended - 1e-9 <= c["retained_ratio"] <= (keep + r["decode_tokens"]) / appended + 1e-9, (m, c["retained_ratio"])
        held = round(c["retained_ratio"] * appended)
        lo = heads * held * per_token_head
        hi = heads * ((2 * -(-held // 16) + 1) * 16 * per_token_head + 4 * held)
        assert lo <= r["held_kv_bytes"] <= hi, (m, r["held_kv_bytes"], lo, hi)
        assert r["held_kv_bytes"] * 2.5 < f["held_kv_bytes"], (m, r["held_kv_bytes"], f["held_kv_bytes"])
        assert len(c["heads"]) == heads
        print(f"{m}: retained {c['retained_ratio']:.3f}, held bytes {r['held_kv_bytes']} = "
              f"{r['held_kv_bytes'] / f['held_kv_bytes']:.3f} of full")
    # PyramidKV: the same average budget, the first layer keeps more than the last.
    p = recs[("pyramidkv:0.25", i)]["compression"]["heads"]
    assert p[0]["retained_ratio"] > p[-1]["retained_ratio"], p
    # Quest keeps every token (saves reads, not memory) and reads fewer bytes per token.
    q = recs[("quest:0.25", i)]
    assert q["compression"]["retained_ratio"] == 1.0 and q["compression"]["evictions"] == 0, q
    assert q["held_kv_bytes"] >= f["held_kv_bytes"], q  # paged: whole blocks
    assert "saves reads, not memory" in q["compression"]["notes"]
    assert q["compression"]["quest_pages_read"] < q["compression"]["quest_pages_total"]
    assert q["kv_bytes_read"] < f["kv_bytes_read"], (q["kv_bytes_read"], f["kv_bytes_read"])
    assert recs[("dms:threshold=0.002:window=32", i)]["compression"]["evictions"] > 0
PY

# Quantized storage runs end to end through the engine's quantized attention: int8 holds
# exactly 24/64 of the f32 bytes per token and head (8+8 code bytes + two f32 scales vs 64),
# KIVI int4 less still, and int8's greedy answers equal full's on this short task.
"$bin" eval "${m[@]}" --tasks passkey --lengths 256 -n 2 --seed 5 --kv "full,int8,kivi:4,snapkv:0.5+int8" \
  --out "$tmp/q" >/dev/null 2>"$tmp/qerr" || { cat "$tmp/qerr"; fail "quantized run"; }
python3 - "$tmp/q" <<'PY' || fail "quantized results"
import json, sys
recs = {}
for l in open(sys.argv[1] + "/samples.jsonl"):
    r = json.loads(l)
    assert "error" not in r, r
    recs[(r["method"], r["index"])] = r
for i in range(2):
    f, q8, q4 = recs[("full", i)], recs[("int8", i)], recs[("kivi:4", i)]
    assert q8["compression"]["storage_format"] == "int8" and q4["compression"]["storage_format"] == "int4"
    assert q8["held_kv_bytes"] * 64 == f["held_kv_bytes"] * 24, (q8["held_kv_bytes"], f["held_kv_bytes"])
    assert q4["held_kv_bytes"] < q8["held_kv_bytes"], (q4["held_kv_bytes"], q8["held_kv_bytes"])
    assert q8["predictions"] == f["predictions"], (q8["predictions"], f["predictions"])
    assert recs[("snapkv:0.5+int8", i)]["compression"]["evictions"] > 0
PY

# Bad specs: exit 2, the valid choices named.
"$bin" eval "${m[@]}" --tasks passkey --lengths 256 -n 1 --kv snapvk:0.25 >/dev/null 2>"$tmp/e1"
[ $? = 2 ] || fail "unknown method should exit 2"
grep -q "valid: full, streaming, h2o" "$tmp/e1" || { cat "$tmp/e1"; fail "unknown method message"; }
"$bin" eval "${m[@]}" --tasks passkey --lengths 256 -n 1 --kv snapkv:1.5 >/dev/null 2>"$tmp/e2"
[ $? = 2 ] || fail "ratio out of range should exit 2"
grep -q "(0, 1\]" "$tmp/e2" || { cat "$tmp/e2"; fail "ratio message"; }
"$bin" eval "${m[@]}" --tasks passkey --lengths 256 -n 1 --kv "snapkv:0.25+h2o:0.5" >/dev/null 2>"$tmp/e3"
[ $? = 2 ] || fail "two token methods should exit 2"
grep -q "two token-eviction methods" "$tmp/e3" || { cat "$tmp/e3"; fail "composition message"; }
echo "compress_eval_test: ok"
