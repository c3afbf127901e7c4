#!/usr/bin/env bash
# The canary story in network namespaces, driven by the CLI: a bad release
# caught by the signals and rolled back in one command, a fixed release ramped
# to 100 % under keep-alive load without breaking a connection, and promoted.
# (The agent automates exactly these steps: it arrives with its own issue.)
# Runs as root after `make`; everything it creates is removed on exit.
set -u
cd "$(dirname "$0")/.." || exit 1

CB=$PWD/build/canary-bpf
CLIENT=$PWD/build/tests/cbclient
SLOWSRV=$PWD/build/tests/slowsrv
LAB=cbdemo$$
PIN=/sys/fs/bpf/cbdemo-$$
SRV_PID=""
KA_PID=""

cleanup() {
	trap - EXIT INT TERM
	[ -z "$KA_PID" ] || kill "$KA_PID" 2>/dev/null
	[ -z "$SRV_PID" ] || kill "$SRV_PID" 2>/dev/null
	for i in ncl ncl2 nb1 nb2 nb3 nb4 nb5; do cb detach "$i" >/dev/null 2>&1; done
	scripts/lab.sh down "$LAB" >/dev/null 2>&1
	rm -rf "$PIN" "/tmp/$LAB-ka.json"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cb() { timeout 30 nsenter --net="/run/netns/$LAB-node" -- "$CB" -p "$PIN" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ canary-bpf %s\n' "$*"; cb "$@" || exit 1; }
load() {   # load N: N new connections from client 1; prints the split the client saw
	timeout 120 ip netns exec "$LAB-cl" "$CLIENT" count --addr 10.96.0.10 --port 80 -n "$1" \
		--timeout-ms 1000 --budget-ms 60000 | python3 -c '
import json, sys
d = json.load(sys.stdin)
b = d["backends"]
stable = sum(v for k, v in b.items() if k.startswith("s"))
print("   client: %d ok, %d errors; stable %d, canary %d; statuses %s"
      % (d["ok"], d["errors"], stable, b.get("c1", 0), d.get("statuses", {})))'
}

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || exit 1
for b in "$CB" "$CLIENT" "$SLOWSRV"; do
	[ -x "$b" ] || { echo "demo: $b is missing: run make demo" >&2; exit 1; }
done

say "A lab: client -> node (canary-bpf) -> 4 stable nginx + 1 canary whose release answers 500"
LAB_CANARY_STATUS=500 scripts/lab.sh up "$LAB" || exit 1
for i in ncl ncl2 nb1 nb2 nb3 nb4 nb5; do cb attach "$i" >/dev/null || exit 1; done
run service add web --vip 10.96.0.10 --port 80
for i in 1 2 3 4; do cb backend add web stable "10.20.$i.2:8080" || exit 1; done
run backend add web canary 10.20.5.2:8080
run weight set web 5

say "5 % of new connections go to the canary; the datapath counts its errors"
load 2000
run stats web

say "Roll back: one map update"
start=$(date +%s%N)
run weight set web 0
echo "   weight 0 after $(( ($(date +%s%N) - start) / 1000000 )) ms (the CLI's whole run)"
load 1000

say "A fixed release on the canary (200 OK, port 8081); ramp it up under 40 keep-alive connections"
ip netns exec "$LAB-c1" "$SLOWSRV" --addr 10.20.5.2 --port 8081 --delay-ms 0 --name c1 \
	>/dev/null 2>&1 &
SRV_PID=$!
sleep 0.5
run backend del web canary 10.20.5.2:8080
run backend add web canary 10.20.5.2:8081
timeout 60 ip netns exec "$LAB-cl" "$CLIENT" keepalive --addr 10.96.0.10 --port 80 -c 40 \
	--duration-ms 9000 --interval-ms 20 >"/tmp/$LAB-ka.json" &
KA_PID=$!
for w in 5 25 50 100; do
	run weight set web "$w"
	load 400
	sleep 1
done
wait "$KA_PID"
KA_PID=""
echo "   keep-alive: $(cat "/tmp/$LAB-ka.json")"
echo "   (errors 0 and changed 0: no established connection moved while the weight changed)"
run stats web

say "Promote: the canary's backend becomes the stable set, the weight returns to 0"
# Added to stable while still in canary, it keeps its identity: its connections stay.
run backend add web stable 10.20.5.2:8081
for i in 1 2 3 4; do cb backend del web stable "10.20.$i.2:8080" || exit 1; done
run backend del web canary 10.20.5.2:8081
run weight set web 0
load 500
echo "   (the client names backends: c1 now serves the stable track)"
run service list
say "Done: everything the demo created is being removed"
