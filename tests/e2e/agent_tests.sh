# shellcheck shell=bash
# End-to-end tests of `canary-bpf agent` (sourced by tests/e2e/run.sh): the
# real agent in the lab's node namespace runs rollouts from YAML files while
# cbclient drives real TCP load. Figures are printed with a "  figure:" prefix
# so that the closing notes can quote them.
# shellcheck disable=SC2015 # "A && B || fail" is meant: all of them, or fail.
# shellcheck disable=SC2154,SC2034 # variables shared with the runner, both ways

# agent_yaml FILE SERVICE-YAML...: a config with every node interface in xdp mode.
agent_yaml() {
	local file=$1 i
	shift
	{
		echo "interfaces:"
		for i in "${NODE_IFS[@]}"; do echo "  - {name: $i, mode: xdp}"; done
		echo "services:"
		printf '%s\n' "$@"
	} >"$file"
	for i in "${NODE_IFS[@]}"; do echo "$i" >>"$WORK/attached"; done
}

# agent_start CONFIG: the agent in the node until the test ends (killed by its
# PID); returns once it has applied every service. Its log: $WORK/agent.log.
# AGENT_ARGS: more options; AGENT_WRAP: a command that execs it (setpriv ...).
AGENT_ARGS=()
AGENT_WRAP=()
agent_start() {
	: >"$WORK/agent.log"
	nsenter --net="/run/netns/$LAB_NS_NODE" -- "${AGENT_WRAP[@]}" "$CB" -p "$PIN" agent \
		--config "$1" "${AGENT_ARGS[@]}" >>"$WORK/agent.log" 2>&1 &
	AGENT_PID=$!
	on_exit "kill -9 $AGENT_PID 2>/dev/null; wait $AGENT_PID 2>/dev/null"
	for _ in $(seq 1 100); do
		grep -q ' ready ' "$WORK/agent.log" && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || fail "agent exited: $(tail -n 3 "$WORK/agent.log")"
		sleep 0.1
	done
	fail "agent not ready in 10 s: $(tail -n 3 "$WORK/agent.log")"
}

# wait_phase NAME PHASE SECONDS: poll `rollout status` until PHASE; RO is its JSON.
wait_phase() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt "$end" ]; do
		cb -j rollout status "$1"
		RO=$CB_OUT
		[ "$(jget "$RO" 'd["phase"]')" = "$2" ] && return 0
		sleep 0.1
	done
	fail "$1 not $2 within $3 s: $RO; log: $(tail -n 4 "$WORK/agent.log")"
}

