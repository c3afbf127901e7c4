#!/usr/bin/env bash
# End-to-end tests: the real CLI drives the real datapath in a namespace lab
# (scripts/lab.sh) with real TCP clients (tests/e2e/cbclient.c) and real nginx
# backends (and tests/e2e/slowsrv.c where a test needs a backend that is slow
# or fails). Run as root from the repository root after `make`:
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
SLOWSRV=$PWD/build/tests/slowsrv
LAB=cbt$$
PIN=/sys/fs/bpf/cbt-$$
SERVICES=(web web6 sig ag mx ow rl ka h{1..20})  # every name a test may create; teardown deletes leftovers

# Plumbing (node, cb, must, fail, client, jget, ...): tests/e2e/lib.sh.
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh
# shellcheck source=tests/e2e/agent_tests.sh
. tests/e2e/agent_tests.sh
# shellcheck source=tests/e2e/metrics_tests.sh
. tests/e2e/metrics_tests.sh
# shellcheck source=tests/e2e/fault_tests.sh
. tests/e2e/fault_tests.sh
# shellcheck source=tests/e2e/hostile_tests.sh
. tests/e2e/hostile_tests.sh

# -------------------------------------------------------------------- tests

test_reverse_nat_and_detach() {
	local ok err
	attach_all xdp
	svc_web
	must weight set web 50
	# The client's socket is connected to VIP:80 and accepts segments only from
	# there: every completed exchange proves the reply was reverse-NATed.
	conns "$LAB_NS_CL" "$LAB_VIP4" "$LAB_VIP_PORT" 200
	read -r ok err < <(jget "$CL_OUT" '(d["ok"], d["errors"])')
	[ "$ok" = 200 ] && [ "$err" = 0 ] || fail "through the VIP: $CL_OUT"

	detach_all
	# Nothing answers the VIP now (the node has no route for it, and an ICMP
	# unreachable is only a soft error for a SYN): every attempt runs into its
	# timeout, so keep both the count and the timeout small.
	conns "$LAB_NS_CL" "$LAB_VIP4" "$LAB_VIP_PORT" 10 300
	[ "$(jget "$CL_OUT" 'd["errors"]')" = 10 ] || fail "VIP still answers after detach: $CL_OUT"
	conns "$LAB_NS_CL" 10.20.1.2 "$LAB_BACKEND_PORT" 20
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
		conns "$LAB_NS_CL" "$LAB_VIP4" "$LAB_VIP_PORT" "$n"
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
	must -j weight get web
	[ "$(jget "$CB_OUT" '(d["name"], d["weight_percent"] == 100)')" = "web True" ] ||
		fail "weight get after the last flip to 100: $CB_OUT"
	must service del web
}

test_ipv6_service() {
	local b ok stable canary
	attach_all xdp
	must service add web6 --vip "$LAB_VIP6" --port "$LAB_VIP_PORT" --proto tcp
	for b in $LAB_STABLE6; do must backend add web6 stable "$b"; done
	must backend add web6 canary "$LAB_CANARY6"
	must weight set web6 50
	conns "$LAB_NS_CL" "$LAB_VIP6" "$LAB_VIP_PORT" 200
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
		conns "$LAB_NS_CL" "$LAB_VIP4" "$LAB_VIP_PORT" 200
		[ "$(jget "$CL_OUT" 'd["ok"]')" = 200 ] || fail "mode $mode: $CL_OUT"
		if [ "$mode" = tc ]; then
			# tc is the mode for pod veths, whose senders leave the checksum
			# to offload (CHECKSUM_PARTIAL): NAT must keep that right too.
			on_exit "sender_csum off"
			sender_csum on || fail "cannot turn TX checksum offload on"
			conns "$LAB_NS_CL" "$LAB_VIP4" "$LAB_VIP_PORT" 200
			[ "$(jget "$CL_OUT" 'd["ok"]')" = 200 ] ||
				fail "mode tc, senders with checksum offload: $CL_OUT"
			sender_csum off || fail "cannot turn TX checksum offload off"
		fi
		detach_all
	done
	must service del web
}

