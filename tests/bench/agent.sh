#!/usr/bin/env bash
# Control-plane figures that need the running agent:
#   - CPU and RSS with 1,000 services whose rollouts are analysed every second,
#     the time to apply them, and what a /metrics scrape of them costs;
#   - time from a total canary failure (its server killed) to weight 0, under
#     200 new connections/s, for the SPEC example's analysis settings and a
#     faster one.
#
#   tests/bench/agent.sh BIN OUTFILE [--smoke]
#
# Writes {"kind":"agent", ...} JSON to OUTFILE. Everything it makes (a network
# namespace, a lab, a pin path, processes) is its own and removed on exit.
set -u

# shellcheck source=tests/bench/agent_env.sh
. "$(dirname "$0")/agent_env.sh"

NS=cbb$$-a
LAB=cbb$$
PIN=/sys/fs/bpf/cbb-$$
PIN_LAB=/sys/fs/bpf/cbb-$$-lab
WORK=$(mktemp -d /tmp/cbbench-agent.XXXXXX)
export CANARY_BPF_STATE_DIR=$WORK/state   # rollout records of this run only
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ -n "${LAB_UP:-}" ] && scripts/lab.sh down "$LAB" >/dev/null 2>&1
	ip netns del "$NS" 2>/dev/null
	rm -rf "$PIN" "$PIN_LAB" "$WORK"
}
trap cleanup EXIT

die() {
	echo "bench agent: $*" >&2
	exit 1
}

if [ -n "$SMOKE" ]; then
	NSVC=20 SAMPLE_S=1 ROLLBACKS=1
else
	NSVC=1000 SAMPLE_S=10 ROLLBACKS=5
fi
for f in "$CLIENT" "$SLOWSRV"; do [ -x "$f" ] || die "$f missing (make bench-build)"; done

# ms since the epoch of the agent log's first line with EVENT after line N.
log_ms() {
	awk -v ev="$2" -v from="$3" 'NR > from && $3 == ev { print $1; exit }' "$1" |
		python3 -c 'import sys, datetime
s = sys.stdin.read().strip()
print(int(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
    tzinfo=datetime.timezone.utc).timestamp() * 1000) if s else 0)'
}

# wait_log FILE EVENT SECONDS [FROM_LINE]
wait_log() {
	for _ in $(seq 1 $(($3 * 20))); do
		awk -v ev="$2" -v from="${4:-0}" 'NR > from && $3 == ev { f = 1 } END { exit !f }' "$1" &&
			return 0
		sleep 0.05
	done
	die "no '$2' in $1 within $3 s: $(tail -n 3 "$1")"
}

