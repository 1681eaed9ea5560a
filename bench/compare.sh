#!/usr/bin/env bash
# compare.sh - run the same workloads with the same client (smbpipe bench)
# against `smbpipe serve`, Samba's smbd and a raw TCP echo server (the
# floor), in one run, and print one table with the ratios.
#
# Usage: bench/compare.sh            (from anywhere in the checkout)
#
# Environment (all optional):
#   DUR=5s            duration of each timed run
#   SESSIONS=19000    sessions held by the sessions workload (0: skip it);
#                     each connects from its own 127.100.x.y address
#   SESSIONS_DUR=30s  how long the sessions do their transacts
#   SESSIONS_EVERY=10s  time between one session's transacts
#   CONC=32           clients of the unpinned concurrent transact run
#   MANY=512          clients of the second unpinned run (0: skip it)
#   SETTLE=1          seconds of quiet before each run (lets the previous
#                     server's processes finish)
#   LAYOUT=pinned|unpinned   default: pinned when taskset and 2+ CPUs exist
#   RESULTS=DIR       where the table goes (default bench/results)
#   NAME=step2        appended to the results file name (DATE-LAYOUT-NAME.md)
#   KRB_N=20000       Kerberos session setups of the setup-kerberos run
#                     (needs ktutil, Debian krb5-user; skipped without)
#
# Servers run on CPU 0 and the client on CPU 1 (taskset) in the pinned
# layout; the concurrent run unpins everything. Samba is installed from
# Debian when smbd is missing. Only processes this script started are
# stopped, by their process-group ids, also on error or Ctrl-C.
set -euo pipefail

DUR=${DUR:-5s}
SESSIONS=${SESSIONS:-19000}
SESSIONS_DUR=${SESSIONS_DUR:-30s}
SESSIONS_EVERY=${SESSIONS_EVERY:-10s}
CONC=${CONC:-32}
MANY=${MANY:-512}
SETTLE=${SETTLE:-1}
KRB_N=${KRB_N:-20000}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RESULTS=${RESULTS:-$ROOT/bench/results}

say() { printf 'compare: %s\n' "$*" >&2; }

# --- Samba ------------------------------------------------------------------
SMBD=$(command -v smbd || true)
[ -z "$SMBD" ] && [ -x /usr/sbin/smbd ] && SMBD=/usr/sbin/smbd
if [ -z "$SMBD" ]; then
	say "smbd not found: installing samba from Debian"
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq samba
	SMBD=/usr/sbin/smbd
fi
PDBEDIT=$(command -v pdbedit || echo /usr/bin/pdbedit)

