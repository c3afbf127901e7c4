#!/usr/bin/env bash
# make check-asan: user/ under the sanitizers and valgrind.
#
#   tests/asan/run.sh ASAN_BUILD PLAIN_BIN
#
# 1. The unit tests built with -fsanitize=address,undefined (ASAN_BUILD/tests).
# 2. The CLI verbs against a real pinned state at /sys/fs/bpf/cbfz-PID-*, twice:
#    the ASan+UBSan CLI (ASAN_BUILD/canary-bpf), then the plain CLI (PLAIN_BIN)
#    under valgrind; success and error paths, each with its exit status.
# 3. The agent, both ways, for a few seconds in a private network namespace
#    (its backends are 192.0.2.x on that namespace's lo, nothing listening, or
#    unreachable): /metrics fetched once, a rollback, a SIGHUP reload, SIGTERM.
#
# Any sanitizer report, valgrind error (definite or indirect leaks included;
# tests/asan/valgrind.supp lists the known false reports) or unexpected exit
# status fails the check. Logs stay in ASAN_BUILD/logs. Closes with
# "asan: N passed, N failed". Needs root and a bpffs (BPF objects are loaded).
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
asan=${1:-build-asan}
plain=${2:-$asan/plain/canary-bpf}
supp=$root/tests/asan/valgrind.supp
logs=$asan/logs
export CANARY_BPF_STATE_DIR=$logs/state   # rollout records of this run only
pin=/sys/fs/bpf/cbfz-$$
agent_pid=""
passed=0
failed=0

if [ "$(id -u)" -ne 0 ]; then
	echo "check-asan: the CLI loads BPF programs: run as root" >&2
	exit 1
fi
for tool in valgrind unshare nsenter curl ip; do
	command -v "$tool" >/dev/null || { echo "check-asan: $tool is missing" >&2; exit 1; }
done
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || {
	echo "check-asan: cannot mount bpffs on /sys/fs/bpf" >&2
	exit 1
}

