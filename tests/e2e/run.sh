#!/usr/bin/env bash
# End-to-end tests: the real CLI drives the real datapath in a namespace lab
# (scripts/lab.sh) with real TCP clients (tests/e2e/cbclient.c) and real nginx
# backends. Run as root from the repository root after `make`:
#
#   tests/e2e/run.sh               every test, in order
#   tests/e2e/run.sh test_a ...    only these
#
# Each test runs in a subshell: a failed assertion ends that test only. After
# every test the runner detaches what the test attached and deletes the
# services it left. The last line is "e2e: N passed, N failed"; the exit status
# is non-zero if any test failed. Nothing outlives the run: one lab, one pin
# directory, both removed on exit.
#
# shellcheck disable=SC2015 # "A && B || fail" is meant: all of them, or fail.
set -u

cd "$(dirname "$0")/../.." || exit 1
CB=$PWD/build/canary-bpf
CLIENT=$PWD/build/tests/cbclient
LAB=cbt$$
PIN=/sys/fs/bpf/cbt-$$
WORK=$(mktemp -d /tmp/cbt$$-e2e.XXXXXX) || exit 1
SERVICES=(web web6)  # every name a test may create; teardown deletes leftovers

# ---------------------------------------------------------------- plumbing

# The CLI runs in the node's network namespace but in our mount namespace:
# `ip netns exec` would mount a fresh sysfs over /sys and hide the bpffs at
# /sys/fs/bpf that holds the pinned state.
node() {
	timeout 60 nsenter --net="/run/netns/$LAB_NS_NODE" -- "$@"
}

# cb ARGS: run canary-bpf; sets CB_RC, CB_OUT (stdout), CB_ERR (stderr).
cb() {
	CB_OUT=$(node "$CB" -p "$PIN" "$@" 2>"$WORK/stderr")
	CB_RC=$?
	CB_ERR=$(cat "$WORK/stderr")
}

fail() {
	echo "    assertion failed: $*"
	printf '%s\n' "$*" >"$WORK/why"
	exit 1
}

# must ARGS: canary-bpf must succeed.
must() {
	cb "$@"
	[ "$CB_RC" -eq 0 ] || fail "canary-bpf $* -> exit $CB_RC: $CB_ERR"
}

# client NS ARGS: run cbclient in a client namespace; sets CL_OUT (its JSON).
client() {
	local ns=$1
	shift
	CL_OUT=$(timeout 300 ip netns exec "$ns" "$CLIENT" "$@") ||
		fail "cbclient $* in $ns: exit $?"
}

# jget JSON EXPR: evaluate a Python expression over the parsed JSON `d`.
# Tuples print space-separated; dicts and lists as sorted JSON.
jget() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
try:
    d = json.loads(sys.argv[1])
    v = eval(sys.argv[2], {"d": d})
except Exception as e:
    print(f"<{type(e).__name__}: {e} in {sys.argv[1][:200]!r}>")
    sys.exit(0)
if isinstance(v, tuple):
    print(*v)
elif isinstance(v, (dict, list)):
    print(json.dumps(v, sort_keys=True))
else:
    print(v)
EOF
}

# Sum of the stable backends' and the canary's counts in a cbclient JSON.
tracks_of() {
	jget "$1" '(sum(v for k, v in d["backends"].items() if k.startswith("s")), d["backends"].get("c1", 0))'
}

# binom_interval N P: the two-sided 99.9 % acceptance interval "LO HI" of a
# Binomial(N, P) count, computed exactly (log-space pmf, summed from the tails).
binom_interval() {
	python3 - "$1" "$2" <<'EOF'
import math, sys
n, p = int(sys.argv[1]), float(sys.argv[2])
a = 0.001 / 2
def pmf(k):
    return math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                    + k * math.log(p) + (n - k) * math.log1p(-p))
lo, acc = 0, 0.0
while acc + pmf(lo) <= a:
    acc += pmf(lo); lo += 1
