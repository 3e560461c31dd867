#!/usr/bin/env bash
# longkv eval on a real model (stories260K from ../shared/models): the matrix with a cell
# longer than the model's 512-token limit, every output file, resume without recomputation,
# determinism of greedy answers across runs, --json, and --fidelity.
set -u
bin=$1
models=$3
[ -f "$models/stories260K.bin" ] || { echo "eval_model_test: SKIP: $models/stories260K.bin not found"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "eval_model_test: FAIL: $*"; exit 1; }
m=(-m "$models/stories260K.bin" --tokenizer "$models/tok512.bin" -t 1)

"$bin" eval "${m[@]}" --tasks passkey,niah_single:depths=0,1 --lengths 256,400,1024 -n 2 --seed 3 \
  --out "$tmp/run" >"$tmp/md" 2>"$tmp/err" || { cat "$tmp/err"; fail "run"; }
grep -q "| full | passkey | 256 |" "$tmp/md" || { cat "$tmp/md"; fail "markdown row"; }
grep -q "exceeds the model's limit of 512" "$tmp/md" || { cat "$tmp/md"; fail "too-long cell not reported"; }
for f in results.json results.csv results.md samples.jsonl run.json pareto.svg \
  heatmap_full_passkey.svg "heatmap_full_niah_single_depths_0_1.svg"; do
  [ -s "$tmp/run/$f" ] || fail "missing $f"
done
python3 - "$tmp/run" <<'PY' || fail "results.json content"
import json, sys
d = json.load(open(sys.argv[1] + "/results.json"))
rows = d["results"]
assert len(rows) == 6, rows
for r in rows:
    for k in ("method", "task", "length", "accuracy", "peak_kv_bytes", "kv_bytes_read_per_token",
              "prefill_s", "decode_tok_s", "n"):
        assert k in r, k
    if r["length"] == 1024:
        assert r["n"] == 0 and r["accuracy"] is None and "limit" in r["error"], r
    else:
        # stories260K: 1280 bytes of f32 K/V per token; the prompt fills <= length tokens.
        assert r["n"] == 2 and 0 <= r["accuracy"] <= 1, r
        assert r["peak_kv_bytes"] % 1280 == 0 and r["peak_kv_bytes"] <= 1280 * (r["length"] + 40), r
PY
[ "$(wc -l <"$tmp/run/samples.jsonl")" = 12 ] || fail "samples.jsonl lines"

# Resume: the successful samples are not recomputed (only the failed cell's are retried).
"$bin" eval "${m[@]}" --tasks passkey,niah_single:depths=0,1 --lengths 256,400,1024 -n 2 --seed 3 \
  --out "$tmp/run" >"$tmp/md2" 2>"$tmp/err2" || fail "resume"
grep -q '"samples_computed": 4' "$tmp/run/results.json" || fail "resume recomputed successful samples (only the 4 failed ones should retry)"
# Another seed in the same directory is refused.
"$bin" eval "${m[@]}" --tasks passkey --lengths 256 -n 1 --seed 4 --out "$tmp/run" >/dev/null 2>"$tmp/err3"
[ $? = 2 ] || fail "seed mismatch should exit 2"
grep -q "seed" "$tmp/err3" || fail "seed mismatch message"

# Determinism: a fresh run gives the same greedy predictions.
"$bin" eval "${m[@]}" --tasks passkey,niah_single:depths=0,1 --lengths 256,400 -n 2 --seed 3 \
  --out "$tmp/run2" --no-progress >/dev/null 2>&1 || fail "second run"
python3 - "$tmp/run" "$tmp/run2" <<'PY' || fail "predictions differ between identical runs"
import json, sys
def preds(d):
    out = {}
    for l in open(d + "/samples.jsonl"):
        r = json.loads(l)
        if "error" not in r:
            out[(r["method"], r["task"], r["length"], r["index"])] = r["predictions"]
    return out
a, b = preds(sys.argv[1]), preds(sys.argv[2])
assert a == b and len(a) == 8, (len(a), len(b))
PY

# --json and --fidelity (full against itself: KL 0, agreement 1).
python3 -c "import json; print(json.load(open('$models/golden/stories260K_greedy.json'))['greedy_from_bos_text'])" >"$tmp/story.txt"
"$bin" eval "${m[@]}" --tasks passkey --lengths 256 -n 1 --json --fidelity "$tmp/story.txt" \
  --fidelity-tokens 40 --no-progress >"$tmp/out.json" 2>"$tmp/err" || { cat "$tmp/err"; fail "json/fidelity"; }
python3 - "$tmp/out.json" <<'PY' || fail "json output"
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d["results"], list) and len(d["results"]) == 1
f = d["fidelity"][0]
assert f["method"] == "full" and f["n_tokens"] == 40 and abs(f["kl_mean"]) < 1e-9 and f["top1_agreement"] == 1.0, f
assert 1.0 <= f["ppl"] < 3.0, f
PY
# Ctrl-C: the run stops after the current sample, reports what it has (exit 1), and the same
# command resumes without recomputing or duplicating anything.
args=(eval "${m[@]}" --tasks passkey --lengths 400 -n 40 --seed 8 --out "$tmp/int" --no-progress)
"$bin" "${args[@]}" >"$tmp/int.md" 2>"$tmp/int.err" &
pid=$!
for _ in $(seq 1 600); do
  [ -s "$tmp/int/samples.jsonl" ] && break
  sleep 0.1
done
kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" = 1 ] || { cat "$tmp/int.err"; fail "interrupted run: exit $rc, expected 1"; }
grep -q "interrupted; rerun the same command to resume" "$tmp/int.err" || { cat "$tmp/int.err"; fail "interrupt message"; }
done1=$(wc -l <"$tmp/int/samples.jsonl")
[ "$done1" -ge 1 ] && [ "$done1" -lt 40 ] || fail "interrupted run logged $done1 samples"
[ -s "$tmp/int/results.json" ] || fail "no partial report after interrupt"
"$bin" "${args[@]}" >/dev/null 2>"$tmp/int2.err" || { cat "$tmp/int2.err"; fail "resume after interrupt"; }
[ "$(wc -l <"$tmp/int/samples.jsonl")" = 40 ] || fail "resume did not complete exactly the missing samples"
python3 - "$tmp/int/results.json" "$done1" <<'PY' || fail "resume counts"
import json, sys
d = json.load(open(sys.argv[1]))
done1 = int(sys.argv[2])
assert d["meta"]["samples_computed"] == 40 - done1 and d["meta"]["samples_reused"] == done1, d["meta"]
assert d["results"][0]["n"] == 40
PY
echo "eval_model_test: ok"