test_client_affinity() {
	local w first got on_canary=no
	attach_all xdp
	svc_web --affinity client
	must weight set web 0
	conns "$LAB_NS_CL" "$LAB_VIP4" "$LAB_VIP_PORT" 50
	first=$(jget "$CL_OUT" 'list(d["backends"])[0] if d["ok"] == 50 and len(d["backends"]) == 1 else d')
	[[ $first == s[1-4] ]] || fail "weight 0: client 1 not on one stable backend: $CL_OUT"
	for w in $(seq 10 10 100); do
		must weight set web "$w"
		conns "$LAB_NS_CL" "$LAB_VIP4" "$LAB_VIP_PORT" 20
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
	conns "$LAB_NS_CL2" "$LAB_VIP4" "$LAB_VIP_PORT" 50
	[ "$(jget "$CL_OUT" 'd["backends"]')" = '{"c1": 50}' ] || fail "client 2 with override: $CL_OUT"
	conns "$LAB_NS_CL" "$LAB_VIP4" "$LAB_VIP_PORT" 50
	[ "$(tracks_of "$CL_OUT")" = "50 0" ] || fail "client 1 without override: $CL_OUT"
	must override del web "$LAB_CL2_NET4"
	conns "$LAB_NS_CL2" "$LAB_VIP4" "$LAB_VIP_PORT" 50
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
	conns "$LAB_NS_CL" "$LAB_VIP4" "$LAB_VIP_PORT" 200
	[ "$(jget "$CL_OUT" '(d["ok"], d["backends"].get("s4", 0))')" = "200 0" ] ||
		fail "new connections after removing s4: $CL_OUT"
	must service del web
}