hi, acc = n, 0.0
while acc + pmf(hi) <= a:
    acc += pmf(hi); hi -= 1
print(lo, hi)
EOF
}

NODE_IFS=(ncl ncl2 nb1 nb2 nb3 nb4 nb5)

# attach_all MODE: every node interface, recorded for the teardown.
attach_all() {
	local i
	for i in "${NODE_IFS[@]}"; do
		must attach "$i" --mode "$1"
		echo "$i" >>"$WORK/attached"
	done
}

detach_all() {
	local i
	for i in "${NODE_IFS[@]}"; do
		must detach "$i"
		sed -i "/^$i\$/d" "$WORK/attached"
	done
}

# svc_web [--affinity A]: service web on the IPv4 VIP, s1..s4 stable, c1 canary.
svc_web() {
	local b
	must service add web --vip "$LAB_VIP4" --port "$LAB_VIP_PORT" --proto tcp "$@"
	for b in $LAB_STABLE4; do must backend add web stable "$b"; done
	must backend add web canary "$LAB_CANARY4"
}

# Start a background cbclient in a client namespace, output to FILE; echoes nothing,
# sets BG_PID. The test's EXIT trap ends it if the test fails first.
bg_client() {
	local ns=$1 file=$2
	shift 2
	timeout 300 ip netns exec "$ns" "$CLIENT" "$@" >"$file" &
	BG_PID=$!
	trap 'kill "$BG_PID" 2>/dev/null' EXIT
}

# -------------------------------------------------------------------- tests

test_reverse_nat_and_detach() {
	local ok err
	attach_all xdp
	svc_web
	must weight set web 50
	# The client's socket is connected to VIP:80 and accepts segments only from
	# there: every completed exchange proves the reply was reverse-NATed.
	client "$LAB_NS_CL" count --addr "$LAB_VIP4" --port "$LAB_VIP_PORT" -n 200
	read -r ok err < <(jget "$CL_OUT" '(d["ok"], d["errors"])')
	[ "$ok" = 200 ] && [ "$err" = 0 ] || fail "through the VIP: $CL_OUT"

	detach_all
	client "$LAB_NS_CL" count --addr "$LAB_VIP4" --port "$LAB_VIP_PORT" -n 20 --timeout-ms 500
	[ "$(jget "$CL_OUT" 'd["errors"]')" = 20 ] || fail "VIP still answers after detach: $CL_OUT"
	client "$LAB_NS_CL" count --addr 10.20.1.2 --port "$LAB_BACKEND_PORT" -n 20
	[ "$(jget "$CL_OUT" 'd["backends"]')" = '{"s1": 20}' ] ||
		fail "plain routing to s1 broken after detach: $CL_OUT"
	must service del web
}

test_split_accuracy() {
	local w n=2000 lo hi canary err stable_min
	attach_all xdp
	svc_web
	for w in 5 20 50; do
		must weight set web "$w"
		client "$LAB_NS_CL" count --addr "$LAB_VIP4" --port "$LAB_VIP_PORT" -n "$n" --timeout-ms 1000
		read -r lo hi < <(binom_interval "$n" "0.$(printf %02d "$w")")
		read -r canary err stable_min < <(jget "$CL_OUT" \
			'(d["backends"].get("c1", 0), d["errors"], min(d["backends"].get(f"s{i}", 0) for i in range(1, 5)))')
		echo "    weight $w %: canary $canary of $n (interval $lo..$hi), errors $err"
		[ "$err" = 0 ] || fail "weight $w: $err errors: $CL_OUT"
		[ "$canary" -ge "$lo" ] && [ "$canary" -le "$hi" ] ||
			fail "weight $w: canary $canary of $n outside the 99.9 % interval $lo..$hi"
		[ "$stable_min" -ge 1 ] || fail "weight $w: a stable backend got nothing: $CL_OUT"
	done
	must service del web
}

