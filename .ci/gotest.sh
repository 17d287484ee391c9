#!/bin/sh
# Runs go test with the given arguments and fails if any test was skipped:
# a skipped real-server test is not a passing one.
set -u
log=$(mktemp)
trap 'rm -f "$log"' EXIT
go test -v "$@" >"$log" 2>&1
rc=$?
# The verbose log is long; show the package results and every failure.
grep -E '^(ok|FAIL|---|panic:|\?)|^\s+\S+_test\.go:[0-9]+:' "$log" | grep -v -- '--- PASS' || true
skips=$(grep -E -- '--- SKIP' "$log" || true)
if [ -n "$skips" ]; then
	echo "skipped tests (not allowed):"
	echo "$skips"
	grep -E -A3 -- '--- SKIP' "$log"
	[ $rc -eq 0 ] && rc=1
fi
passed=$(grep -c -- '--- PASS' "$log")
failed=$(grep -c -- '--- FAIL' "$log")
echo "$passed passed, $failed failed"
exit $rc