test_counters_match_client() {
	local stable canary want_st
	attach_all xdp
	svc_web
	must weight set web 30
	conns "$LAB_NS_CL" "$LAB_VIP4" "$LAB_VIP_PORT" 300
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

# One load, shared maps, idempotent attach, per-interface detach, state that
# outlives the last detach, and pins only root can open.
test_attach_lifecycle_and_pins() {
	local ok err mode
	svc_web
	echo ncl >>"$WORK/attached"
	must attach ncl
	must attach ncl
	[[ $CB_OUT == *"already attached"* ]] || fail "second attach: $CB_OUT"
	cb attach ncl --mode tc
	[ "$CB_RC" -eq 2 ] || fail "attach in another mode -> exit $CB_RC ($CB_ERR)"
	for i in nb1 nb2 nb3 nb4 nb5; do
		echo "$i" >>"$WORK/attached"
		must attach "$i"
	done
	conns "$LAB_NS_CL" "$LAB_VIP4" "$LAB_VIP_PORT" 100
	read -r ok err < <(jget "$CL_OUT" '(d["ok"], d["errors"])')
	[ "$ok" = 100 ] || fail "with six interfaces attached: $CL_OUT"
	# Detaching a backend-side interface leaves the others forwarding (replies
	# then go through the stack and the tc egress program of ncl).
	must detach nb1
	sed -i '/^nb1$/d' "$WORK/attached"
	conns "$LAB_NS_CL" "$LAB_VIP4" "$LAB_VIP_PORT" 100
	[ "$(jget "$CL_OUT" 'd["ok"]')" = 100 ] || fail "after detaching nb1: $CL_OUT"
	for i in ncl nb2 nb3 nb4 nb5; do
		must detach "$i"
		sed -i "/^$i\$/d" "$WORK/attached"
	done
	cb detach ncl
	[ "$CB_RC" -eq 2 ] || fail "detach of a detached interface -> exit $CB_RC"
	# The last detach leaves the maps: the service and its backends are there.
	must -j service list
	[ "$(jget "$CB_OUT" '(len(d[0]["backends"]["stable"]), len(d[0]["backends"]["canary"]))')" = "4 1" ] ||
		fail "state after the last detach: $CB_OUT"
	mode=$(find "$PIN" -mindepth 2 -type f ! -perm 600 | head -n 3)
	[ -z "$mode" ] || fail "pinned objects not 0600: $mode"
	[ "$(stat -c %a "$PIN")" = 700 ] || fail "pin directory is $(stat -c %a "$PIN")"
	# Re-attached, the same state forwards again.
	echo ncl >>"$WORK/attached"
	must attach ncl --mode tc
	conns "$LAB_NS_CL" "$LAB_VIP4" "$LAB_VIP_PORT" 50
	[ "$(jget "$CL_OUT" 'd["ok"]')" = 50 ] || fail "after re-attach: $CL_OUT"
	must service del web
}

# one_line_error EXIT ARGS...: canary-bpf must exit EXIT with one stderr line.
one_line_error() {
	local want=$1
	shift
	[ "$CB_RC" -eq "$want" ] || fail "canary-bpf $* -> exit $CB_RC, not $want ($CB_ERR)"
	[ "$(printf '%s\n' "$CB_ERR" | wc -l)" -eq 1 ] && [[ $CB_ERR == "canary-bpf: "* ]] ||
		fail "canary-bpf $*: stderr is not one 'canary-bpf: ' line: $CB_ERR"
}

# The environment going wrong: no bpffs, no privileges, state of another layout.
test_environment_errors() {
	local out rc meta
	svc_web
	out=$(node "$CB" -p /tmp/cbt$$-not-bpffs stats 2>&1 >/dev/null); rc=$?
	CB_RC=$rc CB_ERR=$out one_line_error 1 -p /tmp/... stats
	[[ $out == *"not on a bpf filesystem"* ]] || fail "no bpffs: $out"
	out=$(node setpriv --reuid=65534 --regid=65534 --clear-groups "$CB" -p "$PIN" stats 2>&1 >/dev/null)
	rc=$?
	CB_RC=$rc CB_ERR=$out one_line_error 1 stats as nobody
	[[ $out == *"permission denied"* ]] || fail "no privileges: $out"
	# Another layout version in the pinned state is refused, and nothing changes.
	meta=$(meta_value "$PIN") || fail "cannot read cb_meta"
	on_exit "bpftool map update pinned $PIN/maps/cb_meta key 0 0 0 0 value $meta"
	# shellcheck disable=SC2046 # the bytes, one word each
	bpftool map update pinned "$PIN/maps/cb_meta" key 0 0 0 0 value $(meta_with_layout "$PIN" 99) ||
		fail "cannot write cb_meta"
	cb weight set web 50
	one_line_error 1 weight set web 50
	[[ $CB_ERR == *"layout version 99"* && $CB_ERR == *"canary-bpf detach IF"* &&
		$CB_ERR == *"rm -r $PIN"* ]] || fail "layout: not refused with the steps to take: $CB_ERR"
	# shellcheck disable=SC2086 # the bytes, one word each
	bpftool map update pinned "$PIN/maps/cb_meta" key 0 0 0 0 value $meta
	must -j weight get web
	[ "$(jget "$CB_OUT" 'd["weight_percent"]')" = 0 ] || fail "weight changed: $CB_OUT"
	must service del web
}

# top without a terminal prints plain blocks; every verb has a manual page.
test_top_and_help() {
	local v
	svc_web
	must top web --count 2
	[ "$(grep -c '^--- ' <<<"$CB_OUT")" = 2 ] || fail "top --count 2: $CB_OUT"
	[[ $CB_OUT != *$'\033'* ]] || fail "escape sequences without a terminal"
	# The tracks side by side: a STABLE and a CANARY column, a row per figure.
	grep -Eq '^ +STABLE +CANARY *$' <<<"$CB_OUT" && grep -q '^  connections ' <<<"$CB_OUT" &&
		grep -q '^  http 2xx' <<<"$CB_OUT" || fail "top columns and rows: $CB_OUT"
	for v in attach detach service backend weight override stats top; do
		must "$v" --help
		grep -q '^SYNOPSIS' <<<"$CB_OUT" && grep -q '^EXIT STATUS' <<<"$CB_OUT" ||
			fail "$v --help is not a manual page"
	done
	must service del web
}

# -------------------------------------------------------- health signals

# HTTP status classes per track, counted from the backends' replies: a canary
# that answers 500 next to a stable that answers 200.
test_signal_http_5xx() {
	local ok stable canary figs
	slowsrv "$LAB_NS_S1" 10.20.1.2 8082 0 s1 200
	slowsrv "$LAB_NS_C1" 10.20.5.2 8082 0 c1 500
	attach_all xdp
	svc_sig 81 10.20.1.2:8082 10.20.5.2:8082 50
	conns "$LAB_NS_CL" "$LAB_VIP4" 81 400
	read -r ok stable canary < <(jget "$CL_OUT" \
		'(d["ok"], d["backends"].get("s1", 0), d["backends"].get("c1", 0))')
	[ "$ok" = 400 ] && [ "$stable" -gt 0 ] && [ "$canary" -gt 0 ] || fail "400 connections at 50 %: $CL_OUT"
	[ "$(jget "$CL_OUT" 'd["statuses"]')" = "{\"200\": $stable, \"500\": $canary}" ] ||
		fail "the client saw other statuses than 200 from s1 and 500 from c1: $CL_OUT"
	must -j stats sig
	figs=$(track_figs "$CB_OUT" http_2xx http_3xx http_4xx http_5xx connections)
	echo "    client: stable $stable (200) canary $canary (500); stats: $figs"
	# Canary: every response a 5xx, as many as the client got from c1.
	[ "$(jget "$CB_OUT" '(lambda t: (t["http_5xx"] / max(1, sum(t["http_%dxx" % c] for c in (2, 3, 4, 5))),
		sum(t["http_%dxx" % c] for c in (2, 3, 4, 5))))(d[0]["tracks"]["canary"])')" = "1.0 $canary" ] ||
		fail "canary: want 5xx ratio 1.0 over $canary responses; $figs"
	# Stable: every response a 2xx, as many as the client got from s1.
	[ "$(jget "$CB_OUT" '(lambda t: (t["http_2xx"], t["http_3xx"] + t["http_4xx"], t["http_5xx"]))(d[0]["tracks"]["stable"])')" = \
		"$stable 0 0" ] || fail "stable: want http_2xx $stable and no 3xx/4xx/5xx; $figs"
	must service del sig
}

