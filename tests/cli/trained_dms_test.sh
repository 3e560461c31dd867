#!/usr/bin/env bash
# The committed DMS retrofit (models/longkv-tiny-dms4) runs with its own decisions and answers
# from the compressed cache: `longkv eval --kv dms` keeps passkey at 1024 tokens while its
# peak KV is well below the same model's full cache (it evicts during prefill), and its
# per-head compression counters say the decisions came from the model.
bin=$1
src=$2
model="$src/models/longkv-tiny-dms4"
[ -f "$model/config.json" ] || { echo "trained_dms_test: SKIP: $model missing"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "trained_dms_test: FAIL: $*"; exit 1; }
"$bin" eval -m "$model" --tasks passkey --lengths 1024 -n 2 --kv dms,full -t 2 --no-progress \
  --out "$tmp/run" >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; fail "eval"; }
python3 - "$tmp/run" <<'PY' || fail "results"
import json, sys
d = sys.argv[1]
res = {r["method"]: r for r in json.load(open(d + "/results.json"))["results"]}
dms, full = res["dms"], res["full"]
assert dms["accuracy"] == 1.0, f"dms accuracy {dms['accuracy']}"
ratio = dms["peak_kv_bytes"] / full["peak_kv_bytes"]
assert ratio < 0.6, f"dms peak KV is {ratio:.2f} of full"
for line in open(d + "/samples.jsonl"):
    s = json.loads(line)
    if s["method"] == "dms":
        c = s["compression"]
        assert c["dms"]["from_model"] and c["retained_ratio"] < 0.6, c
print(f"dms peak KV {ratio:.3f} of full, accuracy {dms['accuracy']}")
PY
