#!/bin/sh
# Runs every fuzz test of the tree for a short time (FUZZTIME, default 10s).
# The seed corpora under testdata/fuzz also run as plain tests in go test.
set -eu
time=${FUZZTIME:-10s}
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
	dir=$(dirname "$f")
	for name in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$f"); do
		echo "fuzz $dir $name ($time)"
		go test "$dir" -run '^$' -fuzz "^$name\$" -fuzztime "$time" >/tmp/fuzz.$$ 2>&1 || { cat /tmp/fuzz.$$; rm -f /tmp/fuzz.$$; exit 1; }
	done
done
rm -f /tmp/fuzz.$$