cpu_ticks() {   # utime + stime of PID, in clock ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# ------------------------------------------------------------ many services
many_services() {
	local cfg=$WORK/many.yaml i t0 t1 ready_ms c0 c1 rss_kb hwm_kb scrape
	{
		echo "services:"
		for i in $(seq 0 $((NSVC - 1))); do
			printf '  - name: b%d\n    vip: 10.100.%d.%d\n    port: 80\n' "$i" $((i / 250)) $((i % 250 + 1))
			printf '    stable: [10.101.%d.%d:8080]\n    canary: [10.102.%d.%d:8080]\n' \
				$((i / 250)) $((i % 250 + 1)) $((i / 250)) $((i % 250 + 1))
			echo "    rollout: {steps: [10, 100], step_duration: 1h, progress_deadline: 2h," \
				"analysis: {interval: 1s}}"
		done
	} >"$cfg"
	ip netns add "$NS" || die "ip netns add $NS"
	ip -n "$NS" link set lo up
	t0=$(date +%s%3N)
	nsenter --net="/run/netns/$NS" -- "$BIN" -p "$PIN" agent --config "$cfg" 2>"$WORK/many.log" &
	local pid=$!
	PIDS+=("$pid")
	wait_log "$WORK/many.log" ready 120
	ready_ms=$(($(log_ms "$WORK/many.log" ready 0) - t0))
	sleep 2
	c0=$(cpu_ticks "$pid")
	t0=$(date +%s%3N)
	sleep "$SAMPLE_S"
	c1=$(cpu_ticks "$pid")
	t1=$(date +%s%3N)
	rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
	# One scrape of every series of every service, and the memory it takes.
	scrape=$(nsenter --net="/run/netns/$NS" -- curl -sS -m 30 -o "$WORK/metrics.txt" \
		-w '%{time_total}' http://127.0.0.1:9435/metrics) || die "scrape failed"
	hwm_kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
	python3 - "$NSVC" "$ready_ms" "$c0" "$c1" "$t0" "$t1" "$rss_kb" "$hwm_kb" "$scrape" \
		"$WORK/metrics.txt" "$(getconf CLK_TCK)" >"$WORK/many.json" <<-'EOF'
	import json, os, sys
	n, ready, c0, c1, t0, t1, rss, hwm, scrape, path, hz = sys.argv[1:]
	lines = [l for l in open(path) if not l.startswith("#")]
	print(json.dumps({
	    "services": int(n), "ready_ms": int(ready),
	    "cpu_percent": round(100 * (int(c1) - int(c0)) / int(hz) / ((int(t1) - int(t0)) / 1000), 2),
	    "rss_mib": round(int(rss) / 1024, 1), "peak_rss_after_scrape_mib": round(int(hwm) / 1024, 1),
	    "scrape_s": float(scrape), "scrape_bytes": os.path.getsize(path), "scrape_samples": len(lines)}))
	EOF
}

# ------------------------------------------------------------- rollback time
rollback_runs() {
	local interval=$1 cfg=$WORK/rb.yaml i from t_kill t_rb pid client runs=()
	# shellcheck disable=SC1090
	eval "$(scripts/lab.sh env "$LAB")"
	for i in $(seq 1 "$ROLLBACKS"); do
		ip netns exec "$LAB_NS_C1" "$SLOWSRV" --addr 10.20.5.2 --port 8085 --delay-ms 0 \
			--name c1 >/dev/null 2>&1 &
		pid=$!
		PIDS+=("$pid")
		{
			echo "interfaces:"
			for f in $LAB_NODE_IFS; do echo "  - {name: $f, mode: xdp}"; done
			echo "services:"
			echo "  - name: rb$i"
			echo "    vip: $LAB_VIP4"
			echo "    port: 80"
			echo "    stable: [10.20.1.2:8080, 10.20.2.2:8080, 10.20.3.2:8080, 10.20.4.2:8080]"
			echo "    canary: [10.20.5.2:8085]"
			echo "    rollout: {steps: [50, 100], step_duration: 1h, progress_deadline: 2h,"
			echo "      analysis: {interval: $interval, failure_limit: 2}}"
		} >"$cfg.new"
		mv "$cfg.new" "$cfg"
		if [ -z "${AGENT_RB:-}" ]; then
			nsenter --net="/run/netns/$LAB_NS_NODE" -- "$BIN" -p "$PIN_LAB" agent --config "$cfg" \
				--metrics-addr off 2>"$WORK/rb.log" &
			AGENT_RB=$!
			PIDS+=("$AGENT_RB")
		fi
		from=$(wc -l <"$WORK/rb.log")
		wait_log "$WORK/rb.log" rollout 20 "$from"
		timeout 60 ip netns exec "$LAB_NS_CL" "$CLIENT" rate --addr "$LAB_VIP4" --port 80 \
			--rate 200 --duration-ms 8000 --timeout-ms 1000 >/dev/null &
		client=$!
		PIDS+=("$client")
		sleep 2                       # a healthy canary at 50 % under load
		t_kill=$(date +%s%3N)
		kill -9 "$pid"                # total failure: every new connection refused
		wait "$pid" 2>/dev/null
		wait_log "$WORK/rb.log" rollback 20 "$from"
		t_rb=$(log_ms "$WORK/rb.log" rollback "$from")
		kill "$client" 2>/dev/null
		wait "$client" 2>/dev/null
		runs+=($((t_rb - t_kill)))
		# The reason, for the record: which signal decided.
		awk -v from="$from" 'NR > from && $3 == "rollback" { $1 = $2 = $3 = ""; print; exit }' \
			"$WORK/rb.log" >"$WORK/rb.reason.$interval"
	done
	kill -TERM "$AGENT_RB" 2>/dev/null
	wait "$AGENT_RB" 2>/dev/null
	AGENT_RB=""
	for f in $LAB_NODE_IFS; do
		nsenter --net="/run/netns/$LAB_NS_NODE" -- "$BIN" -p "$PIN_LAB" detach "$f" >/dev/null 2>&1
	done
	rm -rf "$PIN_LAB"
	# Each round is a fresh node: its rollouts must not be remembered (--state-dir).
	rm -rf "$CANARY_BPF_STATE_DIR"
	python3 - "$interval" "$WORK/rb.reason.$interval" "${runs[@]}" >"$WORK/rb.$interval.json" <<-'EOF'
	import json, statistics, sys
	ms = [int(x) for x in sys.argv[3:]]
	print(json.dumps({"interval": sys.argv[1], "failure_limit": 2, "runs_ms": ms,
	                  "median_ms": statistics.median(ms), "max_ms": max(ms),
	                  "reason": open(sys.argv[2]).read().strip()}))
	EOF
}

many_services
scripts/lab.sh up "$LAB" >/dev/null || die "lab up failed"
LAB_UP=1
rollback_runs 1s
rollback_runs 250ms
python3 - "$WORK" "$OUT" <<'EOF'
import json, sys
w = sys.argv[1]
res = {"kind": "agent", "many": json.load(open(w + "/many.json")),
       "rollback": [json.load(open(w + "/rb.1s.json")), json.load(open(w + "/rb.250ms.json"))]}
json.dump(res, open(sys.argv[2], "w"), indent=1)
m = res["many"]
print(f"agent, {m['services']} services analysed every 1 s: ready in {m['ready_ms']} ms, "
      f"CPU {m['cpu_percent']} % of a core, RSS {m['rss_mib']} MiB "
      f"(peak {m['peak_rss_after_scrape_mib']} MiB after a scrape of {m['scrape_samples']} samples "
      f"in {m['scrape_s'] * 1000:.0f} ms)")
for r in res["rollback"]:
    print(f"total canary failure -> weight 0, analysis every {r['interval']} x 2: "
          f"median {r['median_ms']} ms, max {r['max_ms']} ms over {len(r['runs_ms'])} runs ({r['reason'][:90]})")
EOF
