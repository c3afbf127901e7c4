#!/usr/bin/env bash
# Decision quality of the agent's analysis, at 200 new connections/s and a
# canary weight of 10 %:
#   - a canary whose latency doubles (its server answers after 20 ms, stable's
#     after 10 ms): how long from the rollout's start to the rollback;
#   - healthy canaries (the same server as stable): how many of HEALTHY runs
#     are rolled back, half of them through a pause gate resumed by the CLI.
#
#   tests/bench/decision.sh BIN OUTFILE [--smoke]
#
# Writes {"kind":"decision", ...} JSON to OUTFILE. Everything it makes (a lab,
# a pin path, processes, a work directory) is its own and removed on exit.
set -u

# shellcheck source=tests/bench/agent_env.sh
. "$(dirname "$0")/agent_env.sh"

LAB=cbq$$
PIN=/sys/fs/bpf/cbq-$$
WORK=$(mktemp -d /tmp/cbbench-decision.XXXXXX)
export CANARY_BPF_STATE_DIR=$WORK/state   # rollout records of this run only
PIDS=()
AGENT=""

cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	if [ -n "${LAB_UP:-}" ]; then
		for f in $LAB_NODE_IFS; do
			nsenter --net="/run/netns/$LAB_NS_NODE" -- "$BIN" -p "$PIN" detach "$f" >/dev/null 2>&1
		done
		scripts/lab.sh down "$LAB" >/dev/null 2>&1
	fi
	rm -rf "$PIN" "$WORK"
}
trap cleanup EXIT

die() {
	echo "bench decision: $*" >&2
	exit 1
}

if [ -n "$SMOKE" ]; then
	BAD=1 HEALTHY=1
else
	BAD=5 HEALTHY=50
fi

cb() {
	nsenter --net="/run/netns/$LAB_NS_NODE" -- "$BIN" -p "$PIN" "$@"
}

server() {   # server NS ADDR DELAY_MS NAME: slowsrv on :8086
	ip netns exec "$1" "$SLOWSRV" --addr "$2" --port 8086 --delay-ms "$3" --name "$4" \
		>/dev/null 2>&1 &
	PIDS+=($!)
	LAST_SERVER=$!
}

# run NAME STEPS CANARY_DELAY: one rollout under load; prints "OUTCOME MS".
run() {
	local name=$1 steps=$2 cfg=$WORK/dq.yaml client end phase="" t0 resumed=""
	server "$LAB_NS_C1" 10.20.5.2 "$3" c1
	local canary=$LAST_SERVER
	sleep 0.2
	{
		echo "interfaces:"
		for f in $LAB_NODE_IFS; do echo "  - {name: $f, mode: xdp}"; done
		echo "services:"
		echo "  - name: $name"
		echo "    release: $name"
		echo "    vip: $LAB_VIP4"
		echo "    port: 80"
		echo "    stable: [10.20.1.2:8086, 10.20.2.2:8086]"
		echo "    canary: [10.20.5.2:8086]"
		echo "    rollout: {steps: $steps, step_duration: 3s, min_connections: 40,"
		echo "      analysis: {interval: 1s, failure_limit: 2}}"
	} >"$cfg.new"
	mv "$cfg.new" "$cfg"
	if [ -z "$AGENT" ]; then
		nsenter --net="/run/netns/$LAB_NS_NODE" -- "$BIN" -p "$PIN" agent --config "$cfg" \
			--metrics-addr off 2>"$WORK/agent.log" &
		AGENT=$!
		PIDS+=("$AGENT")
	fi
	timeout 120 ip netns exec "$LAB_NS_CL" "$CLIENT" rate --addr "$LAB_VIP4" --port 80 \
		--rate 200 --duration-ms 90000 --timeout-ms 2000 >/dev/null 2>&1 &
	client=$!
	PIDS+=("$client")
	t0=$(date +%s%3N)
	end=$((SECONDS + 90))
	while [ $SECONDS -lt $end ]; do
		phase=$(cb -j rollout status "$name" 2>/dev/null |
			python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["phase"], "gate" if "is a pause" in d["reason"] else "")' 2>/dev/null)
		case $phase in
		promoted*|rolled_back*) break ;;
		"paused gate")
			if [ -z "$resumed" ]; then
				sleep 2   # judged at the gate meanwhile
				cb rollout resume "$name" >/dev/null 2>&1 && resumed=1
			fi
			;;
		esac
		sleep 0.1
	done
	echo "${phase%% *} $(($(date +%s%3N) - t0))"
	kill "$client" "$canary" 2>/dev/null
	wait "$client" "$canary" 2>/dev/null
}

eval "$(scripts/lab.sh env "$LAB")"
scripts/lab.sh up "$LAB" >/dev/null || die "lab up failed"
LAB_UP=1
server "$LAB_NS_S1" 10.20.1.2 10 s1
server "$LAB_NS_S2" 10.20.2.2 10 s2
: >"$WORK/bad" && : >"$WORK/healthy"
for i in $(seq 1 "$BAD"); do
	run "bad$i" "[10, 50, 100]" 20 >>"$WORK/bad"
done
for i in $(seq 1 "$HEALTHY"); do
	if [ $((i % 2)) -eq 0 ]; then
		run "ok$i" "[10, pause, 50, 100]" 10 >>"$WORK/healthy"
	else
		run "ok$i" "[10, 50, 100]" 10 >>"$WORK/healthy"
	fi
done
reason=$(awk '$3 == "rollback" { $1 = $2 = $3 = ""; print; exit }' "$WORK/agent.log")
python3 - "$WORK/bad" "$WORK/healthy" "$reason" "$OUT" <<'EOF'
import json, statistics, sys
bad = [l.split() for l in open(sys.argv[1]) if l.strip()]
ok = [l.split() for l in open(sys.argv[2]) if l.strip()]
res = {"kind": "decision", "rate_per_s": 200, "weight_percent": 10,
       "latency_doubled": {"runs": len(bad), "rolled_back": sum(p == "rolled_back" for p, _ in bad),
                           "ms": [int(t) for p, t in bad if p == "rolled_back"],
                           "reason": sys.argv[3].strip()},
       "healthy": {"runs": len(ok), "rolled_back": sum(p == "rolled_back" for p, _ in ok),
                   "promoted": sum(p == "promoted" for p, _ in ok),
                   "with_gate": len(ok) // 2}}
lat = res["latency_doubled"]
lat["median_ms"] = statistics.median(lat["ms"]) if lat["ms"] else None
lat["max_ms"] = max(lat["ms"]) if lat["ms"] else None
json.dump(res, open(sys.argv[4], "w"), indent=1)
h = res["healthy"]
print(f"latency doubled: {lat['rolled_back']} of {lat['runs']} rolled back, median {lat['median_ms']} ms, "
      f"max {lat['max_ms']} ms ({lat['reason'][:80]})")
print(f"healthy: {h['rolled_back']} of {h['runs']} rolled back, {h['promoted']} promoted "
      f"({h['with_gate']} through a pause gate)")
EOF