# log_ms EVENT: realtime ms of the agent's first log line of EVENT.
log_ms() {
	python3 - "$WORK/agent.log" "$1" <<'PY'
import datetime, sys
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) > 2 and f[2] == sys.argv[2]:
        t = datetime.datetime.strptime(f[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        print(int(t.timestamp() * 1000)); break
else:
    print(0)
PY
}

# A service on the IPv4 VIP at PORT with a rollout; extra YAML lines follow.
svc_yaml() {
	local name=$1 port=$2 stable=$3 canary=$4
	shift 4
	printf '  - name: %s\n    vip: %s\n    port: %s\n    stable: [%s]\n    canary: [%s]\n' \
		"$name" "$LAB_VIP4" "$port" "$stable" "$canary"
	printf '%s\n' "$@"
}

STABLE_NGINX="10.20.1.2:8080, 10.20.2.2:8080, 10.20.3.2:8080, 10.20.4.2:8080"

test_agent_config_errors() {
	local f=$WORK/bad.yaml good=$WORK/good.yaml base
	base="services:
  - name: ag
    vip: $LAB_VIP4
    port: 80
    stable: [10.20.1.2:8080]"
	# Each class: the file, the place, a word of the reason.
	local -a yaml=("services: [ {name: ag" "$base
    colour: red" "$base
    rollout: {steps: [5], step_duration: 30 s}" "$base
    canary: [10.20.5.300:8080]" "$base
    rollout: {steps: [5, 100.5]}" "$base
    rollout: {steps: [50, 25]}")
	local -a where=("bad.yaml:2:1:" "bad.yaml:6:5:" "bad.yaml:6:42:" "bad.yaml:6:14:" \
		"bad.yaml:6:26:" "bad.yaml:6:27:")
	local -a why=("" "unknown key" "duration" "address" "100" "not above")
	for i in "${!yaml[@]}"; do
		printf '%s\n' "${yaml[$i]}" >"$f"
		cb agent --config "$f"
		[ "$CB_RC" -eq 2 ] && [ "$(echo "$CB_ERR" | wc -l)" -eq 1 ] &&
			[[ $CB_ERR == "canary-bpf: agent: $f"* ]] && [[ $CB_ERR == *"${where[$i]}"* ]] &&
			[[ $CB_ERR == *"${why[$i]}"* ]] ||
			fail "class $i: exit $CB_RC, '$CB_ERR' (want ${where[$i]} ... ${why[$i]})"
		cb service list
		[ "$CB_OUT" = "no services" ] || [ ! -e "$PIN/maps/cb_meta" ] ||
			fail "class $i applied something: $CB_OUT"
	done
	echo "  figure: 6 config error classes refused with FILE:LINE:COL, nothing applied"
	# A running agent keeps its configuration when the file turns bad.
	agent_yaml "$good" "$(svc_yaml ag 80 "$STABLE_NGINX" "" )"
	agent_start "$good"
	cb -j stats ag
	local before=$CB_OUT
	printf '%s\n' "${yaml[1]}" >"$good"
	for _ in $(seq 1 30); do grep -q 'keeping the running' "$WORK/agent.log" && break; sleep 0.1; done
	grep -q "good.yaml:6:5: unknown key 'colour'.*keeping the running configuration" "$WORK/agent.log" ||
		fail "no reload error logged: $(tail -n 2 "$WORK/agent.log")"
	cb -j stats ag
	[ "$(jget "$CB_OUT" 'd[0]["tracks"]["stable"]["backends"]')" = \
		"$(jget "$before" 'd[0]["tracks"]["stable"]["backends"]')" ] || fail "state changed: $CB_OUT"
	kill -0 "$AGENT_PID" || fail "agent died on a bad file"
}

# --validate: every error of a hostile file on its own line, exit 2, nothing touched.
test_agent_validate_and_input_limits() {
	local f=$WORK/v.yaml good=$WORK/vgood.yaml n
	printf 'services:\n  - {name: "we\\0b", vip: %s, port: 80, stable: [10.20.1.2:8080]}\n' \
		"$LAB_VIP4" >"$f"
	printf '  - {name: x, vip: 10.96.0.300, port: 80}\n  - {name: y, vip: %s, port: 81}\n' \
		"$LAB_VIP4" >>"$f"
	printf '  - {name: y, vip: %s, port: 82}\n---\nservices: []\n' "$LAB_VIP4" >>"$f"
	cb agent --validate --config "$f"
	[ "$CB_RC" -eq 2 ] || fail "validate of a bad file: exit $CB_RC"
	# The second document is refused before anything else is read.
	[ "$CB_ERR" = "$f:6:1: a second YAML document: the file holds one" ] ||
		fail "second document: '$CB_ERR'"
	head -n 5 "$f" >"$f.1" && mv "$f.1" "$f"
	cb agent --validate --config "$f"
	n=$(printf '%s\n' "$CB_ERR" | grep -c "^$f:[0-9]*:[0-9]*: ")
	[ "$CB_RC" -eq 2 ] && [ "$n" -eq 3 ] && [[ $CB_ERR == *"$f:2:12: name holds the control character 0x00"* ]] &&
		[[ $CB_ERR == *"is not an IPv4 or IPv6 address"* ]] && [[ $CB_ERR == *"service y is defined twice"* ]] ||
		fail "validate: exit $CB_RC, $n lines: $CB_ERR"
	python3 -c "print('services: ' + '[' * 60000 + ']' * 60000)" >"$f"
	cb agent --validate --config "$f"
	[ "$CB_RC" -eq 2 ] && [ "$CB_ERR" = "$f:1:26: nested deeper than 16 levels" ] ||
		fail "deep nesting: exit $CB_RC, '$CB_ERR'"
	cb agent --frobnicate --config "$f"
	[ "$CB_RC" -eq 2 ] && [[ $CB_ERR == *"unknown option '--frobnicate'"* ]] ||
		fail "unknown option: exit $CB_RC, '$CB_ERR'"
	agent_yaml "$good" "$(svc_yaml vg 80 "$STABLE_NGINX" "")"
	# Touching nothing: no state appears under a pin path of its own.
	CB_OUT=$(node "$CB" -p "$PIN-validate" agent --validate --config "$good" 2>"$WORK/stderr")
	CB_RC=$?
	[ "$CB_RC" -eq 0 ] && [[ $CB_OUT == "$good: valid: 1 services, "* ]] ||
		fail "validate of a good file: exit $CB_RC, '$CB_OUT' $(cat "$WORK/stderr")"
	[ ! -e "$PIN-validate" ] || fail "--validate created $PIN-validate"
	echo "  figure: 3 errors of one file on 3 lines; 60,000 nested brackets refused at level 17"
}

# One agent per pin path; the CLI does not silently fight it; --force is heard and kept.
test_agent_one_owner_and_forced_changes() {
	local cfg=$WORK/own.yaml out rc w
	agent_yaml "$cfg" "$(svc_yaml ow 80 "$STABLE_NGINX" 10.20.5.2:8080 \
		"    rollout: {steps: [10, 50, 100], step_duration: 60s}")"
	agent_start "$cfg"
	wait_phase ow progressing 10
	# A second agent on the same pin path refuses to start, naming the first.
	out=$(timeout 20 nsenter --net="/run/netns/$LAB_NS_NODE" -- "$CB" -p "$PIN" agent \
		--config "$cfg" --metrics-addr off 2>&1)
	rc=$?
	[ "$rc" -eq 1 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] &&
		[[ $out == *"another agent owns $PIN: pid $AGENT_PID ("*"agent --config $cfg"* ]] ||
		fail "second agent: exit $rc: $out"
	kill -0 "$AGENT_PID" || fail "the first agent died"
	# A CLI change to a managed service: refused, naming the agent and the rollout verbs.
	for args in "weight set ow 50" "backend add ow stable 10.20.6.2:8080" \
		"override add ow 10.1.0.0/16 canary" "service del ow"; do
		# shellcheck disable=SC2086 # the verb's words
		cb $args
		[ "$CB_RC" -eq 2 ] && [ "$(echo "$CB_ERR" | wc -l)" -eq 1 ] &&
			[[ $CB_ERR == *"ow is managed by the agent (pid $AGENT_PID"* ]] &&
			[[ $CB_ERR == *"rollout status|pause|resume|abort|promote ow"* ]] ||
			fail "$args: exit $CB_RC: $CB_ERR"
	done
	must -j weight get ow
	[ "$(jget "$CB_OUT" 'd["weight_percent"]')" = 10 ] || fail "a refused change changed: $CB_OUT"
	# --force: the agent hears of it first, logs it, and leaves it alone, SIGHUP or not.
	must weight set ow 50 --force
	grep -q "forced  *ow: changed by the CLI with --force" "$WORK/agent.log" ||
		fail "no forced change logged: $(tail -n 3 "$WORK/agent.log")"
	kill -HUP "$AGENT_PID"
	sleep 3
	must -j weight get ow
	[ "$(jget "$CB_OUT" 'd["weight_percent"]')" = 50 ] || fail "forced weight undone: $CB_OUT"
	must -j rollout status ow
	[ "$(jget "$CB_OUT" 'd["forced"]')" = True ] && [ "$(jget "$CB_OUT" 'd["agent_running"]')" = True ] &&
		[ "$(jget "$CB_OUT" 'd["agent_pid"]')" = "$AGENT_PID" ] &&
		[ "$(jget "$CB_OUT" 'd["updated_age_seconds"] < 60')" = True ] ||
		fail "status after a forced change: $CB_OUT"
	# The file changes: the agent applies it again.
	echo "# edited" >>"$cfg"
	for _ in $(seq 1 50); do
		cb -j weight get ow
		w=$(jget "$CB_OUT" 'd["weight_percent"]')
		[ "$w" = 10 ] && break
		sleep 0.1
	done
	[ "$w" = 10 ] || fail "the file's weight not back after an edit: $CB_OUT"
	must -j rollout status ow
	[ "$(jget "$CB_OUT" 'd["forced"]')" = False ] || fail "still forced: $CB_OUT"
	# No agent running: the CLI is the only writer, nothing to refuse.
	kill "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	must weight set ow 20
	echo "  figure: second agent refused (exit 1); 4 CLI changes refused (exit 2); forced weight kept across SIGHUP, reset by a file edit"
}

# 200 new connections/s; the canary refuses every connection at 10 %.
test_agent_refusing_canary_rolls_back() {
	local cfg=$WORK/ag.yaml out=$WORK/rate.json log=$WORK/rate.log t0 tr last
	agent_yaml "$cfg" "$(svc_yaml ag 80 "$STABLE_NGINX" 10.20.5.2:8099 \
		"    rollout: {steps: [10, 50, 100], step_duration: 30s, min_connections: 50," \
		"      analysis: {interval: 1s, failure_limit: 2}}")"
	bg_client "$LAB_NS_CL" "$out" rate --addr "$LAB_VIP4" --port 80 --rate 200 \
		--duration-ms 7000 --timeout-ms 1000 --log "$log"
	local client=$BG_PID
	sleep 1
	agent_start "$cfg"
	wait_phase ag rolled_back 10
	t0=$(log_ms rollout)
	tr=$(log_ms rollback)
	wait "$client"
	# The canary's answers are refusals (RST); timeouts are not from the canary.
	last=$(awk '$3 ~ /^error:(refused|reset)/ { if ($1 > m) m = $1 } END { printf "%.0f\n", m }' "$log")
	local late
	late=$(awk -v t="$tr" '$3 ~ /^error/ && $1 > t { n++ } END { print n + 0 }' "$log")
	echo "  figure: refusing canary: rolled back $((tr - t0)) ms after the first step began;" \
		"$(jget "$RO" 'd["reason"]')"
	echo "  figure: last refused connection started $((last - tr)) ms after the rollback;" \
		"client $(jget "$(cat "$out")" '(d["total"], d["errors"])') (total errors), $late errors" \
		"of other kinds after the rollback"
	[ "$((tr - t0))" -le 3000 ] || fail "rollback took $((tr - t0)) ms"
	[ "$((last - tr))" -le 1000 ] || fail "canary still refusing $((last - tr)) ms after the rollback"
	[[ $(jget "$RO" 'd["reason"]') == *"connect failure ratio"* ||
		$(jget "$RO" 'd["reason"]') == *"reset ratio"* ]] || fail "reason: $RO"
}

# Canary answers 5 % of requests with 500, stable 0.1 %.
test_agent_5xx_canary_rolls_back() {
	local cfg=$WORK/ag.yaml out=$WORK/rate.json st
	slowsrv "$LAB_NS_S1" 10.20.1.2 8081 0 s1 200 --fail-every 1000
	slowsrv "$LAB_NS_S2" 10.20.2.2 8081 0 s2 200 --fail-every 1000
	slowsrv "$LAB_NS_C1" 10.20.5.2 8081 0 c1 200 --fail-every 20
	agent_yaml "$cfg" "$(svc_yaml ag 80 "10.20.1.2:8081, 10.20.2.2:8081" 10.20.5.2:8081 \
		"    rollout: {steps: [10, 50, 100], step_duration: 60s, min_connections: 50," \
		"      analysis: {interval: 1s, failure_limit: 2}}")"
	bg_client "$LAB_NS_CL" "$out" rate --addr "$LAB_VIP4" --port 80 --rate 200 \
		--duration-ms 20000 --timeout-ms 1000
	local client=$BG_PID
	sleep 0.5
	agent_start "$cfg"
	wait_phase ag rolled_back 20
	st=$(jget "$RO" 'd["decision_seconds"]')
	echo "  figure: 5 % vs 0.1 % 5xx: rolled back after $st s; $(jget "$RO" 'd["reason"]')"
	kill "$client" 2>/dev/null
	python3 -c "import sys; sys.exit(0 if float('$st') <= 15 else 1)" || fail "took $st s"
	[[ $(jget "$RO" 'd["reason"]') == *"HTTP 5xx ratio"* ]] || fail "reason: $RO"
}

# A canary that turns bad while the rollout waits at a pause gate (and its
# health check still passes) is rolled back: the gate is judged too.
test_agent_canary_turning_bad_at_a_gate() {
	local cfg=$WORK/ag.yaml out=$WORK/rate.json t_bad t_rb
	slowsrv "$LAB_NS_S1" 10.20.1.2 8082 0 s1 200
	slowsrv "$LAB_NS_C1" 10.20.5.2 8082 0 c1 200
	local good=$SLOWSRV_PID
	agent_yaml "$cfg" "$(svc_yaml ag 80 10.20.1.2:8082 10.20.5.2:8082 \
		"    health_check: {type: tcp, interval: 1s, timeout: 500ms, unhealthy_after: 3}" \
		"    rollout: {steps: [30, pause, 100], step_duration: 2s, min_connections: 20," \
		"      analysis: {interval: 1s, failure_limit: 2}}")"
	bg_client "$LAB_NS_CL" "$out" rate --addr "$LAB_VIP4" --port 80 --rate 200 \
		--duration-ms 30000 --timeout-ms 1000
	local client=$BG_PID
	agent_start "$cfg"
	wait_phase ag paused 15
	[[ $(jget "$RO" 'd["reason"]') == *"is a pause"* ]] || fail "not at the gate: $RO"
	sleep 3
	cb -j rollout status ag
	[ "$(jget "$CB_OUT" 'd["phase"]')" = paused ] && [ "$(jget "$CB_OUT" 'd.get("last_check")')" = pass ] ||
		fail "a healthy canary at the gate: $CB_OUT"
	# The canary now answers 500; its port still accepts, so its TCP check passes.
	kill "$good"
	wait "$good" 2>/dev/null
	slowsrv "$LAB_NS_C1" 10.20.5.2 8082 0 c1 500
	t_bad=$(date +%s%3N)
	wait_phase ag rolled_back 15
	t_rb=$(date +%s%3N)
	kill "$client" 2>/dev/null
	[[ $(jget "$RO" 'd["reason"]') == *"HTTP 5xx ratio"*"while waiting at a gate"* ]] || fail "reason: $RO"
	[ $((t_rb - t_bad)) -le 10000 ] || fail "rolled back $((t_rb - t_bad)) ms after the canary turned bad"
	echo "  figure: canary turned bad at the gate (30 %): rolled back after $((t_rb - t_bad)) ms (target ≤ 10 s); $(jget "$RO" 'd["reason"]')"
}

# A rollout belongs to its release: the canary backend replaced mid-rollout
# (a pod restarted with a new address) neither restarts nor resets it; after
# the promotion, an emptied bpffs (a reboot) does not run the release again.
test_agent_release_survives_churn_and_reboot() {
	local cfg=$WORK/rel.yaml out=$WORK/rate.json step i
	slowsrv "$LAB_NS_C1" 10.20.5.2 8083 0 c1 200
	slowsrv "$LAB_NS_C1" 10.20.5.2 8084 0 c1b 200
	rel_yaml() {
		agent_yaml "$cfg.new" "$(svc_yaml rl 80 "$STABLE_NGINX" "$1" "    release: v2" \
			"    rollout: {steps: [10, 50, 100], step_duration: 3s, min_connections: 10," \
			"      analysis: {interval: 1s, failure_limit: 2}}")"
		mv "$cfg.new" "$cfg"
	}
	rel_yaml 10.20.5.2:8083
	bg_client "$LAB_NS_CL" "$out" rate --addr "$LAB_VIP4" --port 80 --rate 200 \
		--duration-ms 40000 --timeout-ms 1000
	local client=$BG_PID
	agent_start "$cfg"
	for _ in $(seq 1 150); do
		cb -j rollout status rl
		step=$(jget "$CB_OUT" 'd["step"]')
		[ "$step" -ge 2 ] 2>/dev/null && break
		sleep 0.1
	done
	[ "$step" = 2 ] && [ "$(jget "$CB_OUT" 'd["release"]')" = v2 ] || fail "not at step 2 of v2: $CB_OUT"
	# The canary pod is replaced: same release, another address.
	rel_yaml 10.20.5.2:8084
	for i in $(seq 1 30); do
		cb -j rollout status rl
		[ "$(jget "$CB_OUT" 'd["step"]')" -ge 2 ] || fail "the rollout went back to step 1 on churn: $CB_OUT"
		must -j stats rl
		[ "$(jget "$CB_OUT" 'd[0]["tracks"]["canary"]["backends"]')" = "['10.20.5.2:8084']" ] && break
		sleep 0.1
	done
	wait_phase rl promoted 30
	echo "  figure: canary backend replaced at step 2 of release v2: no restart, promoted ($(jget "$RO" 'd["reason"]'))"
	kill "$client" 2>/dev/null
	# A reboot: the agent dies, the bpffs is emptied, the agent starts with the same file.
	kill -9 "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	for i in "${NODE_IFS[@]}"; do cb detach "$i"; done
	rm -rf "$PIN"
	[ -e "$CANARY_BPF_STATE_DIR/${PIN//\//_}/rl.rollout" ] || fail "no record under --state-dir"
	agent_start "$cfg"
	grep -q "state-dir *rl: rollout record restored from .*: promoted, release v2" "$WORK/agent.log" ||
		fail "not restored: $(grep rl "$WORK/agent.log" | tail -n 3)"
	cb -j rollout status rl
	[ "$(jget "$CB_OUT" 'd["phase"]')" = promoted ] || fail "release v2 ran again after the reboot: $CB_OUT"
	sleep 2
	cb -j rollout status rl
	[ "$(jget "$CB_OUT" 'd["phase"]')" = promoted ] || fail "release v2 ran again after the reboot: $CB_OUT"
	echo "  figure: emptied bpffs: release v2 stays promoted (record restored from --state-dir)"
}

# Clients that hold keep-alive connections: a handful of new canary
# connections, thousands of requests. The requests meet min_connections.
test_agent_keepalive_clients_progress() {
	local cfg=$WORK/ka.yaml out=$WORK/ka.json
	agent_yaml "$cfg" "$(svc_yaml ka 80 "$STABLE_NGINX" "$LAB_CANARY4" "    release: k1" \
		"    rollout: {steps: [50, 100], step_duration: 2s, min_connections: 200," \
		"      analysis: {interval: 1s, failure_limit: 2}}")"
	agent_start "$cfg"
	wait_phase ka progressing 10
	bg_client "$LAB_NS_CL" "$out" keepalive --addr "$LAB_VIP4" --port 80 -c 10 --duration-ms 20000
	local client=$BG_PID
	wait_phase ka promoted 20
	kill "$client" 2>/dev/null
	wait "$client" 2>/dev/null
	must -j stats ka
	[ "$(jget "$CB_OUT" 'd[0]["tracks"]["canary"]["connections"] < 200')" = True ] ||
		fail "not a keep-alive test: $CB_OUT"
	echo "  figure: 10 keep-alive clients, $(jget "$CB_OUT" 'd[0]["tracks"]["canary"]["connections"]') canary connections: promoted on requests ($(jget "$RO" 'd["decision_seconds"]') s)"
}

# 20 healthy rollouts at 200 new connections/s: not one rollback.
test_agent_healthy_canary_never_rolls_back() {
	local cfg=$WORK/ag.yaml out=$WORK/rate.json i rollbacks=0 total=0 errors=0 secs=""
	for i in $(seq 1 20); do
		agent_yaml "$cfg.new" "$(svc_yaml "h$i" 80 "$STABLE_NGINX" 10.20.5.2:8080 \
			"    rollout: {steps: [20, 100], step_duration: 2s, min_connections: 40," \
			"      analysis: {interval: 1s, failure_limit: 2}}")"
		mv "$cfg.new" "$cfg"
		[ "$i" -eq 1 ] && agent_start "$cfg"
		timeout 60 ip netns exec "$LAB_NS_CL" "$CLIENT" rate --addr "$LAB_VIP4" --port 80 \
			--rate 200 --duration-ms 60000 --timeout-ms 1000 >"$out" &
		local client=$!
		local end=$((SECONDS + 30)) phase=""
		while [ $SECONDS -lt "$end" ]; do
			cb -j rollout status "h$i"
			phase=$(jget "$CB_OUT" 'd["phase"]')
			[ "$phase" = promoted ] || [ "$phase" = rolled_back ] && break
			sleep 0.2
		done
		kill -INT "$client" 2>/dev/null; kill "$client" 2>/dev/null; wait "$client" 2>/dev/null
		# Anything but a promotion (a rollback, or a step held to the end) is a false alarm.
		[ "$phase" = promoted ] || { rollbacks=$((rollbacks + 1)); echo "    run $i: $phase: $CB_OUT"; }
		secs="$secs $(jget "$CB_OUT" 'd.get("decision_seconds")')"
	done
	echo "  figure: healthy canary: 20 runs, $rollbacks rollbacks; promotion after (s):$secs"
	[ "$rollbacks" -eq 0 ] || fail "$rollbacks false rollbacks"
}

# SIGKILL mid-rollout, start again: same step, same weight, no failed request.
test_agent_sigkill_resumes() {
	local cfg=$WORK/ag.yaml out=$WORK/rate.json ka=$WORK/ka.json before after
	agent_yaml "$cfg" "$(svc_yaml ag 80 "$STABLE_NGINX" 10.20.5.2:8080 \
		"    rollout: {steps: [10, 30, 100], step_duration: 3s, min_connections: 20," \
		"      analysis: {interval: 1s}}")"
	agent_start "$cfg"
	bg_client "$LAB_NS_CL" "$out" rate --addr "$LAB_VIP4" --port 80 --rate 200 \
		--duration-ms 9000 --timeout-ms 1000
	local rate=$BG_PID
	bg_client "$LAB_NS_CL2" "$ka" keepalive --addr "$LAB_VIP4" --port 80 -c 20 \
		--duration-ms 9000 --interval-ms 20
	local keep=$BG_PID
	for _ in $(seq 1 60); do
		cb -j rollout status ag
		[ "$(jget "$CB_OUT" 'd["step"]')" = 2 ] && break
		sleep 0.1
	done
	sleep 0.5
	before=$(jget "$CB_OUT" '(d["phase"], d["step"], d["weight_percent"])')
	kill -9 "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	cb -j rollout status ag
	[ "$(jget "$CB_OUT" '(d["phase"], d["step"], d["weight_percent"])')" = "$before" ] ||
		fail "state changed while the agent was down: $before -> $CB_OUT"
	sleep 1
	agent_start "$cfg"
	cb -j rollout status ag
	after=$(jget "$CB_OUT" '(d["phase"], d["step"], d["weight_percent"])')
	cb -j weight get ag
	echo "  figure: SIGKILL at $before (phase step weight), after restart: $after, weight" \
		"$(jget "$CB_OUT" 'd["weight_percent"]') %"
	[ "$after" = "$before" ] || fail "resumed at $after, was $before"
	wait "$rate" "$keep"
	echo "  figure: clients during the kill: new connections" \
		"$(jget "$(cat "$out")" '(d["total"], d["errors"])') (total errors)," \
		"keep-alive $(jget "$(cat "$ka")" '(d["requests"], d["errors"], d["changed"])') (requests errors moved)"
	[ "$(jget "$(cat "$out")" 'd["errors"]')" = 0 ] || fail "new connections failed: $(cat "$out")"
	[ "$(jget "$(cat "$ka")" '(d["errors"], d["changed"])')" = "0 0" ] ||
		fail "keep-alive broke: $(cat "$ka")"
	wait_phase ag promoted 20
}

# Promotion swaps the sets without moving a connection; the hook gets its environment.
test_agent_promotion_hooks_and_verbs() {
	local cfg=$WORK/ag.yaml ka=$WORK/ka.json hook=$WORK/hook.out t0 t1
	agent_yaml "$cfg" "$(svc_yaml ag 80 "$STABLE_NGINX" 10.20.5.2:8080 \
		"    rollout:" "      steps: [50, pause, 100]" "      step_duration: 1s" \
		"      min_connections: 5" "      analysis: {min_samples: 5}" \
		"      hooks: {on_promote: \"/bin/sh -c 'echo \$CANARY_SERVICE \$CANARY_EVENT \$CANARY_WEIGHT > $hook'\", timeout: 5s}")"
	agent_start "$cfg"
	bg_client "$LAB_NS_CL2" "$ka" keepalive --addr "$LAB_VIP4" --port 80 -c 20 \
		--duration-ms 8000 --interval-ms 20
	local keep=$BG_PID
	bg_client "$LAB_NS_CL" "$WORK/rate.json" rate --addr "$LAB_VIP4" --port 80 --rate 50 \
		--duration-ms 8000
	wait_phase ag paused 15
	[[ $(jget "$RO" 'd["reason"]') == *pause* ]] || fail "not at the gate: $RO"
	cb rollout pause ag
	[ "$CB_RC" -eq 2 ] && [[ $CB_ERR == *"cannot pause"* ]] || fail "pause at a gate: $CB_RC $CB_ERR"
	t0=$(date +%s%3N)
	must rollout resume ag
	t1=$(date +%s%3N)
	echo "  figure: rollout resume answered by the agent in $((t1 - t0)) ms"
	[ $((t1 - t0)) -lt 1000 ] || fail "resume took $((t1 - t0)) ms"
	wait_phase ag progressing 5
	must rollout promote ag
	wait_phase ag promoted 5
	cb -j stats ag
	[ "$(jget "$CB_OUT" '(d[0]["weight_percent"], d[0]["tracks"]["stable"]["backends"], d[0]["tracks"]["canary"]["backends"])')" = \
		"0 [\"10.20.5.2:8080\"] [\"${STABLE_NGINX//, /\", \"}\"]" ] ||
		fail "after promotion: $CB_OUT"
	for _ in $(seq 1 30); do [ -s "$hook" ] && break; sleep 0.1; done
	[ "$(cat "$hook" 2>/dev/null)" = "ag promote 0" ] || fail "hook wrote '$(cat "$hook" 2>/dev/null)'"
	wait "$keep"
	echo "  figure: keep-alive across gate, resume and promotion: $(cat "$ka")"
	[ "$(jget "$(cat "$ka")" '(d["errors"], d["changed"])')" = "0 0" ] || fail "connections moved: $(cat "$ka")"
	cb rollout abort ag
	[ "$CB_RC" -eq 2 ] || fail "abort after promotion: $CB_RC"
}

# A ConfigMap update (the ..data symlink swap) and SIGHUP reload; the rollout goes on.
test_agent_reload_configmap_swap() {
	local d=$WORK/cm
	mkdir -p "$d/..v1" "$d/..v2"
	agent_yaml "$d/..v1/config.yaml" "$(svc_yaml ag 80 "$STABLE_NGINX" 10.20.5.2:8080 \
		"    rollout: {steps: [10, 100], step_duration: 60s}")"
	agent_yaml "$d/..v2/config.yaml" "$(svc_yaml ag 80 "$STABLE_NGINX" 10.20.5.2:8080 \
		"    overrides: [{cidr: $LAB_CL2_NET4, track: canary}]" \
		"    rollout: {steps: [10, 100], step_duration: 60s, analysis: {interval: 2s}}")"
	ln -s ..v1 "$d/..data"
	ln -s ..data/config.yaml "$d/config.yaml"
	agent_start "$d/config.yaml"
	wait_phase ag progressing 5
	local started
	started=$(jget "$RO" '(d["step"], d["weight_percent"])')
	ln -s ..v2 "$d/..data_tmp" && mv -T "$d/..data_tmp" "$d/..data"
	for _ in $(seq 1 30); do grep -q 'reloaded (file changed)' "$WORK/agent.log" && break; sleep 0.1; done
	grep -q 'reloaded (file changed)' "$WORK/agent.log" || fail "no reload: $(tail -n 3 "$WORK/agent.log")"
	sleep 0.3
	conns "$LAB_NS_CL2" "$LAB_VIP4" 80 20
	[ "$(tracks_of "$CL_OUT")" = "0 20" ] || fail "override not applied: $CL_OUT"
	cb -j rollout status ag
	[ "$(jget "$CB_OUT" '(d["step"], d["weight_percent"])')" = "$started" ] &&
		[ "$(jget "$CB_OUT" 'd["phase"]')" = progressing ] || fail "rollout restarted: $CB_OUT"
	# SIGHUP: back to v1 by hand, reread on the signal.
	cp "$d/..v1/config.yaml" "$d/plain.yaml"
	kill -HUP "$AGENT_PID"
	for _ in $(seq 1 30); do grep -q 'reloaded (SIGHUP)' "$WORK/agent.log" && break; sleep 0.1; done
	grep -q 'reloaded (SIGHUP)' "$WORK/agent.log" || fail "SIGHUP ignored"
	echo "  figure: ConfigMap swap and SIGHUP reloaded; rollout stayed at step $started"
}

# Health checks: a stable backend that stops answering leaves; SIGTERM leaves forwarding.
test_agent_health_and_sigterm() {
	local cfg=$WORK/ag.yaml
	slowsrv "$LAB_NS_S1" 10.20.1.2 8083 0 s1
	slowsrv "$LAB_NS_S2" 10.20.2.2 8083 0 s2
	local victim
	victim=$(ip netns pids "$LAB_NS_S2" | while read -r p; do
		grep -q 8083 "/proc/$p/cmdline" 2>/dev/null && echo "$p"; done | head -n 1)
	agent_yaml "$cfg" "$(svc_yaml ag 80 "10.20.1.2:8083, 10.20.2.2:8083" "" \
		"    health_check: {type: http, path: /, interval: 300ms, timeout: 200ms, unhealthy_after: 2, healthy_after: 1}")"
	agent_start "$cfg"
	[ -n "$victim" ] && kill "$victim" || fail "no slowsrv pid to stop"
	for _ in $(seq 1 30); do grep -q 'stable backend 10.20.2.2:8083 is unhealthy' "$WORK/agent.log" && break; sleep 0.1; done
	grep -q 'is unhealthy' "$WORK/agent.log" || fail "no unhealthy event: $(tail -n 3 "$WORK/agent.log")"
	sleep 0.3
	cb -j stats ag
	[ "$(jget "$CB_OUT" 'd[0]["tracks"]["stable"]["backends"]')" = '["10.20.1.2:8083"]' ] ||
		fail "unhealthy backend still serving: $CB_OUT"
	conns "$LAB_NS_CL" "$LAB_VIP4" 80 50
	[ "$(jget "$CL_OUT" '(d["errors"], d["backends"].get("s1"))')" = "0 50" ] || fail "after removal: $CL_OUT"
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID"
	local rc=$?
	[ "$rc" -eq 0 ] || fail "SIGTERM: exit $rc"
	grep -q 'forwarding stays' "$WORK/agent.log" || fail "no stop line"
	conns "$LAB_NS_CL" "$LAB_VIP4" 80 50
	[ "$(jget "$CL_OUT" 'd["errors"]')" = 0 ] || fail "forwarding stopped with the agent: $CL_OUT"
	echo "  figure: unhealthy stable backend removed; after SIGTERM 50 of 50 connections still served"
}

AGENT_TESTS=(test_agent_config_errors test_agent_validate_and_input_limits
	test_agent_one_owner_and_forced_changes test_agent_refusing_canary_rolls_back
	test_agent_5xx_canary_rolls_back test_agent_sigkill_resumes
	test_agent_promotion_hooks_and_verbs test_agent_reload_configmap_swap
	test_agent_health_and_sigterm test_agent_start_under_load_drops_nothing
	test_agent_healthy_canary_never_rolls_back test_agent_canary_turning_bad_at_a_gate
	test_agent_release_survives_churn_and_reboot test_agent_keepalive_clients_progress)

# Clients already sending when the agent starts: the new VIP is made once its
# backends' first probes are in, and served only once its tracks are filled
# (CB_SVC_F_PENDING until then), so no SYN meets a service without backends.
# (Before both, about 20 SYNs were dropped at 200/s.)
test_agent_start_under_load_drops_nothing() {
	local cfg=$WORK/ag.yaml out=$WORK/rate.json drops
	agent_yaml "$cfg" "$(svc_yaml ag 80 "$STABLE_NGINX" 10.20.5.2:8080 \
		"    health_check: {type: http, path: /, interval: 1s, timeout: 500ms}" \
		"    rollout: {steps: [50], step_duration: 10m, progress_deadline: 20m}")"
	bg_client "$LAB_NS_CL" "$out" rate --addr "$LAB_VIP4" --port 80 --rate 200 \
		--duration-ms 3000 --timeout-ms 1000
	local client=$BG_PID
	sleep 0.3
	agent_start "$cfg"
	wait "$client"
	cb -j stats ag
	drops=$(jget "$CB_OUT" 'd[0]["tracks"]["stable"]["drops"] + d[0]["tracks"]["canary"]["drops"]')
	echo "  figure: agent started under 200 conn/s: $drops SYNs dropped by the datapath;" \
		"client $(jget "$(cat "$out")" '(d["total"], d["errors"])') (total, errors before the VIP existed)"
	[ "$drops" = 0 ] || fail "$drops packets met the service without a backend: $CB_OUT"
}
