#!/usr/bin/env bash
# make soak: a bounded soak of the whole system in a namespace lab.
#
#   tests/soak/run.sh [SECONDS]      (default 300; at most 600)
#
# For SECONDS, in one lab: keep-alive connections (20, a request every 20 ms)
# and new connections (100/s) to one service, while the weight changes 1,000
# times (seeded random percentages with two decimals, SOAK_SEED replays them)
# and the agent is restarted 10 times (SIGKILL and SIGTERM in turn; the
# service is left as is meanwhile). Passes when no client connection failed
# and the datapath's per-track connection counters equal the clients' own
# counts exactly. Closing line: "soak: N passed, N failed" over those checks.
#
# shellcheck disable=SC2015 # "A && B || fail" is meant
set -u

cd "$(dirname "$0")/../.." || exit 1
CB=$PWD/build/canary-bpf
CLIENT=$PWD/build/tests/cbclient
SLOWSRV=$PWD/build/tests/slowsrv
LAB=cbs$$
PIN=/sys/fs/bpf/cbs-$$
DUR=${1:-300}
WEIGHTS=1000
RESTARTS=10
AGENT_PID=""
CLIENT_PIDS=()

if [ "$(id -u)" -ne 0 ]; then
	echo "soak: needs root (network namespaces, BPF)" >&2
	exit 1
fi
[[ $DUR =~ ^[0-9]+$ ]] && [ "$DUR" -ge 30 ] && [ "$DUR" -le 600 ] ||
	{ echo "soak: SECONDS must be 30..600" >&2; exit 2; }
for f in "$CB" "$CLIENT"; do
	[ -x "$f" ] || { echo "soak: $f missing (make)" >&2; exit 1; }
done
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf ||
	{ echo "soak: cannot mount bpffs on /sys/fs/bpf" >&2; exit 1; }

# node, cb, jget: the e2e suite's helpers.
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

fail() {
	echo "soak: $*" >&2
	exit 1
}

cleanup() {
	trap - EXIT INT TERM
	[ -z "$AGENT_PID" ] || { kill -9 "$AGENT_PID" 2>/dev/null; wait "$AGENT_PID" 2>/dev/null; }
	for p in "${CLIENT_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	scripts/lab.sh down "$LAB" || echo "soak: lab $LAB not fully removed" >&2
	rm -rf "$PIN" "$WORK"
}

agent_up() {
	nsenter --net="/run/netns/$LAB_NS_NODE" -- "$CB" -p "$PIN" agent --config "$WORK/soak.yaml" \
		--metrics-addr off >>"$WORK/agent.log" 2>&1 &
	AGENT_PID=$!
	local n
	n=$(grep -c ' ready ' "$WORK/agent.log")
	for _ in $(seq 1 100); do
		[ "$(grep -c ' ready ' "$WORK/agent.log")" -gt "$n" ] && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || fail "agent exited: $(tail -n 3 "$WORK/agent.log")"
		sleep 0.1
	done
	fail "agent not ready in 10 s"
}

eval "$(scripts/lab.sh env "$LAB")"
read -ra NODE_IFS <<<"$LAB_NODE_IFS"
WORK=$(mktemp -d "/tmp/cbs$$-soak.XXXXXX") || exit 1
export CANARY_BPF_STATE_DIR=$WORK/state   # rollout records of this run only
trap cleanup EXIT
trap 'exit 130' INT TERM
scripts/lab.sh up "$LAB" >/dev/null || exit 1