test_keepalive_weight_flips() {
	local i out
	attach_all xdp
	svc_web
	must weight set web 50
	out=$WORK/keepalive.json
	bg_client "$LAB_NS_CL" "$out" keepalive --addr "$LAB_VIP4" --port "$LAB_VIP_PORT" \
		-c 40 --duration-ms 12000 --interval-ms 20
	sleep 0.5
	for i in $(seq 1 10); do
		must weight set web 0
		sleep 0.5
		must weight set web 100
		sleep 0.5
	done
	wait "$BG_PID" || fail "keepalive client: exit $?"
	CL_OUT=$(cat "$out")
	echo "    $CL_OUT"
	[ "$(jget "$CL_OUT" '(d["errors"], d["changed"], sum(d["backends"].values()))')" = "0 0 40" ] ||
		fail "established connections disturbed by weight flips: $CL_OUT"
	must service del web
}

test_ipv6_service() {
	local b ok stable canary
	attach_all xdp
	must service add web6 --vip "$LAB_VIP6" --port "$LAB_VIP_PORT" --proto tcp
	for b in $LAB_STABLE6; do must backend add web6 stable "$b"; done
	must backend add web6 canary "$LAB_CANARY6"
	must weight set web6 50
	client "$LAB_NS_CL" count --addr "$LAB_VIP6" --port "$LAB_VIP_PORT" -n 200
	ok=$(jget "$CL_OUT" 'd["ok"]')
	read -r stable canary < <(tracks_of "$CL_OUT")
	[ "$ok" = 200 ] || fail "IPv6 VIP: $CL_OUT"
	[ "$stable" -gt 0 ] && [ "$canary" -gt 0 ] || fail "IPv6 at 50 %: one track unused: $CL_OUT"
	must service del web6
}

test_modes_tc_and_generic() {
	local mode
	svc_web
	must weight set web 50
	for mode in tc xdp-generic; do
		attach_all "$mode"
		client "$LAB_NS_CL" count --addr "$LAB_VIP4" --port "$LAB_VIP_PORT" -n 200
		[ "$(jget "$CL_OUT" 'd["ok"]')" = 200 ] || fail "mode $mode: $CL_OUT"
		detach_all
	done
	must service del web
}

test_client_affinity() {
	local w first got on_canary=no
	attach_all xdp
	svc_web --affinity client
	must weight set web 0
	client "$LAB_NS_CL" count --addr "$LAB_VIP4" --port "$LAB_VIP_PORT" -n 50
	first=$(jget "$CL_OUT" 'list(d["backends"])[0] if d["ok"] == 50 and len(d["backends"]) == 1 else d')
	[[ $first == s[1-4] ]] || fail "weight 0: client 1 not on one stable backend: $CL_OUT"
	for w in $(seq 10 10 100); do
		must weight set web "$w"
		client "$LAB_NS_CL" count --addr "$LAB_VIP4" --port "$LAB_VIP_PORT" -n 20
		got=$(jget "$CL_OUT" 'list(d["backends"])[0] if d["ok"] == 20 and len(d["backends"]) == 1 else d')
		echo "    weight $w %: $got"
		case $got in
		c1) on_canary=yes ;;
		"$first") [ "$on_canary" = no ] || fail "weight $w: client 1 went back from canary to stable" ;;
		*) fail "weight $w: client 1 not on one backend of its track (first $first): $CL_OUT" ;;
		esac
	done
	[ "$on_canary" = yes ] || fail "weight 100: client 1 never reached the canary"
	must service del web
}

