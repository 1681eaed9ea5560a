#!/usr/bin/env bash
# Runs every native Go fuzz target of the module for longer than
# scripts/test.sh does (which gives each 10,000 executions). Seeds come from
# each package's f.Add calls and testdata/fuzz, which include real impacket,
# smbclient and rpcclient traffic. A crasher is written by `go test` to the
# package's testdata/fuzz/<Target>/ and the script stops.
#
# Environment: FUZZTIME (default 60s per target; a count such as 2000000x
# also works); FUZZ (a regexp of target names to run, default all).
# With Go 1.26 a duration can end in a spurious "context deadline exceeded"
# with no crasher written (golang/go#75804, fixed in Go 1.27): that is the
# toolchain, not a finding; rerun the target or give a count.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-60s}"
only="${FUZZ:-.}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

n=0
for dir in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do
	for f in $(grep -h '^func Fuzz' "$dir"/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do
		[[ "$f" =~ $only ]] || continue
		echo "== $dir $f ($fuzztime)"
		if ! go test -run='^$' -fuzz="^$f\$" -fuzztime="$fuzztime" "$dir" >"$log" 2>&1; then
			cat "$log"
			echo "fuzz.sh: $dir $f failed"
			exit 1
		fi
		tail -n 3 "$log" | grep -E 'elapsed|ok' | tail -n 2 || true
		n=$((n + 1))
	done
done
echo "== $n fuzz targets ran $fuzztime each without a failure"
