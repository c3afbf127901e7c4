#!/bin/sh
# shellcheck shell=dash
# End-to-end smoke test inside the vmtest VM (dash and busybox): the real CLI
# drives the real datapath between network namespaces, with real TCP.
#
#   cl  10.10.1.2 ── ncl ┐
#                        (this VM's own namespace: the node, canary-bpf attached)
#   s1  10.20.1.2 ── nb1 ┤  stable, tests/e2e/slowsrv on :8080 answering "s1"
#   c1  10.20.5.2 ── nb5 ┘  canary, slowsrv answering "c1"
#
# For each attach mode (xdp, tc): service web on VIP 10.96.0.10:80, weight
# 50 %, N new connections from cl to the VIP. Nothing but canary-bpf answers
# the VIP, and cbclient's socket is connected to VIP:80, so a completed
# exchange proves both the DNAT and the reverse NAT; then both tracks must
# have had connections, `-j stats` must count exactly what the client saw
# (connections and HTTP 2xx per track), and after detach the VIP must be
# dead again. Prints "FAIL NAME: why" per failure and closes with
# "smoke: N passed, N failed"; exit status 0 only when all passed.
#
# shellcheck disable=SC2015 # "A && B || fail" is meant: all of them, or fail.
set -u

CB=/vmtest/canary-bpf
CLIENT=/vmtest/cbclient
SLOWSRV=/vmtest/slowsrv
PIN=/sys/fs/bpf/vmtest-smoke
VIP=10.96.0.10
N=${SMOKE_CONNS:-100}
NODE_IFS="ncl nb1 nb5"
SERVERS=""

say() {
	echo "    $*"
}

# run CMD...: run it quietly; say how it failed.
run() {
	"$@" >/tmp/run.out 2>&1 && return 0
	say "failed ($?): $* -- $(head -c 300 /tmp/run.out)"
	return 1
}

cb() {
	"$CB" -p "$PIN" "$@"
}

# jnum JSON KEY: the number of KEY in JSON where KEY occurs once (cbclient's
# output and one track of `-j stats` are flat objects with unique keys).
jnum() {
	printf '%s\n' "$1" | sed -n "s/.*\"$2\": *\([0-9][0-9]*\).*/\1/p"
}

# track JSON stable|canary: that track's object of a one-service `-j stats`.
track() {
	printf '%s\n' "$1" | sed -n "s/.*\"$2\": *{\([^}]*\)}.*/\1/p"
}

link() { # NODE_IF NS ADDR_PREFIX
	run ip netns add "$2" &&
		run ip -n "$2" link set lo up &&
		run ip link add "$1" type veth peer name eth0 netns "$2" &&
		run ip addr add "$3.1/24" dev "$1" &&
		run ip link set "$1" up &&
		run sysctl -qw "net.ipv4.conf.$1.rp_filter=0" &&
		run ip -n "$2" addr add "$3.2/24" dev eth0 &&
		run ip -n "$2" link set eth0 up &&
		run ip -n "$2" route add default via "$3.1" &&
		# As in scripts/lab.sh: GRO on so that the peer receives
		# XDP_REDIRECTed frames, TX checksum offload off so that native
		# XDP sees complete checksums.
		run ip netns exec "$2" ethtool -K eth0 gro on tx off
}

# server NS ADDR NAME: slowsrv in NS until the end; returns once it answers.
server() {
	local out
	ip netns exec "$1" "$SLOWSRV" --addr "$2" --port 8080 --delay-ms 0 --name "$3" \
		>>/tmp/slowsrv.log 2>&1 &
	SERVERS="$SERVERS $!"
	for _ in $(seq 1 100); do
		out=$(ip netns exec "$1" "$CLIENT" count --addr "$2" --port 8080 -n 1 --timeout-ms 2000)
		[ "$(jnum "$out" ok)" = 1 ] && [ "$(jnum "$out" "$3")" = 1 ] && return 0
		sleep 0.2
	done
	say "slowsrv $3 does not answer on $2:8080: $out $(tail -n 3 /tmp/slowsrv.log)"
	return 1
}

