#!/usr/bin/env bash
# longkv eval end to end without a model: listing, deterministic task export, and every
# bad-input path (clear message, exit 2) — plus the honest "no engine" refusal.
set -u
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "eval_test: FAIL: $*"; exit 1; }

"$bin" eval --list >"$tmp/list" || fail "--list"
for f in passkey niah_single niah_multikey niah_multivalue niah_multiquery variable_tracking common_words multi_round full; do
  grep -q "$f" "$tmp/list" || fail "--list lacks $f"
done

# Export: same seed -> same bytes; another seed -> other tasks.
spec="passkey,niah_single:depths=0,0.5,1,variable_tracking,common_words,multi_round:rounds=2"
"$bin" eval --tasks "$spec" --lengths 1k,2048 -n 3 --seed 4 --export-tasks "$tmp/a.jsonl" --token-counter approx 2>"$tmp/err" || { cat "$tmp/err"; fail "export"; }
"$bin" eval --tasks "$spec" --lengths 1k,2048 -n 3 --seed 4 --export-tasks "$tmp/b.jsonl" --token-counter approx 2>/dev/null || fail "export 2"
"$bin" eval --tasks "$spec" --lengths 1k,2048 -n 3 --seed 5 --export-tasks "$tmp/c.jsonl" --token-counter approx 2>/dev/null || fail "export 3"
[ "$(wc -l <"$tmp/a.jsonl")" = 30 ] || fail "expected 30 exported tasks, got $(wc -l <"$tmp/a.jsonl")"
cmp -s "$tmp/a.jsonl" "$tmp/b.jsonl" || fail "same seed exported different tasks"
cmp -s "$tmp/a.jsonl" "$tmp/c.jsonl" && fail "different seeds exported identical tasks"
grep -q '"id":"niah_single:depths=0,0.5,1/2048/2"' "$tmp/a.jsonl" || fail "missing expected id"
# Exports load back as user tasks.
"$bin" eval --tasks "$tmp/a.jsonl" --export-tasks "$tmp/d.jsonl" --token-counter approx 2>/dev/null || fail "re-export"
[ "$(wc -l <"$tmp/d.jsonl")" = 30 ] || fail "re-export lost lines"

expect_err() {  # expect_err CODE PATTERN args...
  local code=$1 pat=$2
  shift 2
  "$bin" eval "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  [ "$rc" = "$code" ] || { cat "$tmp/err"; fail "'$*': exit $rc, expected $code"; }
  grep -q -- "$pat" "$tmp/err" || { cat "$tmp/err"; fail "'$*': no '$pat' in stderr"; }
}
expect_err 2 "unknown KV method 'h2oo' (valid: full, streaming, h2o" --tasks passkey --kv full,h2oo -m x
expect_err 2 "needs a budget first" --tasks passkey --kv full,h2o -m x
expect_err 2 "unknown task family 'needle' (valid: passkey" --tasks needle -m x
expect_err 2 "unknown parameter 'keys' for passkey" --tasks passkey:keys=3 -m x
expect_err 2 "depths: '1.5' is not a number in \[0, 1\]" --tasks niah_single:depths=0,1.5 -m x
expect_err 2 "--lengths: 'abc'" --tasks passkey --lengths 1024,abc -m x
expect_err 2 "cannot open task file" --tasks "$tmp/none.jsonl" -m x
expect_err 2 "model '$tmp/none.gguf' does not exist" --tasks passkey -m "$tmp/none.gguf"
expect_err 2 "-m MODEL is required" --tasks passkey
expect_err 2 "--tasks is required" -m x

# Malformed JSONL lines are reported with their line numbers; the good lines still export.
printf '%s\n' '{"context": "c", "question": "q", "answer": "a"}' '{"context": "c"' \
  '{"context": "c", "question": "q"}' '{"context": "d", "question": "q", "answer": ["x"]}' >"$tmp/u.jsonl"
"$bin" eval --tasks "$tmp/u.jsonl" --export-tasks "$tmp/u_out.jsonl" --token-counter approx 2>"$tmp/err" || { cat "$tmp/err"; fail "jsonl export"; }
grep -q "u.jsonl:2: not valid JSON" "$tmp/err" || { cat "$tmp/err"; fail "line 2 not reported"; }
grep -q "u.jsonl:3: missing field 'answer'" "$tmp/err" || { cat "$tmp/err"; fail "line 3 not reported"; }
grep -q "2 malformed task line(s) skipped" "$tmp/err" || fail "bad-line count"
[ "$(wc -l <"$tmp/u_out.jsonl")" = 2 ] || fail "good lines lost"

# A length too short for a task is reported for that cell; other cells still export.
"$bin" eval --tasks passkey,niah_single --lengths 40 -n 1 --export-tasks "$tmp/s.jsonl" --token-counter approx 2>"$tmp/err"
[ $? = 1 ] || fail "too-short export should exit 1"
grep -q "too short" "$tmp/err" || { cat "$tmp/err"; fail "too-short message"; }

# A file the engine cannot load is refused clearly (exit 2), never evaluated by something else.
printf 'not a model' >"$tmp/model.gguf"
"$bin" eval --tasks passkey -m "$tmp/model.gguf" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 2 ] || { cat "$tmp/err"; fail "unloadable model: exit $rc"; }
grep -q "model.gguf" "$tmp/err" || { cat "$tmp/err"; fail "unloadable model message"; }
[ -s "$tmp/out" ] && fail "unloadable model printed results"
echo "eval_test: ok"
