#!/usr/bin/env bash
# Runs every smbpipe test: formatting and vet, unit and race tests, the
# interop tests that drive real third-party clients (impacket, Samba's
# smbclient, rpcclient, smbtorture, smbd) against a real `smbpipe serve`,
# and a short run of every fuzz target. Installs the clients it needs from
# Debian's packages when they are missing.
#
# Environment: FUZZTIME (default 10000x: executions per fuzz target; a
# count, not a duration, because Go 1.26's fuzz coordinator can report a
# spurious "context deadline exceeded" when a duration ends on a loaded
# machine, golang/go#75804); CI=true makes interop tests fail instead of
# skip when a client is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

install_clients() {
	local need=()
	command -v smbclient >/dev/null || need+=(smbclient)
	command -v smbd >/dev/null || need+=(samba)
	command -v smbtorture >/dev/null || need+=(samba-testsuite)
	command -v nmap >/dev/null || need+=(nmap)
	/usr/bin/python3 -c 'import impacket' 2>/dev/null || need+=(python3-impacket)
	[ -x /usr/sbin/krb5kdc ] || need+=(krb5-kdc)
	[ -x /usr/sbin/kadmin.local ] || need+=(krb5-admin-server)
	command -v kinit >/dev/null || need+=(krb5-user)
	command -v faketime >/dev/null || need+=(faketime) # Kerberos clock skew recovery tests
	command -v etcd >/dev/null || need+=(etcd-server)
	command -v etcdctl >/dev/null || need+=(etcd-client)
	command -v chromium >/dev/null || need+=(chromium)
	if [ ${#need[@]} -gt 0 ]; then
		echo "== installing ${need[*]}"
		local sudo=""
		[ "$(id -u)" -ne 0 ] && sudo="sudo"
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
	fi
}

install_clients

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted"
	exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 20m ./...

# With -race, internal/sockio makes ordinary read and write system calls
# (the race detector sees I/O ordering only through them); this run
# tests the server's and client's raw ones.
echo "== go test (raw socket calls, no -race)"
go test -count=1 -timeout 10m ./internal/sockio ./server ./client ./test/mitm

echo "== fuzz (${FUZZTIME:-10000x} per target)"
fuzzlog=$(mktemp)
trap 'rm -f "$fuzzlog"' EXIT
grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u | while read -r dir; do
	for f in $(grep -h '^func Fuzz' "$dir"/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do
		echo "-- $dir $f"
		go test -run='^$' -fuzz="^$f\$" -fuzztime="${FUZZTIME:-10000x}" "$dir" >"$fuzzlog" 2>&1 || {
			cat "$fuzzlog"
			exit 1
		}
	done
done
echo "== all tests passed"