{
	echo "interfaces:"
	for i in "${NODE_IFS[@]}"; do echo "  - {name: $i, mode: xdp}"; done
	cat <<EOF
services:
  - name: soak
    vip: $LAB_VIP4
    port: 80
    stable: [${LAB_STABLE4// /, }]
    canary: [$LAB_CANARY4]
    health_check: {type: tcp, interval: 1s, timeout: 500ms}
EOF
} >"$WORK/soak.yaml"
: >"$WORK/agent.log"
agent_up

seed=${SOAK_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$seed
echo "soak: ${DUR} s, $WEIGHTS weight changes, $RESTARTS agent restarts, seed $seed (SOAK_SEED replays)"
ms=$((DUR * 1000))
timeout $((DUR + 60)) ip netns exec "$LAB_NS_CL2" "$CLIENT" keepalive --addr "$LAB_VIP4" --port 80 \
	-c 20 --duration-ms "$ms" --interval-ms 20 --timeout-ms 2000 >"$WORK/ka.json" &
CLIENT_PIDS+=($!)
timeout $((DUR + 60)) ip netns exec "$LAB_NS_CL" "$CLIENT" rate --addr "$LAB_VIP4" --port 80 \
	--rate 100 --duration-ms "$ms" --timeout-ms 2000 >"$WORK/rate.json" &
CLIENT_PIDS+=($!)

t0=$(date +%s%3N)
weights=0
restarts=0
wfail=0
while [ "$weights" -lt "$WEIGHTS" ] || [ "$restarts" -lt "$RESTARTS" ]; do
	now=$(($(date +%s%3N) - t0))
	[ "$now" -lt $((ms - 1000)) ] || break
	# Evenly spread: weight change k at k/WEIGHTS of the run, restart k at (k+0.5)/RESTARTS.
	if [ "$restarts" -lt "$RESTARTS" ] &&
		[ "$now" -ge $(((2 * restarts + 1) * ms / (2 * RESTARTS))) ]; then
		if [ $((restarts % 2)) -eq 0 ]; then kill -9 "$AGENT_PID"; else kill -TERM "$AGENT_PID"; fi
		wait "$AGENT_PID" 2>/dev/null
		AGENT_PID=""
		agent_up
		restarts=$((restarts + 1))
		continue
	fi
	if [ "$weights" -lt "$WEIGHTS" ] && [ "$now" -ge $((weights * (ms - 2000) / WEIGHTS)) ]; then
		w=$((RANDOM % 10001))
		cb weight set soak "$((w / 100)).$(printf '%02d' $((w % 100)))"
		[ "$CB_RC" -eq 0 ] || wfail=$((wfail + 1))
		weights=$((weights + 1))
		continue
	fi
	sleep 0.02
done
for p in "${CLIENT_PIDS[@]}"; do wait "$p"; done
CLIENT_PIDS=()

cb -j stats soak
stats=$CB_OUT
ka=$(cat "$WORK/ka.json")
rate=$(cat "$WORK/rate.json")
read -r ka_st ka_ca < <(jget "$ka" '(sum(v for k, v in d["backends"].items() if k.startswith("s")), d["backends"].get("c1", 0))')
read -r r_st r_ca < <(jget "$rate" '(sum(v for k, v in d["backends"].items() if k.startswith("s")), d["backends"].get("c1", 0))')
read -r d_st d_ca < <(jget "$stats" '(d[0]["tracks"]["stable"]["connections"], d[0]["tracks"]["canary"]["connections"])')
echo "soak: weight changes $weights ($wfail refused), agent restarts $restarts"
echo "soak: keep-alive $(jget "$ka" '(d["connections"], d["requests"], d["errors"])') (connections requests errors)"
echo "soak: new connections $(jget "$rate" '(d["total"], d["ok"], d["errors"])') (total ok errors)"
echo "soak: connections per track, clients: stable $((ka_st + r_st)) canary $((ka_ca + r_ca));" \
	"datapath: stable $d_st canary $d_ca"

passed=0
failed=0
check() {   # check WHAT CONDITION...
	local what=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "soak: FAILED: $what"
	fi
}
check "all $WEIGHTS weight changes made" [ "$weights:$wfail" = "$WEIGHTS:0" ]
check "all $RESTARTS agent restarts made" [ "$restarts" -eq "$RESTARTS" ]
check "no keep-alive error" [ "$(jget "$ka" 'd["errors"]')" = 0 ]
check "no new-connection error" [ "$(jget "$rate" 'd["errors"]')" = 0 ]
check "stable connections match" [ "$d_st" = "$((ka_st + r_st))" ]
check "canary connections match" [ "$d_ca" = "$((ka_ca + r_ca))" ]
echo "soak: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