setup() {
	run sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 &&
		link ncl cl 10.10.1 &&
		link nb1 s1 10.20.1 &&
		link nb5 c1 10.20.5 &&
		run ip -n cl route add 10.96.0.0/16 via 10.10.1.1 &&
		server s1 10.20.1.2 s1 &&
		server c1 10.20.5.2 c1
}

teardown() {
	local pid ns
	for pid in $SERVERS; do kill "$pid" 2>/dev/null; done
	for ns in cl s1 c1; do ip netns del "$ns" 2>/dev/null; done
}

# conns N TIMEOUT_MS: N new connections from cl to the VIP; sets OUT.
conns() {
	OUT=$(ip netns exec cl "$CLIENT" count --addr "$VIP" --port 80 -n "$1" \
		--timeout-ms "$2" --budget-ms $((20000 + $1 * 200)))
}

fail() {
	say "$*"
	exit 1
}

# One mode, in a subshell: the first failed check ends it.
check_mode() {
	local mode=$1 i ok err s1 c1 stats st ca
	for i in $NODE_IFS; do
		run cb attach "$i" --mode "$mode" || exit 1
	done
	run cb service add web --vip "$VIP" --port 80 --proto tcp &&
		run cb backend add web stable 10.20.1.2:8080 &&
		run cb backend add web canary 10.20.5.2:8080 &&
		run cb weight set web 50 || exit 1

	conns "$N" 3000
	say "$mode: $N connections to $VIP:80: $OUT"
	ok=$(jnum "$OUT" ok)
	err=$(jnum "$OUT" errors)
	s1=$(jnum "$OUT" s1)
	c1=$(jnum "$OUT" c1)
	[ "$ok" = "$N" ] && [ "$err" = 0 ] ||
		fail "forwarding or reverse NAT broken: $ok of $N exchanges completed, $err errors"
	[ "${s1:-0}" -gt 0 ] && [ "${c1:-0}" -gt 0 ] ||
		fail "at 50 % one track got nothing: stable ${s1:-0}, canary ${c1:-0}"

	stats=$(cb -j stats web) || fail "stats -j web failed"
	st=$(track "$stats" stable)
	ca=$(track "$stats" canary)
	say "$mode: stats stable {$(printf %s "$st" | head -c 120)...}"
	[ "$(jnum "$st" connections)" = "$s1" ] && [ "$(jnum "$ca" connections)" = "$c1" ] ||
		fail "stats connections stable $(jnum "$st" connections) canary $(jnum "$ca" connections)," \
			"the client saw s1 $s1 c1 $c1"
	[ "$(jnum "$st" http_2xx)" = "$s1" ] && [ "$(jnum "$ca" http_2xx)" = "$c1" ] ||
		fail "stats http_2xx stable $(jnum "$st" http_2xx) canary $(jnum "$ca" http_2xx)," \
			"the client saw s1 $s1 c1 $c1"

	run cb service del web || exit 1
	for i in $NODE_IFS; do
		run cb detach "$i" || exit 1
	done
	# Without canary-bpf nothing answers the VIP: every attempt times out.
	conns 3 500
	[ "$(jnum "$OUT" errors)" = 3 ] || fail "the VIP still answers after detach: $OUT"
}

# Whatever a failed mode left behind, so that the next one starts clean.
reset_node() {
	local i
	cb service del web >/dev/null 2>&1
	for i in $NODE_IFS; do cb detach "$i" >/dev/null 2>&1; done
}

passed=0
failed=0
if setup; then
	for mode in xdp tc; do
		if (check_mode "$mode"); then
			echo "ok $mode"
			passed=$((passed + 1))
		else
			echo "FAIL $mode"
			failed=$((failed + 1))
		fi
		reset_node
	done
else
	echo "FAIL setup"
	failed=$((failed + 1))
fi
teardown
rm -rf "$PIN"
echo "smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