# Time to first byte per track: a canary 200 ms slow next to a 5 ms stable.
test_signal_ttfb() {
	local ok stable canary figs
	slowsrv "$LAB_NS_S1" 10.20.1.2 8083 5 s1
	slowsrv "$LAB_NS_C1" 10.20.5.2 8083 200 c1
	attach_all xdp
	svc_sig 82 10.20.1.2:8083 10.20.5.2:8083 50
	conns "$LAB_NS_CL" "$LAB_VIP4" 82 60
	read -r ok stable canary < <(jget "$CL_OUT" \
		'(d["ok"], d["backends"].get("s1", 0), d["backends"].get("c1", 0))')
	[ "$ok" = 60 ] && [ "$stable" -gt 0 ] && [ "$canary" -gt 0 ] || fail "60 connections at 50 %: $CL_OUT"
	must -j stats sig
	figs=$(track_figs "$CB_OUT" ttfb_p50_us ttfb_p95_us ttfb_p99_us connections)
	echo "    client: stable $stable canary $canary; stats: $figs"
	# Bucket midpoints may lie up to 6.25 % under the true value: allow 10 %.
	# The delay is a lower bound of every request's TTFB.
	[ "$(jget "$CB_OUT" '(lambda c: (c["ttfb_p50_us"] >= 180000, c["ttfb_p99_us"] >= 180000,
		c["ttfb_p99_us"] < 1000000))(d[0]["tracks"]["canary"])')" = "True True True" ] ||
		fail "canary (200 ms): want ttfb_p50_us and ttfb_p99_us in 180000..1000000; $figs"
	[ "$(jget "$CB_OUT" '(lambda s: (s["ttfb_p50_us"] >= 4500, s["ttfb_p99_us"] < 200000))(d[0]["tracks"]["stable"])')" = \
		"True True" ] || fail "stable (5 ms): want ttfb_p50_us >= 4500 and ttfb_p99_us < 200000; $figs"
	must service del sig
}

