#!/usr/bin/env bash
# The canary story in network namespaces, driven by `canary-bpf agent`:
#   1. a healthy release rolled out 10 % -> 50 % -> 100 % under load and
#      promoted, with live progress bars (rollout status -w);
#   2. a faulty release (answers 5 % of requests with 500) rolled back by the
#      analysis; 3. a broken release (refuses every connection) rolled back;
# then a table of how long each decision took. Runs as root after `make`;
# everything it creates is removed on exit.
set -u
cd "$(dirname "$0")/.." || exit 1

CB=$PWD/build/canary-bpf
CLIENT=$PWD/build/tests/cbclient
SLOWSRV=$PWD/build/tests/slowsrv
LAB=cbdemo$$
PIN=/sys/fs/bpf/cbdemo-$$
DIR=$(mktemp -d "/tmp/cbdemo$$.XXXXXX") || exit 1
export CANARY_BPF_STATE_DIR=$DIR/state   # rollout records of this demo only
PIDS=()

cleanup() {
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	for i in ncl ncl2 nb1 nb2 nb3 nb4 nb5; do cb detach "$i" >/dev/null 2>&1; done
	scripts/lab.sh down "$LAB" >/dev/null 2>&1
	rm -rf "$PIN" "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_node() { nsenter --net="/run/netns/$LAB-node" -- "$@"; }
cb() { timeout 30 nsenter --net="/run/netns/$LAB-node" -- "$CB" -p "$PIN" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# srv NS IP NAME [--fail-every N]: a backend on :8081 until the demo ends.
srv() {
	local ns=$1 ip=$2 name=$3
	shift 3
	ip netns exec "$LAB-$ns" "$SLOWSRV" --addr "$ip" --port 8081 --delay-ms 0 --name "$name" \
		"$@" >/dev/null 2>&1 &
	PIDS+=($!)
}
# config CANARY: the agent's file, atomically replaced (as a ConfigMap update is).
config() {
	cat >"$DIR/config.yaml.new" <<YAML
interfaces:
$(for i in ncl ncl2 nb1 nb2 nb3 nb4 nb5; do echo "  - {name: $i, mode: xdp}"; done)
services:
  - name: checkout
    vip: 10.96.0.10
    port: 80
    stable: [10.20.1.2:8081, 10.20.2.2:8081, 10.20.3.2:8081]
    canary: [$1]
    health_check: {type: tcp, interval: 1s, timeout: 500ms, unhealthy_after: 3}
    rollout:
      steps: [10, 50, 100]
      step_duration: 5s
      min_connections: 50
      analysis: {interval: 1s, max_error_ratio: 0.01, max_reset_ratio: 0.01, failure_limit: 2}
      hooks: {on_promote: "/bin/echo hook: promoted", on_rollback: "/bin/echo hook: rolled back"}
YAML
	mv "$DIR/config.yaml.new" "$DIR/config.yaml"
}
# load SECONDS: 200 new connections/s from client 1, in the background.
load() {
	timeout $(($1 + 5)) ip netns exec "$LAB-cl" "$CLIENT" rate --addr 10.96.0.10 --port 80 \
		--rate 200 --duration-ms $(($1 * 1000)) --timeout-ms 1000 >"$DIR/load.json" &
	PIDS+=($!)
}
# watch NAME: live progress until the rollout ends; prints the decision line.
watch() {
	if [ -t 1 ]; then cb rollout status -w "$1"; else
		while :; do
			cb -j rollout status "$1" >"$DIR/ro.json"
			python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["phase"] in ("progressing","paused"))' "$DIR/ro.json" && break
			sleep 1
		done
		cb rollout status "$1"
	fi
}
decision() {   # decision LABEL: one row of the summary
	cb -j rollout status checkout | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("%-34s %-12s %8.1f s   %s" % (sys.argv[1], d["phase"], d.get("decision_seconds", 0), d["reason"][:90]))' "$1" >>"$DIR/summary"
}

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || exit 1
for b in "$CB" "$CLIENT" "$SLOWSRV"; do
	[ -x "$b" ] || { echo "demo: $b is missing: run make demo" >&2; exit 1; }
done

say "A lab: client -> node (canary-bpf agent) -> 3 stable backends and the canary's host"
scripts/lab.sh up "$LAB" >/dev/null || exit 1
for i in 1 2 3; do srv "s$i" "10.20.$i.2" "s$i" --fail-every 1000; done   # stable: 0.1 % errors
srv c1 10.20.5.2 c1                                                  # release 2: healthy
ip netns exec "$LAB-c1" "$SLOWSRV" --addr 10.20.5.2 --port 8082 --delay-ms 0 --name c1 \
	--fail-every 20 >/dev/null 2>&1 &                                # release 3: 5 % 500s
PIDS+=($!)
sleep 0.5

say "Release 2, healthy: the agent rolls it out under 200 new connections/s"
config 10.20.5.2:8081
echo "\$ canary-bpf agent --config $DIR/config.yaml"
in_node "$CB" -p "$PIN" agent --config "$DIR/config.yaml" 2>"$DIR/agent.log" &
PIDS+=($!)
# Clients come once the VIP is served (as they would once the Service exists).
for _ in $(seq 1 100); do grep -q ' ready ' "$DIR/agent.log" && break; sleep 0.1; done
load 20
sleep 0.5
watch checkout
decision "release 2 (healthy)"
grep -E ' (rollout|step|promote|hook) ' "$DIR/agent.log" | sed 's/^/   log: /'
cb service list

say "Release 3 answers 5 % of requests with 500 (stable: 0.1 %)"
config 10.20.5.2:8082
load 25
sleep 0.5
watch checkout
decision "release 3 (5 % HTTP 500)"
grep -E ' (rollback|check) ' "$DIR/agent.log" | tail -n 3 | sed 's/^/   log: /'

say "Release 4 refuses every connection"
config 10.20.5.2:8099
load 10
sleep 0.5
watch checkout
decision "release 4 (refuses connections)"
grep -E ' rollback ' "$DIR/agent.log" | tail -n 1 | sed 's/^/   log: /'

say "Decisions"
printf '%-34s %-12s %10s   %s\n' RELEASE OUTCOME "DECIDED IN" REASON
cat "$DIR/summary"
echo
cb stats checkout

say "Metrics: what Prometheus scrapes from the agent (http://127.0.0.1:9435/metrics)"
in_node curl -sS -m 5 http://127.0.0.1:9435/metrics | grep -E \
	'^canary_bpf_(http_responses_total\{service="checkout",track="[a-z]+",class="5xx"\}|connections_total\{service="checkout"|canary_weight_ratio|rollbacks_total|promotions_total|rollout_phase\{.*\} 1$)' |
	sed 's/^/   /'