# --- work directory, process bookkeeping --------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smbpipe-compare.XXXXXX")
GROUPS_STARTED=()

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	# samba-dcerpcd puts itself in a session of its own; its pid file
	# names it. Everything else runs in the groups setsid made for it.
	if [ -f "$WORK/samba/pid/samba-dcerpcd.pid" ]; then
		local dpid
		dpid=$(cat "$WORK/samba/pid/samba-dcerpcd.pid")
		[ -n "$dpid" ] && [ "$dpid" -gt 1 ] && kill -TERM -- "-$dpid" 2>/dev/null || true
	fi
	for pgid in "${GROUPS_STARTED[@]}"; do
		kill -TERM -- "-$pgid" 2>/dev/null || true
	done
	for pgid in "${GROUPS_STARTED[@]}"; do
		for _ in $(seq 50); do
			kill -0 -- "-$pgid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$pgid" 2>/dev/null || true
	done
	if [ "$rc" -ne 0 ]; then
		say "failed (exit $rc); logs were in $WORK:"
		tail -n 20 "$WORK"/*.log >&2 2>/dev/null || true
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start LOGNAME CMD...: runs CMD in a new session/process group (setsid
# execs it, so $! is CMD's pid and its group id) and records the group.
start() {
	local log=$1
	shift
	setsid "$@" >"$WORK/$log.log" 2>&1 </dev/null &
	GROUPS_STARTED+=("$!")
	LAST_PID=$!
}

# free_port: a loopback TCP port nobody listens on right now, below the
# ephemeral range (a port a client socket holds accepts no connection but
# cannot be bound either).
free_port() {
	local p lo
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	for _ in $(seq 200); do
		p=$((10000 + RANDOM % (lo > 12000 ? lo - 10000 : 2000)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	return 1
}

wait_port() {
	local port=$1 name=$2
	for _ in $(seq 150); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.1
	done
	say "$name did not listen on port $port"
	return 1
}

# --- layout ------------------------------------------------------------------
NCPU=$(nproc)
if [ -z "${LAYOUT:-}" ]; then
	if command -v taskset >/dev/null && [ "$NCPU" -ge 2 ]; then LAYOUT=pinned; else LAYOUT=unpinned; fi
fi
if [ "$LAYOUT" = pinned ]; then
	SRV=(taskset -c 0)
	CLI=(taskset -c 1)
	LAYOUT_DESC="pinned: servers on CPU 0, client on CPU 1 (taskset)"
else
	SRV=()
	CLI=()
	LAYOUT_DESC="unpinned: the scheduler places server and client ($NCPU CPUs)"
fi
ALLCPUS="0-$((NCPU - 1))"
say "layout: $LAYOUT_DESC"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# --- build ---------------------------------------------------------------------
say "building smbpipe"
(cd "$ROOT" && go build -o "$WORK/smbpipe" ./cmd/smbpipe)
BIN=$WORK/smbpipe

# --- start the servers ------------------------------------------------------------
SP_PORT=$(free_port)
SA_PORT=$(free_port)
TCP_PORT=$(free_port)

# Kerberos: a keytab for cifs/localhost@SMBPIPE.TEST made with ktutil; the
# bench client mints its ticket from it once (no KDC), so the setup-kerberos
# run is the server's work of a Kerberos logon.
KRB=no
if command -v ktutil >/dev/null &&
	printf 'addent -password -p cifs/localhost@SMBPIPE.TEST -k 2 -e aes256-cts-hmac-sha1-96\nCompare-Service-Passw0rd\nwkt %s\nquit\n' \
		"$WORK/smbpipe.keytab" | ktutil >/dev/null 2>&1 && [ -s "$WORK/smbpipe.keytab" ]; then
	KRB=yes
fi

cat >"$WORK/smbpipe.toml" <<EOF
listen = "127.0.0.1:$SP_PORT"
server_name = "SMBPIPE"
domain = "WORKGROUP"
allow_anonymous = true
signing = "enabled"

[LanmanServer]
RestrictNullSessAccess = 1
NullSessionPipes = ["echo", "rpcecho"]

# the sessions run holds SESSIONS connections (the default limit is 4096)
[limits]
max_connections = $((SESSIONS > 3072 ? SESSIONS + 1024 : 4096))

[[account]]
name = "alice"
password = "Passw0rd!"
kerberos_principal = "alice@SMBPIPE.TEST"

[[pipe]]
name = "echo"
backend = "echo"
mode = "message"
sddl = "D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)(A;;FA;;;SY)(A;;FA;;;BA)"

[[pipe]]
name = "rpcecho"
backend = "rpcecho"
sddl = "D:(A;;0x12019B;;;AN)(A;;0x12019B;;;AU)(A;;FA;;;SY)(A;;FA;;;BA)"
EOF
if [ "$KRB" = yes ]; then
	cat >>"$WORK/smbpipe.toml" <<EOF

[kerberos]
keytab = "$WORK/smbpipe.keytab"
realm = "SMBPIPE.TEST"
service_names = ["localhost"]
EOF
fi

S=$WORK/samba
mkdir -p "$S"/{private,lock,state,cache,pid,ncalrpc,bind-dns}
cat >"$S/smb.conf" <<EOF
[global]
	workgroup = WORKGROUP
	netbios name = SMBPEER
	server role = standalone server
	smb ports = $SA_PORT
	interfaces = lo
	bind interfaces only = yes
	disable netbios = yes
	private dir = $S/private
	lock directory = $S/lock
	state directory = $S/state
	cache directory = $S/cache
	pid directory = $S/pid
	ncalrpc dir = $S/ncalrpc
	binddns dir = $S/bind-dns
	log file = $S/log.%m
	log level = 0
	passdb backend = tdbsam:$S/private/passdb.tdb
	load printers = no
	printing = bsd
	printcap name = /dev/null
	disable spoolss = yes
	restrict anonymous = 0
	map to guest = never
	server min protocol = SMB2_02
EOF
# Signed runs against Samba need the Unix account alice: created (without
# a home or a login shell) when missing and this runs as root, as the
# interop tests' smbd helper does.
if ! id alice >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v useradd >/dev/null; then
	say "creating the Unix account alice for smbd (useradd)"
	useradd -M -s /usr/sbin/nologin alice || true
fi
SAMBA_ALICE=no
if id alice >/dev/null 2>&1 &&
	printf 'Passw0rd!\nPassw0rd!\n' | "$PDBEDIT" --configfile="$S/smb.conf" -a -u alice -t >/dev/null 2>&1; then
	SAMBA_ALICE=yes
fi

start smbd "${SRV[@]}" "$SMBD" --foreground --no-process-group --configfile="$S/smb.conf" --debug-stdout
SMBD_PID=$LAST_PID
start smbpipe "${SRV[@]}" "$BIN" serve --config "$WORK/smbpipe.toml" --log-level warn
SP_PID=$LAST_PID
start tcpecho "${SRV[@]}" "$BIN" bench --tcp-echo-server "127.0.0.1:$TCP_PORT"
wait_port "$SP_PORT" "smbpipe serve"
wait_port "$SA_PORT" smbd
wait_port "$TCP_PORT" "TCP echo server"
SP=127.0.0.1:$SP_PORT
SA=127.0.0.1:$SA_PORT
FLOOR=127.0.0.1:$TCP_PORT
SAMBA_VERSION=$("$SMBD" --version | sed 's/^Version //')
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# --- runs ----------------------------------------------------------------------
RES=$WORK/results.tsv
: >"$RES"

# run ROW TARGET ARGS...: one smbpipe bench run; appends "ROW TARGET <tsv>".
run() {
	local row=$1 target=$2
	shift 2
	local out
	sleep "$SETTLE"
	say "$row / $target: smbpipe bench $*"
	if out=$("${CLI[@]}" "$BIN" bench --format tsv --progress 0 "$@" 2>>"$WORK/client.log"); then
		printf '%s\t%s\t%s\n' "$row" "$target" "$out" >>"$RES"
	else
		say "$row / $target FAILED (see below)"
		tail -n 3 "$WORK/client.log" >&2
		printf '%s\t%s\tFAILED\n' "$row" "$target" >>"$RES"
	fi
}

T0=$(date +%s)
run connect smbpipe -w connect -d "$DUR" --addr "$SP"
run connect samba -w connect -d "$DUR" --addr "$SA" --pipe srvsvc
# The connect floor: a TCP connect and seven 70-byte ping-pongs (connect
# needs one handshake and seven request round trips).
run connect floor -w tcp-connect --size 70 --round-trips 7 -d "$DUR" --addr "$FLOOR"

run transact-rpc smbpipe -w transact --rpc -d "$DUR" --addr "$SP"
run transact-rpc samba -w transact --rpc -d "$DUR" --addr "$SA" --pipe srvsvc
run transact-rpc floor -w tcp --size 68 -d "$DUR" --addr "$FLOOR"

# srvsvc NetrServerGetInfo level 101 through DCE/RPC against each server's
# real srvsvc: the same client (smbpipe rpc --bench, bench/srvsvc.go: one
# bound pipe, each call one TRANSCEIVE, its reply decoded and checked),
# alice on both (srvsvc is no null-session pipe on smbpipe, as on Windows).
# rpcrun ROW TARGET ARGS...: like run, with smbpipe rpc --bench.
rpcrun() {
	local row=$1 target=$2
	shift 2
	local out
	sleep "$SETTLE"
	say "$row / $target: smbpipe rpc --bench $DUR $*"
	if out=$("${CLI[@]}" "$BIN" rpc --bench "$DUR" --format tsv "$@" 2>>"$WORK/client.log"); then
		printf '%s\t%s\t%s\n' "$row" "$target" "$out" >>"$RES"
	else
		say "$row / $target FAILED (see below)"
		tail -n 3 "$WORK/client.log" >&2
		printf '%s\t%s\tFAILED\n' "$row" "$target" >>"$RES"
	fi
}
if [ "$SAMBA_ALICE" = yes ]; then
	rpcrun srvsvc-101 smbpipe -U 'alice%Passw0rd!' "//$SP" srvinfo
	rpcrun srvsvc-101 samba -U 'alice%Passw0rd!' "//$SA" srvinfo
fi

run writeread-rpc smbpipe -w writeread --rpc -d "$DUR" --addr "$SP"
run writeread-rpc samba -w writeread --rpc -d "$DUR" --addr "$SA" --pipe srvsvc

for size in 64 4096 65536; do
	run "transact-$size" smbpipe -w transact --size "$size" -d "$DUR" --addr "$SP"
	run "transact-$size" floor -w tcp --size "$size" -d "$DUR" --addr "$FLOOR"
done
# A bound rpcecho EchoData call of 64 B, against the raw 64 B transact above.
run rpcecho-64 smbpipe -w transact --rpc-echo --size 64 --pipe rpcecho -d "$DUR" --addr "$SP"

run echo smbpipe -w echo -d "$DUR" --addr "$SP"
run echo samba -w echo -d "$DUR" --addr "$SA"
run echo floor -w tcp --size 68 -d "$DUR" --addr "$FLOOR"

run stream smbpipe -w stream -d "$DUR" --addr "$SP"
run stream floor -w tcp-stream -d "$DUR" --addr "$FLOOR"

run transact-rpc-signed smbpipe -w transact --rpc -d "$DUR" --addr "$SP" --dialect 3.1.1 --signing cmac -U 'alice%Passw0rd!'
if [ "$SAMBA_ALICE" = yes ]; then
	run transact-rpc-signed samba -w transact --rpc -d "$DUR" --addr "$SA" --pipe srvsvc --dialect 3.1.1 --signing cmac -U 'alice%Passw0rd!'
fi
run transact-rpc-gmac smbpipe -w transact --rpc -d "$DUR" --addr "$SP" --dialect 3.1.1 --signing gmac -U 'alice%Passw0rd!'
if [ "$SAMBA_ALICE" = yes ]; then
	run transact-rpc-gmac samba -w transact --rpc -d "$DUR" --addr "$SA" --pipe srvsvc --dialect 3.1.1 --signing gmac -U 'alice%Passw0rd!'
fi

# Session setups: LOGOFF + SESSION_SETUP per op on 4 connections. Kerberos
# from a ticket obtained once (the server verifies each AP-REQ with its
# keytab and replay cache and answers an AP-REP); the server's CPU time over
# KRB_N setups gives its setups per CPU second. NTLM (two rounds) beside it.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
KRB_CPU=0
if [ "$KRB" = yes ]; then
	KRB_T0=$(cpu_ticks "$SP_PID")
	run setup-kerberos smbpipe -w setup -c 4 -n "$KRB_N" --addr "$SP" --krb-keytab "$WORK/smbpipe.keytab" --krb-host localhost
	KRB_CPU=$(($(cpu_ticks "$SP_PID") - KRB_T0))
fi
run setup-ntlm smbpipe -w setup -c 4 -d "$DUR" --addr "$SP" -U 'alice%Passw0rd!'
if [ "$SAMBA_ALICE" = yes ]; then
	run setup-ntlm samba -w setup -c 4 -d "$DUR" --addr "$SA" -U 'alice%Passw0rd!'
fi

# Encrypted sessions (alice, SMB 3.1.1, the client offers one cipher and
# fails unless the session seals with it); Samba encrypts on request
# (its default "server smb encrypt").
for cipher in AES-128-GCM AES-256-GCM; do
	row=transact-rpc-$(echo "$cipher" | tr 'A-Z' 'a-z' | tr -d -)
	run "$row" smbpipe -w transact --rpc -d "$DUR" --addr "$SP" --dialect 3.1.1 --encrypt "$cipher" -U 'alice%Passw0rd!'
	if [ "$SAMBA_ALICE" = yes ]; then
		run "$row" samba -w transact --rpc -d "$DUR" --addr "$SA" --pipe srvsvc --dialect 3.1.1 --encrypt "$cipher" -U 'alice%Passw0rd!'
	fi
done

# Unpinned concurrent run: let every process we started use every CPU.
unpin() {
	local sids=("$@") sid pid
	for sid in "${sids[@]}"; do
		for pid in $(ps -o pid= --sid "$sid" 2>/dev/null); do
			taskset -a -p -c "$ALLCPUS" "$pid" >/dev/null 2>&1 || true
		done
	done
}
DCERPCD=$(cat "$S/pid/samba-dcerpcd.pid" 2>/dev/null || true)
unpin "${GROUPS_STARTED[@]}" ${DCERPCD:+"$DCERPCD"}
# Warm-up, not recorded: Samba's RPC daemon starts its srvsvc workers on
# demand, and CONC simultaneous first binds can be left with an interim
# response and nothing more (the bench fails such a setup after a minute).
sleep "$SETTLE"
say "warm-up: $CONC clients against Samba's srvsvc (not recorded)"
"$BIN" bench --format tsv --progress 0 -w transact --rpc -c "$CONC" -d 1s --addr "$SA" --pipe srvsvc >/dev/null 2>>"$WORK/client.log" ||
	say "warm-up against Samba failed (see $WORK/client.log); the runs follow anyway"
if [ "$SAMBA_ALICE" = yes ]; then
	rpcrun "srvsvc-101-c$CONC" smbpipe -c "$CONC" -U 'alice%Passw0rd!' "//$SP" srvinfo
	rpcrun "srvsvc-101-c$CONC" samba -c "$CONC" -U 'alice%Passw0rd!' "//$SA" srvinfo
fi
run "transact-rpc-c$CONC" smbpipe -w transact --rpc -c "$CONC" -d "$DUR" --addr "$SP"
run "transact-rpc-c$CONC" samba -w transact --rpc -c "$CONC" -d "$DUR" --addr "$SA" --pipe srvsvc
run "transact-rpc-c$CONC" floor -w tcp --size 68 -c "$CONC" -d "$DUR" --addr "$FLOOR"
if [ "$MANY" -gt 0 ]; then
	run "transact-rpc-c$MANY" smbpipe -w transact --rpc -c "$MANY" -d "$DUR" --addr "$SP"
	run "transact-rpc-c$MANY" floor -w tcp --size 68 -c "$MANY" -d "$DUR" --addr "$FLOOR"
fi
run "transact-rpc-aes128gcm-c$CONC" smbpipe -w transact --rpc -c "$CONC" -d "$DUR" --addr "$SP" --dialect 3.1.1 --encrypt AES-128-GCM -U 'alice%Passw0rd!'
if [ "$SAMBA_ALICE" = yes ]; then
	run "transact-rpc-aes128gcm-c$CONC" samba -w transact --rpc -c "$CONC" -d "$DUR" --addr "$SA" --pipe srvsvc --dialect 3.1.1 --encrypt AES-128-GCM -U 'alice%Passw0rd!'
fi

if [ "$SESSIONS" -gt 0 ]; then
	run "sessions-$SESSIONS" smbpipe -w sessions -c "$SESSIONS" -d "$SESSIONS_DUR" --interval "$SESSIONS_EVERY" \
		--spread-sources --addr "$SP" --server-pid "$SP_PID"
fi
T1=$(date +%s)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- table -------------------------------------------------------------------------
DATE=$(date -u +%Y-%m-%d)
mkdir -p "$RESULTS"
OUTFILE=$RESULTS/$DATE-$LAYOUT${NAME:+-$NAME}.md
GOVER=$(go env GOVERSION)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)

{
	echo "# smbpipe vs Samba vs TCP floor, $DATE"
	echo
	echo "- layout: $LAYOUT_DESC; the c$CONC and c$MANY rows are unpinned"
	echo "- smbpipe $COMMIT ($GOVER), Samba smbd $SAMBA_VERSION, $NCPU CPUs ($(uname -m)), load average $LOAD_START at start, $LOAD_END at end"
	echo "- $DUR per run, single client unless noted, anonymous unsigned SMB 3.1.1 unless noted; runs took $((T1 - T0)) s"
	echo "- rpc: DCE/RPC bind on the pipe, then the same 68-byte NetrServerGetInfo request each time (Samba: srvsvc, reply ~156 B; smbpipe: echo pipe)"
	echo "- cells: ops/s, p50 / p99 latency. smbpipe/Samba: ratio of rates (higher is better);"
	echo "  smbpipe/floor: ratio of p50 latencies for round trips and connect (lower is better), of MB/s for stream"
	echo "  and of rates for the concurrent (cN) rows (higher is better)"
	echo
	awk -F'\t' -v conc="$CONC" -v many="$MANY" -v sessions="$SESSIONS" -v every="$SESSIONS_EVERY" \
		-v krbn="$KRB_N" -v krbcpu="$KRB_CPU" -v hz="$(getconf CLK_TCK)" '
	# columns: row target workload ops_per_sec p50_us p99_us max_us mb_per_sec errors open failed rss dialect signed
	function cell(k,   s) {
		if (!(k in ops)) return "-"
		if (ops[k] == "FAILED") return "failed"
		if (k ~ /^stream/) s = sprintf("%.0f MB/s", mb[k])
		else s = sprintf("%s/s", commas(ops[k]))
		s = s sprintf(", %s / %s", us(p50[k]), us(p99[k]))
		if (err[k] > 0) s = s sprintf(", %d errors", err[k])
		return s
	}
	function commas(x,   s, n) {
		s = sprintf("%.0f", x); n = ""
		while (length(s) > 3) { n = "," substr(s, length(s) - 2) n; s = substr(s, 1, length(s) - 3) }
		return s n
	}
	function us(x) { return x >= 1000 ? sprintf("%.2f ms", x / 1000) : sprintf("%.0f µs", x) }
	function ratio(a, b) { return (b > 0 && a > 0) ? sprintf("%.2f×", a / b) : "-" }
	# target prints smbpipe/floor of row r on field f (p50, mb, ops)
	# against limit: at most (atLeast 0) or at least (atLeast 1).
	function target(name, r, f, limit, atLeast,   s, fl, a, b, x) {
		s = r SUBSEP "smbpipe"; fl = r SUBSEP "floor"
		if (!(s in ops) || !(fl in ops) || ops[s] == "FAILED" || ops[fl] == "FAILED") return
		if (f == "p50") { a = p50[s]; b = p50[fl] } else if (f == "mb") { a = mb[s]; b = mb[fl] } else { a = ops[s]; b = ops[fl] }
		if (a <= 0 || b <= 0) return
		x = a / b
		printf "%s: %.2f× (target %s %.2f×): %s\n", name, x, (atLeast ? "≥" : "≤"), limit,
			((atLeast ? x >= limit : x <= limit) ? "met" : "NOT met")
	}
	{
		k = $1 SUBSEP $2
		if ($3 == "FAILED") { ops[k] = "FAILED"; next }
		ops[k] = $4; p50[k] = $5; p99[k] = $6; mx[k] = $7; mb[k] = $8; err[k] = $9
		open[k] = $10; failed[k] = $11; rss[k] = $12; dialect[k] = $13; signed[k] = $14
		if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
	}
	END {
		label["connect"] = "connect + negotiate + session + IPC$ + open + close + logoff + disconnect"
		label["transact-rpc"] = "transact rpc (68 B request; smbpipe: its echo pipe, no RPC; Samba: srvsvc)"
		label["srvsvc-101"] = "srvsvc NetrServerGetInfo 101 through DCE/RPC, the srvsvc of both (alice)"
		label["srvsvc-101-c" conc] = "srvsvc NetrServerGetInfo 101 through DCE/RPC, " conc " clients, unpinned (aggregate)"
		label["writeread-rpc"] = "write + read rpc (68 B request)"
		label["transact-64"] = "transact 64 B (echo)"
		label["transact-4096"] = "transact 4 KiB (echo)"
		label["transact-65536"] = "transact 64 KiB (echo)"
		label["rpcecho-64"] = "rpcecho EchoData 64 B, bound (transact of a 96 B request)"
		label["echo"] = "SMB2 ECHO (floor: 68 B TCP ping-pong)"
		label["stream"] = "stream, 1 MiB writes, echoed back"
		label["transact-rpc-signed"] = "transact rpc, alice, signed AES-CMAC 3.1.1"
		label["transact-rpc-gmac"] = "transact rpc, alice, signed AES-GMAC 3.1.1"
		label["transact-rpc-aes128gcm"] = "transact rpc, alice, encrypted AES-128-GCM 3.1.1"
		label["transact-rpc-aes256gcm"] = "transact rpc, alice, encrypted AES-256-GCM 3.1.1"
		label["setup-kerberos"] = "Kerberos session setup (AP-REQ of a ticket obtained once, AP-REP, keys) + logoff, 4 clients"
		label["setup-ntlm"] = "NTLM session setup (two rounds, alice) + logoff, 4 clients"
		label["transact-rpc-c" conc] = "transact rpc, " conc " clients, unpinned (aggregate)"
		label["transact-rpc-c" many] = "transact rpc, " many " clients, unpinned (aggregate)"
		label["transact-rpc-aes128gcm-c" conc] = "transact rpc, alice, encrypted AES-128-GCM, " conc " clients, unpinned (aggregate)"
		print "| workload | smbpipe | Samba | TCP floor | smbpipe/Samba | smbpipe/floor |"
		print "|---|---|---|---|---|---|"
		for (i = 1; i <= n; i++) {
			r = order[i]; s = r SUBSEP "smbpipe"; a = r SUBSEP "samba"; f = r SUBSEP "floor"
			if (r ~ /^sessions/) continue
			rs = (s in ops && a in ops && ops[s] != "FAILED" && ops[a] != "FAILED") ? ratio(ops[s], ops[a]) : "-"
			if (r ~ /^stream/) rf = (s in ops && f in ops && ops[f] != "FAILED") ? ratio(mb[s], mb[f]) : "-"
			else if (r ~ /-c[0-9]+$/) rf = (s in ops && f in ops && ops[s] != "FAILED" && ops[f] != "FAILED") ? ratio(ops[s], ops[f]) " rate" : "-"
			else rf = (s in ops && f in ops && ops[s] != "FAILED" && ops[f] != "FAILED") ? ratio(p50[s], p50[f]) : "-"
			print "| " (r in label ? label[r] : r) " | " cell(s) " | " cell(a) " | " cell(f) " | " rs " | " rf " |"
		}
		for (i = 1; i <= n; i++) {
			r = order[i]; s = r SUBSEP "smbpipe"
			if (r !~ /^sessions/ || !(s in ops)) continue
			print ""
			if (ops[s] == "FAILED") { print "sessions: failed"; continue }
			printf "sessions (smbpipe only; Samba forks a process per connection): %s held, %s failed to open; " \
				"one transact every %s each: %s/s, p50 %s, p99 %s, max %s, %d errors; server RSS %.1f KiB per session\n",
				commas(open[s]), failed[s], every, commas(ops[s]), us(p50[s]), us(p99[s]), us(mx[s]), err[s], rss[s] / 1024
			printf "sessions targets: all served %s, p99 < 20 ms %s, RSS <= 16 KiB per session %s\n",
				(failed[s] == 0 && err[s] == 0 ? "met" : "NOT met"), (p99[s] < 20000 ? "met" : "NOT met"), (rss[s] <= 16384 ? "met" : "NOT met")
		}
		# The targets of issue 17 against the floors of the same run.
		print ""
		target("connect p50 / floor (TCP connect + 7 ping-pongs) p50", "connect", "p50", 1.2, 0)
		target("transact 64 KiB p50 / floor p50", "transact-65536", "p50", 1.15, 0)
		target("stream MB/s / raw TCP", "stream", "mb", 0.95, 1)
		target("transact rpc, " conc " clients: rate / floor rate", "transact-rpc-c" conc, "ops", 0.9, 1)
		target("transact rpc, " many " clients: rate / floor rate", "transact-rpc-c" many, "ops", 0.9, 1)
		split("srvsvc-101 srvsvc-101-c" conc, rows, " ")
		for (i = 1; i <= 2; i++) {
			g = rows[i] SUBSEP "smbpipe"; a = rows[i] SUBSEP "samba"
			if ((g in ops) && (a in ops) && ops[g] != "FAILED" && ops[a] != "FAILED")
				printf "%ssmbpipe/Samba srvsvc NetrServerGetInfo 101 (%s): %.2f× (target ≥ 2×)\n", (i == 1 ? "\n" : ""), (i == 1 ? "one client, pinned" : conc " clients, unpinned"), ops[g] / ops[a]
		}
		g = "setup-kerberos" SUBSEP "smbpipe"
		if ((g in ops) && ops[g] != "FAILED" && krbcpu > 0)
			printf "\nKerberos session setups: %s/s with 4 clients; the server used %.2f s of CPU for %s: %s setups per server CPU second (target ≥ 5,000 on one core): %s\n",
				commas(ops[g]), krbcpu / hz, commas(krbn), commas(krbn / (krbcpu / hz)), (krbn / (krbcpu / hz) >= 5000 ? "met" : "NOT met")
		u = "transact-64" SUBSEP "smbpipe"; g = "rpcecho-64" SUBSEP "smbpipe"
		if ((u in ops) && (g in ops) && ops[u] != "FAILED" && ops[g] != "FAILED")
			printf "\nsmbpipe rpcecho EchoData 64 B / raw transact 64 B p50: %.2f× (rate %.2f×)\n", p50[g] / p50[u], ops[g] / ops[u]
		u = "transact-rpc" SUBSEP "smbpipe"; g = "transact-rpc-signed" SUBSEP "smbpipe"
		if ((u in ops) && (g in ops) && ops[u] != "FAILED" && ops[g] != "FAILED")
			printf "\nsmbpipe signed (AES-CMAC)/unsigned transact rate: %.2f×\n", ops[g] / ops[u]
		g = "transact-rpc-gmac" SUBSEP "smbpipe"
		if ((u in ops) && (g in ops) && ops[u] != "FAILED" && ops[g] != "FAILED")
			printf "smbpipe signed (AES-GMAC)/unsigned transact rate: %.2f×\n", ops[g] / ops[u]
		u = "transact-rpc" SUBSEP "samba"; g = "transact-rpc-signed" SUBSEP "samba"
		if ((u in ops) && (g in ops) && ops[u] != "FAILED" && ops[g] != "FAILED")
			printf "Samba signed (AES-CMAC)/unsigned transact rate: %.2f×\n", ops[g] / ops[u]
		split("aes128gcm aes256gcm", ciphers, " ")
		split("AES-128-GCM AES-256-GCM", names, " ")
		for (i = 1; i <= 2; i++) {
			g = "transact-rpc-" ciphers[i] SUBSEP "smbpipe"; a = "transact-rpc-" ciphers[i] SUBSEP "samba"
			u = "transact-rpc" SUBSEP "smbpipe"
			if ((u in ops) && (g in ops) && ops[u] != "FAILED" && ops[g] != "FAILED")
				printf "%ssmbpipe encrypted (%s)/unsigned transact rate: %.2f× (target ≥ 0.85×)", (i == 1 ? "\n" : ""), names[i], ops[g] / ops[u]
			if ((g in ops) && (a in ops) && ops[g] != "FAILED" && ops[a] != "FAILED")
				printf "; smbpipe/Samba encrypted: %.2f× (target ≥ 2×)", ops[g] / ops[a]
			if (g in ops) print ""
		}
	}' "$RES"
	echo
	echo "Reproduce: \`bench/compare.sh\` (DUR, SESSIONS, SESSIONS_DUR, SESSIONS_EVERY, CONC, MANY, SETTLE, LAYOUT to change the run)."
} >"$WORK/table.md"

cp "$WORK/table.md" "$OUTFILE"
cat "$WORK/table.md"
say "table written to $OUTFILE"