cleanup() {
	if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
		kill -KILL "$agent_pid" 2>/dev/null
		wait "$agent_pid" 2>/dev/null
	fi
	rm -rf "$pin-asan" "$pin-vg" "$pin-agent-asan" "$pin-agent-vg"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$logs"
mkdir -p "$logs"
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# --error-exitcode=99, not 1: exit 1 is the CLI's own "runtime failure".
vg=(valgrind --leak-check=full "--errors-for-leak-kinds=definite,indirect"
    --error-exitcode=99 --suppressions="$supp")

ok() {
	passed=$((passed + 1))
	echo "ok   $1"
}

# bad WHAT LOG WHY: count a failure and show the start of the report.
bad() {
	failed=$((failed + 1))
	echo "FAIL $1: $3 (log $2)"
	grep -E -m 12 -A 6 \
		'ERROR: |runtime error|SUMMARY|Invalid |uninitialised|definitely lost|indirectly lost' \
		"$2" | head -n 30 | sed 's/^/     /'
}

sanitizer_clean() {
	! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer' "$1"
}

valgrind_clean() {
	grep -q 'ERROR SUMMARY: 0 errors' "$1"
}

# judge MODE WHAT LOG WHY: WHY (empty if the run itself went as expected), then the
# sanitizer's or valgrind's report in LOG, decide ok or bad.
judge() {
	local mode=$1 what=$2 log=$3 why=$4
	if [ -n "$why" ]; then
		bad "$mode: $what" "$log" "$why"
	elif [ "$mode" = asan ] && ! sanitizer_clean "$log"; then
		bad "$mode: $what" "$log" "sanitizer report"
	elif [ "$mode" = vg ] && ! valgrind_clean "$log"; then
		bad "$mode: $what" "$log" "valgrind errors"
	else
		ok "$mode: $what"
	fi
}

# ---------------------------------------------------------------- unit tests
for t in "$asan"/tests/test_*; do
	[ -x "$t" ] || continue
	log=$logs/$(basename "$t").log
	timeout 600 "$t" >"$log" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		bad "unit $(basename "$t")" "$log" "exit $rc"
	elif ! sanitizer_clean "$log"; then
		bad "unit $(basename "$t")" "$log" "sanitizer report"
	else
		ok "unit $(basename "$t")"
	fi
done

# ---------------------------------------------------------------- CLI verbs
n=0
# cli MODE WANT ARGS...: one CLI command, ASan-built or under valgrind.
cli() {
	local mode=$1 want=$2 log rc
	shift 2
	n=$((n + 1))
	log=$logs/cli-$mode-$(printf '%02d' "$n").log
	if [ "$mode" = asan ]; then
		timeout 120 "$asan/canary-bpf" -p "$pin-asan" "$@" >"$log" 2>&1
		rc=$?
	else
		timeout 300 "${vg[@]}" --log-file="$log.vg" "$plain" -p "$pin-vg" "$@" >"$log" 2>&1
		rc=$?
		cat "$log.vg" >>"$log"
	fi
	judge "$mode" "canary-bpf $*" "$log" "$([ "$rc" -eq "$want" ] || echo "exit $rc, expected $want")"
}

scenario() {
	local m=$1

	cli "$m" 0 service add web --vip 10.96.0.10 --port 80
	cli "$m" 0 service add web6 --vip fd00:96::10 --port 443 --proto udp --affinity client
	cli "$m" 0 backend add web stable 10.20.1.2:8080
	cli "$m" 0 backend add web stable 10.20.2.2
	cli "$m" 0 backend add web canary 10.20.5.2:8080
	cli "$m" 0 backend add web6 stable '[fd20:1::2]:8443'
	cli "$m" 0 weight set web 12.5
	cli "$m" 0 -j weight get web
	cli "$m" 0 weight get web
	cli "$m" 0 override add web 10.10.2.0/24 canary
	cli "$m" 0 override add web6 fd10:2::/64 stable
	cli "$m" 0 -j stats
	cli "$m" 0 stats web
	cli "$m" 0 -j service list
	cli "$m" 0 service list
	cli "$m" 0 top --count 1 web
	cli "$m" 0 rollout status
	cli "$m" 0 -j rollout status web
	cli "$m" 1 rollout pause web                    # no agent answers (5 s)
	cli "$m" 0 override del web 10.10.2.0/24
	cli "$m" 0 backend del web canary 10.20.5.2:8080
	cli "$m" 0 backend add web stable 10.20.5.2:8080
	# error paths: invalid input is refused before anything changes
	cli "$m" 2 backend add web stable 10.20.1.999
	cli "$m" 2 backend add web stable '[fd20::1]:80'
	cli "$m" 2 service add bad --vip 127.0.0.1 --port 80
	cli "$m" 2 service add web --vip 10.96.0.11 --port 80
	cli "$m" 2 weight set web 101
	cli "$m" 2 override add web 10.10.2.1/24 canary
	cli "$m" 2 override del web 10.10.9.0/24
	cli "$m" 2 service del nosuch
	cli "$m" 2 frobnicate
	cli "$m" 2 service add x --vip 10.0.0.1 --port 80 --colour blue
	cli "$m" 2 attach cbfz-nosuch0
	cli "$m" 0 --help backend
	cli "$m" 0 -V
	cli "$m" 0 service del web6
	cli "$m" 0 service del web
	cli "$m" 0 -j service list
}

scenario asan
scenario vg

# ---------------------------------------------------------------- agent
cat >"$logs/agent.yaml" <<'EOF'
# check-asan: 192.0.2.1-2 are on the agent namespace's lo with nothing
# listening (refused); 192.0.2.3 and fd20:1::2 are unreachable there.
services:
  - name: web
    vip: 10.96.0.10
    port: 80
    stable: [192.0.2.1:8080, 192.0.2.2:8080]
    canary: [192.0.2.3:8080]
    overrides:
      - {cidr: 10.10.2.0/24, track: canary}
    health_check: {type: tcp, interval: 500ms, timeout: 200ms}
    rollout:
      steps: [10, 50, 100]
      step_duration: 1m
      analysis: {interval: 1s}
  - name: api
    vip: fd00:96::10
    port: 8443
    affinity: client
    stable: ["[fd20:1::2]:8443"]
    health_check: {type: http, path: /healthz, interval: 1s, timeout: 500ms}
EOF

# wait_for SECONDS CMD...: poll every 0.2 s.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

agent_gone() {
	! kill -0 "$agent_pid" 2>/dev/null
}

# /metrics of the agent, once it is in its own namespace (not whatever the host has on the port).
metrics() {
	[ "$(readlink "/proc/$agent_pid/ns/net")" != "$(readlink /proc/$$/ns/net)" ] &&
		nsenter --net="/proc/$agent_pid/ns/net" curl -sf -o "$1" "http://127.0.0.1:$2/metrics"
}

agent_run() {
	local mode=$1 log=$logs/agent-$1.log out=$logs/agent-$1.out tf=$logs/textfile-$1 rc why=""
	local cmd port=9435

	if [ "$mode" = asan ]; then
		cmd=("$asan/canary-bpf")
	else
		cmd=("${vg[@]}" --log-file="$log.vg" "$plain")
	fi
	mkdir -p "$tf"
	# A network namespace of its own: lo up with the two local backends.
	# shellcheck disable=SC2016  # $@ is expanded by the inner bash
	unshare --net -- bash -c 'ip link set lo up && ip addr add 192.0.2.1/32 dev lo &&
		ip addr add 192.0.2.2/32 dev lo && exec "$@"' agent \
		"${cmd[@]}" -p "$pin-agent-$mode" agent --config "$logs/agent.yaml" \
		--metrics-addr "127.0.0.1:$port" --textfile-dir "$tf" --textfile-interval 1s \
		>"$log" 2>&1 &
	agent_pid=$!
	if ! wait_for 120 metrics "$out" "$port" 2>/dev/null; then
		why="no /metrics within 120 s"
	elif ! grep -q '^canary_bpf_build_info' "$out"; then
		why="/metrics without canary_bpf_build_info"
	elif ! wait_for 60 grep -q 'rolled back' "$log"; then
		why="no rollback of the unreachable canary within 60 s"
	else
		kill -HUP "$agent_pid"
		wait_for 60 grep -q 'reloaded' "$log" || why="no reload after SIGHUP"
	fi
	kill -TERM "$agent_pid" 2>/dev/null
	if ! wait_for 120 agent_gone; then
		kill -KILL "$agent_pid" 2>/dev/null
		why=${why:-"still running 120 s after SIGTERM"}
	fi
	wait "$agent_pid"
	rc=$?
	agent_pid=""
	[ "$mode" = vg ] && cat "$log.vg" >>"$log"
	[ -s "$tf/canary_bpf.prom" ] || why=${why:-"no textfile written"}
	[ -n "$why" ] || [ "$rc" -eq 0 ] || why="exit $rc after SIGTERM"
	judge "$mode" "agent (metrics, rollback, SIGHUP reload, SIGTERM)" "$log" "$why"
}

agent_run asan
agent_run vg

# One line over every valgrind run, from their lines
# "ERROR SUMMARY: E errors from C contexts (suppressed: S from T)".
cat "$logs"/*.vg 2>/dev/null | awk '
	/ERROR SUMMARY:/ { runs++; err += $4; sub(/.*suppressed: /, ""); supp += $1 }
	/(definitely|indirectly) lost:/ { lost += $4 }
	END { printf "valgrind: %d runs, %d errors, %d bytes definitely or indirectly lost, " \
		"%d known false reports suppressed\n", runs, err, lost, supp }'
echo "asan: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