test_override_cidr() {
	attach_all xdp
	svc_web
	must weight set web 0
	must override add web "$LAB_CL2_NET4" canary
	client "$LAB_NS_CL2" count --addr "$LAB_VIP4" --port "$LAB_VIP_PORT" -n 50
	[ "$(jget "$CL_OUT" 'd["backends"]')" = '{"c1": 50}' ] || fail "client 2 with override: $CL_OUT"
	client "$LAB_NS_CL" count --addr "$LAB_VIP4" --port "$LAB_VIP_PORT" -n 50
	[ "$(tracks_of "$CL_OUT")" = "50 0" ] || fail "client 1 without override: $CL_OUT"
	must override del web "$LAB_CL2_NET4"
	client "$LAB_NS_CL2" count --addr "$LAB_VIP4" --port "$LAB_VIP_PORT" -n 50
	[ "$(tracks_of "$CL_OUT")" = "50 0" ] || fail "client 2 after override del: $CL_OUT"
	must service del web
}

test_backend_removal() {
	local out on_s4
	attach_all xdp
	svc_web
	must weight set web 0
	out=$WORK/removal.json
	bg_client "$LAB_NS_CL" "$out" keepalive --addr "$LAB_VIP4" --port "$LAB_VIP_PORT" \
		-c 40 --duration-ms 8000 --interval-ms 20
	sleep 2
	must backend del web stable 10.20.4.2:8080
	wait "$BG_PID" || fail "keepalive client: exit $?"
	CL_OUT=$(cat "$out")
	echo "    $CL_OUT"
	on_s4=$(jget "$CL_OUT" 'd["backends"].get("s4", 0)')
	[ "$on_s4" -gt 0 ] || fail "no connection landed on s4, nothing to test: $CL_OUT"
	# s4's connections re-select another backend, which resets them: exactly
	# those fail; every other connection must not notice.
	[ "$(jget "$CL_OUT" '(d["errors"], d["changed"], d["failed"])')" = "$on_s4 0 {\"s4\": $on_s4}" ] ||
		fail "only the $on_s4 connections on s4 may fail: $CL_OUT"
	client "$LAB_NS_CL" count --addr "$LAB_VIP4" --port "$LAB_VIP_PORT" -n 200
	[ "$(jget "$CL_OUT" '(d["ok"], d["backends"].get("s4", 0))')" = "200 0" ] ||
		fail "new connections after removing s4: $CL_OUT"
	must service del web
}

test_counters_match_client() {
	local stable canary want_st
	attach_all xdp
	svc_web
	must weight set web 30
	client "$LAB_NS_CL" count --addr "$LAB_VIP4" --port "$LAB_VIP_PORT" -n 300
	[ "$(jget "$CL_OUT" 'd["ok"]')" = 300 ] || fail "300 connections: $CL_OUT"
	read -r stable canary < <(tracks_of "$CL_OUT")
	must -j stats web
	echo "    client: stable $stable canary $canary; stats: $(jget "$CB_OUT" \
		'[(t, d[0]["tracks"][t]["connections"]) for t in ("stable", "canary")]')"
	[ "$(jget "$CB_OUT" '(d[0]["tracks"]["stable"]["connections"], d[0]["tracks"]["canary"]["connections"])')" = \
		"$stable $canary" ] || fail "stats connections differ from the client's (stable $stable canary $canary): $CB_OUT"
	want_st=$(jget '{}' "sorted('$LAB_STABLE4'.split())")
	[ "$(jget "$CB_OUT" '(len(d), d[0]["name"], d[0]["vip"], d[0]["port"], d[0]["proto"], d[0]["affinity"], d[0]["weight_percent"] == 30)')" = \
		"1 web $LAB_VIP4 $LAB_VIP_PORT tcp connection True" ] || fail "stats service fields: $CB_OUT"
	[ "$(jget "$CB_OUT" 'sorted(d[0]["tracks"]["stable"]["backends"])')" = "$want_st" ] &&
		[ "$(jget "$CB_OUT" 'd[0]["tracks"]["canary"]["backends"]')" = "[\"$LAB_CANARY4\"]" ] ||
		fail "stats backends: $CB_OUT"
	must service del web
}

