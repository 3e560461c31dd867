#!/usr/bin/env bash
# The binary lists its commands, and an unknown command is a clear error with exit code 2.
set -u
bin=$1
out=$("$bin" --help) || { echo "--help failed"; exit 1; }
echo "$out" | grep -q "commands:" || { echo "no command list"; exit 1; }
"$bin" no-such-command 2>err.txt; rc=$?
[ "$rc" = 2 ] || { echo "expected exit 2, got $rc"; exit 1; }
grep -q "unknown command 'no-such-command'" err.txt || { cat err.txt; exit 1; }
rm -f err.txt
echo "usage_test: ok"