# Failed connects per track: the canary's port is closed (its kernel answers
# the SYN with a RST), the stable nginx answer; connect latency is recorded.
# From client 2: its connections reach the same nginx as web's from client 1
# (other VIP port, same client port and backend socket), and a backend whose
# socket of that pair is in TIME-WAIT may answer the next SYN with a
# challenge ACK, which the client resets before it sends the SYN again. That
# connection then counts twice in `connections`, which test_counters_match_client
# must not see.
test_signal_connect_failures() {
	local b ok err stable canary figs
	attach_all xdp
	must service add sig --vip "$LAB_VIP4" --port 83 --proto tcp
	for b in $LAB_STABLE4; do must backend add sig stable "$b"; done
	must backend add sig canary 10.20.5.2:9
	must weight set sig 30
	conns "$LAB_NS_CL2" "$LAB_VIP4" 83 300 500
	read -r ok err stable canary < <(jget "$CL_OUT" '(d["ok"], d["errors"],
		sum(v for k, v in d["backends"].items() if k.startswith("s")), d["backends"].get("c1", 0))')
	# Every connection either reached a stable nginx or was refused.
	[ "$(jget "$CL_OUT" 'd["total"] == d["ok"] + d["errors"]')" = True ] && [ "$err" -gt 0 ] &&
		[ "$ok" = "$stable" ] && [ "$canary" = 0 ] || fail "300 connections, canary port closed: $CL_OUT"
	must -j stats sig
	figs=$(track_figs "$CB_OUT" connect_failures connect_p50_us connect_p95_us connect_p99_us \
		connections resets_from_backend resets_from_client)
	echo "    client: stable $stable refused $err; stats: $figs"
	[ "$(jget "$CB_OUT" 'd[0]["tracks"]["canary"]["connect_failures"]')" = "$err" ] ||
		fail "canary: want connect_failures $err (the client's refused connects); $figs"
	[ "$(jget "$CB_OUT" '(lambda s: (s["connect_failures"], s["connect_p50_us"] > 0))(d[0]["tracks"]["stable"])')" = \
		"0 True" ] || fail "stable: want connect_failures 0 and connect_p50_us > 0; $figs"
	must service del sig
}

ALL_TESTS=(test_reverse_nat_and_detach test_split_accuracy test_keepalive_weight_flips
	test_ipv6_service test_modes_tc_and_generic test_client_affinity test_override_cidr
	test_backend_removal test_counters_match_client test_bad_inputs_exit_2
	test_attach_lifecycle_and_pins test_environment_errors test_top_and_help
	test_signal_http_5xx test_signal_ttfb test_signal_connect_failures "${AGENT_TESTS[@]}"
	"${METRICS_TESTS[@]}" "${FAULT_TESTS[@]}" "${HOSTILE_TESTS[@]}")

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

for bin in "$CLIENT" "$SLOWSRV"; do
	name=$(basename "$bin")
	srcs=(tests/e2e/"$name".c tests/e2e/"$name"_*.c)
	[ -e "${srcs[1]}" ] || srcs=("${srcs[0]}")
	stale=0
	for src in "${srcs[@]}" tests/e2e/"$name".h; do [ ! -e "$src" ] || [ "$src" -ot "$bin" ] || stale=1; done
	if [ ! -x "$bin" ] || [ "$stale" -eq 1 ]; then
		mkdir -p "$(dirname "$bin")" &&
			cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror "${srcs[@]}" -o "$bin" ||
			{ echo "e2e: cannot build $bin" >&2; exit 1; }
	fi
done
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf ||
	{ echo "e2e: cannot mount bpffs on /sys/fs/bpf" >&2; exit 1; }

eval "$(scripts/lab.sh env "$LAB")"
read -ra NODE_IFS <<<"$LAB_NODE_IFS"
WORK=$(mktemp -d "/tmp/cbt$$-e2e.XXXXXX") || exit 1
: >"$WORK/attached"
TEST_PID=""
trap cleanup EXIT
trap '[ -z "$TEST_PID" ] || kill "$TEST_PID" 2>/dev/null; exit 130' INT TERM
scripts/lab.sh up "$LAB" || exit 1

passed=0
failed=0
for t in "${TESTS[@]}"; do
	echo "[ RUN      ] $t"
	rm -f "$WORK/why"
	# Each test's agents keep their rollout records apart (--state-dir), under $WORK.
	rm -rf "$WORK/state"
	export CANARY_BPF_STATE_DIR=$WORK/state
	# In the background so that a signal interrupts `wait` at once; whatever
	# the killed test leaves running in the lab goes with the lab.
	( "$t" ) &
	TEST_PID=$!
	wait "$TEST_PID"
	rc=$?
	TEST_PID=""
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