test_bad_inputs_exit_2() {
	local before after args lines
	svc_web
	must -j stats
	before=$CB_OUT
	# One invalid command per line, as words for `eval` (so "" is an argument).
	while IFS= read -r args; do
		[ -n "$args" ] || continue
		eval "cb $args"
		lines=$(printf '%s' "$CB_ERR" | grep -c '')
		[ "$CB_RC" = 2 ] || fail "canary-bpf $args: exit $CB_RC, expected 2 (stderr: $CB_ERR)"
		[ "$lines" = 1 ] && [[ $CB_ERR == "canary-bpf: "* ]] ||
			fail "canary-bpf $args: stderr must be one 'canary-bpf: ' line, got: $CB_ERR"
	done <<'EOF'
weight set web 101
weight set web -1
weight set web abc
weight set web 12.345
weight set web ""
service add 'bad name!' --vip 10.96.0.11 --port 80
service add x --vip 10.96.0.300 --port 80
service add x --vip 10.96.0.11 --port 70000
backend add web blue 10.20.1.2:8080
override add web 10.0.0.0/33 canary
weight get nosuch
EOF
	must -j stats
	after=$CB_OUT
	[ "$before" = "$after" ] || fail "state changed by invalid commands: before $before after $after"
	must service del web
}

ALL_TESTS=(test_reverse_nat_and_detach test_split_accuracy test_keepalive_weight_flips
	test_ipv6_service test_modes_tc_and_generic test_client_affinity test_override_cidr
	test_backend_removal test_counters_match_client test_bad_inputs_exit_2)

# ------------------------------------------------------------------ runner

# Undo whatever a test left: its attachments and its services. Quiet: on a
# passing test there is nothing left to undo.
teardown() {
	local i s
	while read -r i; do
		cb detach "$i"
	done <"$WORK/attached"
	: >"$WORK/attached"
	for s in "${SERVICES[@]}"; do
		cb service del "$s"
	done
}

cleanup() {
	trap - EXIT INT TERM
	teardown 2>/dev/null
	scripts/lab.sh down "$LAB" || echo "e2e: lab $LAB not fully removed" >&2
	[[ $PIN == /sys/fs/bpf/cbt-[0-9]* ]] && rm -rf "$PIN"
	rm -rf "$WORK"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "e2e: needs root (network namespaces, BPF)" >&2
	exit 1
fi
[ -x "$CB" ] || { echo "e2e: $CB is missing: run make first" >&2; exit 1; }
TESTS=("$@")
[ ${#TESTS[@]} -gt 0 ] || TESTS=("${ALL_TESTS[@]}")
for t in "${TESTS[@]}"; do
	[[ " ${ALL_TESTS[*]} " == *" $t "* ]] || { echo "e2e: no test '$t'" >&2; exit 2; }
done

if [ ! -x "$CLIENT" ] || [ tests/e2e/cbclient.c -nt "$CLIENT" ]; then
	mkdir -p "$(dirname "$CLIENT")" &&
		cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror tests/e2e/cbclient.c -o "$CLIENT" ||
		{ echo "e2e: cannot build $CLIENT" >&2; exit 1; }
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf ||
	{ echo "e2e: cannot mount bpffs on /sys/fs/bpf" >&2; exit 1; }

eval "$(scripts/lab.sh env "$LAB")"
: >"$WORK/attached"
trap cleanup EXIT
trap 'exit 130' INT TERM
scripts/lab.sh up "$LAB" || exit 1

passed=0
failed=0
for t in "${TESTS[@]}"; do
	echo "[ RUN      ] $t"
	rm -f "$WORK/why"
	( "$t" )
	rc=$?
	teardown
	if [ "$rc" -eq 0 ]; then
		echo "[       OK ] $t"
		passed=$((passed + 1))
	else
		echo "[  FAILED  ] $t: $(cat "$WORK/why" 2>/dev/null || echo "exit $rc")"
		failed=$((failed + 1))
	fi
done
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
