# shellcheck shell=bash
# Helpers of the e2e suite (tests/e2e/run.sh sources this file): running the
# CLI in the node namespace, clients, assertions, JSON, statistics, teardown
# hooks. It uses the runner's CB, CLIENT, SLOWSRV, PIN, WORK and LAB_* variables.
# shellcheck disable=SC2015 # "A && B || fail" is meant: all of them, or fail.
# shellcheck disable=SC2154,SC2034 # variables shared with the runner, both ways
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
# A tuple prints space-separated; dicts and lists print as sorted JSON.
jget() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
try:
    d = json.loads(sys.argv[1])
    v = eval(sys.argv[2], {"d": d})
except Exception as e:
    print(f"<{type(e).__name__}: {e} in {sys.argv[1][:200]!r}>")
    sys.exit(0)
def text(v):
    return json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else str(v)
print(*map(text, v if isinstance(v, tuple) else (v,)))
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

# attach_all MODE: every node interface, recorded (first: a failed attach may
# have half-happened) for the teardown.
attach_all() {
	local i
	for i in "${NODE_IFS[@]}"; do
		echo "$i" >>"$WORK/attached"
		must attach "$i" --mode "$1"
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

# conns NS ADDR PORT N [TIMEOUT_MS]: N new connections from NS, one request
# each; CL_OUT is cbclient's JSON. The budget keeps a broken path from costing
# N timeouts: connections it leaves undone count as errors.
conns() {
	client "$1" count --addr "$2" --port "$3" -n "$4" --timeout-ms "${5:-1000}" \
		--budget-ms $((10000 + $4 * 20))
}

# on_exit CMD: run CMD when the test's subshell ends, passed or failed.
ON_EXIT=""
on_exit() {
	ON_EXIT="$1; $ON_EXIT"
	# shellcheck disable=SC2064 # expand now: the list as it stands
	trap "$ON_EXIT" EXIT
}

# bg_client NS FILE ARGS: cbclient in the background, JSON into FILE; sets
# BG_PID. Ended at the test's exit if the test fails before it waits.
bg_client() {
	local ns=$1 file=$2
	shift 2
	timeout 300 ip netns exec "$ns" "$CLIENT" "$@" >"$file" &
	BG_PID=$!
	on_exit "kill $BG_PID 2>/dev/null"
}

# slowsrv NS ADDR PORT DELAY_MS NAME [STATUS [OPTION...]]: tests/e2e/slowsrv in backend
# namespace NS until the test ends (then killed by its PID), answering every
# request DELAY_MS after it arrived with STATUS (200) and the body NAME.
# Returns once it answers, asked from inside NS: the probe never crosses the
# node, so no counter of canary-bpf sees it.
slowsrv() {
	local ns=$1 addr=$2 port=$3 delay=$4 name=$5 status=${6:-200} pid out
	shift $(($# < 6 ? $# : 6))
	# `ip netns exec` execs the server: $! is the server's PID. "$@": more options.
	ip netns exec "$ns" "$SLOWSRV" --addr "$addr" --port "$port" --delay-ms "$delay" \
		--name "$name" --status "$status" "$@" >>"$WORK/slowsrv.log" 2>&1 &
	pid=$!
	SLOWSRV_PID=$pid
	on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
	for _ in $(seq 1 50); do
		out=$(timeout 10 ip netns exec "$ns" "$CLIENT" count --addr "$addr" --port "$port" -n 1 \
			--timeout-ms $((delay + 1000)))
		[ "$(jget "$out" '(d["ok"], list(d["backends"]), list(d["statuses"]))')" = \
			"1 [\"$name\"] [\"$status\"]" ] && return 0
		kill -0 "$pid" 2>/dev/null || fail "slowsrv $name on $addr:$port exited: $(tail -n 3 "$WORK/slowsrv.log")"
		sleep 0.1
	done
	fail "slowsrv $name does not answer $status on $addr:$port: $out"
}

# svc_sig PORT STABLE CANARY PERCENT: service sig on the IPv4 VIP and PORT,
# one stable and one canary backend (IP:PORT), at weight PERCENT.
svc_sig() {
	must service add sig --vip "$LAB_VIP4" --port "$1" --proto tcp
	must backend add sig stable "$2"
	must backend add sig canary "$3"
	must weight set sig "$4"
}

# track_figs STATS_JSON KEY...: "stable: k=v ...; canary: k=v ..." of the
# first service in a `-j stats`, for messages (a missing key shows None).
track_figs() {
	local json=$1
	shift
	jget "$json" "'; '.join(t + ': ' + ' '.join(k + '=' + str(d[0]['tracks'][t].get(k))
		for k in '$*'.split()) for t in ('stable', 'canary'))"
}

# sender_csum on|off: TX checksum offload of every client and backend eth0.
# The lab keeps it off (wire-like, see lab.sh); pod veths have it on.
sender_csum() {
	local ns
	for ns in "$LAB_NS_CL" "$LAB_NS_CL2" "$LAB_NS_S1" "$LAB_NS_S2" "$LAB_NS_S3" \
		"$LAB_NS_S4" "$LAB_NS_C1"; do
		ip netns exec "$ns" ethtool -K eth0 tx "$1" >/dev/null || return 1
	done
}

# The pinned cb_meta value as bpftool takes it back ("0x07 0x00 ..."), and the
# same with its layout version (the first 32 bits) replaced: the rest (seeds,
# sizes) stays as the state has it.
meta_value() {
	bpftool -j map lookup pinned "$1/maps/cb_meta" key 0 0 0 0 |
		python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["value"]))'
}

meta_with_layout() {
	local cur
	cur=$(meta_value "$1") || return 1
	python3 - "$2" "$cur" <<'PY'
import sys
v = int(sys.argv[1]).to_bytes(4, "little")
rest = sys.argv[2].split()[4:]
print(" ".join(["0x%02x" % b for b in v] + rest))
PY
}


# dp_counter NAME: a datapath-wide counter (CB_G_NAME of include/canary_bpf.h,
# e.g. ICMP_NAT), summed over the CPUs, from the pinned cb_global.
dp_counter() {
	local idx
	idx=$(awk '/^enum cb_global_counter/ { on = 1; n = 0; next } on && /^\tCB_G_[A-Z0-9_]+/ {
		name = $1; sub(/,.*/, "", name); sub(/=.*/, "", name)
		if (name == "CB_G_" want) { print n; exit } n++ } on && /^};/ { exit }' \
		want="$1" include/canary_bpf.h)
	[ -n "$idx" ] || { echo "no counter CB_G_$1"; return 1; }
	bpftool -j map lookup pinned "$PIN/maps/cb_global" key $((idx & 255)) $((idx >> 8 & 255)) 0 0 |
		python3 -c 'import json,sys; d=json.load(sys.stdin); f=d.get("formatted", d)
print(sum(v["value"] if isinstance(v["value"], int) else int.from_bytes(bytes(int(b, 16) for b in v["value"]), "little") for v in f["values"]))'
}
