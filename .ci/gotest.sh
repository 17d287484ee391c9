#!/bin/sh
# Runs go test with the given arguments and fails if any test was skipped:
# a skipped real-server test is not a passing one.
set -u
log=$(mktemp)
trap 'rm -f "$log"' EXIT
go test -v "$@" >"$log" 2>&1
rc=$?
# The verbose log is long: show the package results, and the failures whole.
grep -E '^(ok|FAIL|panic:|\?)|^--- FAIL' "$log"
if [ $rc -ne 0 ]; then
	echo "--- failures:"
	awk '/^=== RUN/{buf=""} {buf=buf $0 "\n"} /^\s*--- FAIL/{printf "%s", buf; buf=""}' "$log" | tail -n 400
	grep -E -B2 -A30 '^panic:' "$log" | head -n 200
fi
skips=$(grep -E -- '--- SKIP' "$log" || true)
if [ -n "$skips" ]; then
	echo "skipped tests (not allowed):"
	grep -E -A3 -- '--- SKIP' "$log"
	[ $rc -eq 0 ] && rc=1
fi
passed=$(grep -c -- '--- PASS' "$log")
failed=$(grep -c -- '--- FAIL' "$log")
echo "$passed passed, $failed failed"
exit $rc
