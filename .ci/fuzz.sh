#!/bin/sh
# Runs every fuzz test of the tree for FUZZTIME (default 100000x: a count of
# executions, not a duration, because a duration races the fuzz coordinator
# and fails with "context deadline exceeded" on a loaded machine, go.dev/issue/75804).
# The seed corpora under testdata/fuzz also run as plain tests in go test.
set -eu
time=${FUZZTIME:-100000x}
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
	dir=$(dirname "$f")
	for name in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$f"); do
		echo "fuzz $dir $name ($time)"
		go test "$dir" -run '^$' -fuzz "^$name\$" -fuzztime "$time" >/tmp/fuzz.$$ 2>&1 || { cat /tmp/fuzz.$$; rm -f /tmp/fuzz.$$; exit 1; }
	done
done
rm -f /tmp/fuzz.$$
