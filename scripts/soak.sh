#!/usr/bin/env bash
# Soak test: SOAK_CLIENTS (1000) clients for SOAK_SECONDS (60) against one
# in-process server (test/soak, build tag "soak"): anonymous and user
# sessions, transacts, pending reads, random disconnects and a policy
# reload every 2 s; no pipe message may be lost or reordered, no error may
# be unexpected, and goroutines and RSS must come back down. The output is
# written to test/soak/results/<date>.txt as well.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true
echo "fd limit: $(ulimit -n)"
mkdir -p test/soak/results
out="test/soak/results/$(date -u +%Y-%m-%d).txt"
{
	echo "# scripts/soak.sh at $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -sm), $(nproc) CPUs, $(go version | cut -d' ' -f3)"
	echo "# SOAK_CLIENTS=${SOAK_CLIENTS:-1000} SOAK_SECONDS=${SOAK_SECONDS:-60}"
	go test -tags soak -count=1 -v -timeout 10m ./test/soak 2>&1
} | tee "$out"
grep -q '^ok' "$out"
