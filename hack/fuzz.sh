#!/usr/bin/env bash
# Runs every Go fuzz target of the module for a bounded time each (FUZZTIME, default 10s), starting from the
# committed seed corpora (testdata/fuzz/). A failure leaves the crashing input under testdata/fuzz/ to commit
# as a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-10s}"
mapfile -t targets < <(grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . |
	while read -r file; do
		dir="$(dirname "$file")"
		grep -oE '^func Fuzz[A-Za-z0-9_]*' "$file" | sed "s|^func |$dir |"
	done | sort -u)
echo "fuzzing ${#targets[@]} targets for $fuzztime each"
for target in "${targets[@]}"; do
	read -r dir name <<<"$target"
	echo "== $dir $name"
	go test "$dir" -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -parallel 2
done
