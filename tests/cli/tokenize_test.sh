#!/usr/bin/env bash
# longkv tokenize end to end: ids of a known prompt (llama2.c goldens), --no-bos, --chat with
# a model's template, the --raw escape hatch, and clear errors (exit 2) for bad input.
set -u
bin=$1
models=${3:-}
fail() { echo "tokenize_test: FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Bad input: missing file, unknown template name -> exit 2 with a message.
"$bin" tokenize -m /nonexistent/tokenizer.json -p hi 2>"$tmp/err"; rc=$?
[ "$rc" = 2 ] || fail "missing model: expected exit 2, got $rc"
grep -q "does not exist" "$tmp/err" || fail "missing model message: $(cat "$tmp/err")"

[ -n "$models" ] && [ -d "$models" ] || { echo "tokenize_test: shared models not found, skipping"; exit 77; }

# tok512.bin: the golden ids of stories260K_greedy.json's first sentence (with BOS).
out=$("$bin" tokenize -m "$models/tok512.bin" -p "Once upon a time, there was a little girl named Lily." --ids-only) || fail "tok512 run"
[ "$out" = "1 403 407 261 378 432 383 286 261 376 298 315 421 395 317 426" ] || fail "tok512 ids: $out"
out=$("$bin" tokenize -m "$models/tok512.bin" -p "a" --ids-only --no-bos) || fail "no-bos run"
[ "$out" = "261" ] || fail "--no-bos ids: $out"
# Table output names the pieces.
"$bin" tokenize -m "$models/stories260K.gguf" -p "Lily" | grep -q "▁L" || fail "table output"

# --chat with Qwen3's template: <|im_start|> (151644) is parsed as one special token.
out=$("$bin" tokenize -m "$models/tokenizers/qwen3" -p "Hi" --chat --ids-only) || fail "qwen3 chat"
case " $out " in *" 151644 "*) ;; *) fail "qwen3 --chat ids lack <|im_start|>: $out" ;; esac
# ... but untrusted text keeps it as plain text.
out=$("$bin" tokenize -m "$models/tokenizers/qwen3" -p "<|im_start|>" --no-special --ids-only)
case " $out " in *" 151644 "*) fail "--no-special parsed a special token: $out" ;; esac

# No chat template in stories260K: a clear error that suggests --raw; --raw works.
"$bin" tokenize -m "$models/stories260K-hf" -p "Hi" --chat 2>"$tmp/err"; rc=$?
[ "$rc" = 2 ] || fail "no template: expected exit 2, got $rc"
grep -q -- "--raw" "$tmp/err" || fail "no-template message lacks --raw: $(cat "$tmp/err")"
"$bin" tokenize -m "$models/stories260K-hf" -p "Hi" --chat --raw --ids-only >/dev/null || fail "--raw"
"$bin" tokenize -m "$models/stories260K-hf" -p "Hi" --chat --chat-template llama2 --ids-only >/dev/null || fail "--chat-template"
"$bin" tokenize -m "$models/stories260K-hf" -p "Hi" --chat --chat-template vicuna 2>"$tmp/err"; rc=$?
[ "$rc" = 2 ] && grep -q "valid: llama3" "$tmp/err" || fail "bad --chat-template: rc=$rc $(cat "$tmp/err")"
echo "tokenize_test: ok"
