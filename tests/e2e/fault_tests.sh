# shellcheck shell=bash
# Fault injection (sourced by tests/e2e/run.sh): the agent killed at random
# points of rollouts, an attached interface deleted and made again, a backend
# namespace deleted under traffic, state the agent must refuse, a config file
# turned to garbage. Whatever a test breaks in the lab, `lab.sh repair` puts
# back when the test ends, passed or failed.
# shellcheck disable=SC2015 # "A && B || fail" is meant: all of them, or fail.
# shellcheck disable=SC2154,SC2034 # variables shared with the runner, both ways

lab_repair_on_exit() {
	on_exit "scripts/lab.sh repair $LAB >/dev/null"
}

# The datapath's count of flows that chose again because their backend went away.
reselects() {
	node curl -s --max-time 2 http://127.0.0.1:9435/metrics |
		sed -n 's/^canary_bpf_datapath_events_total{event="ct_reselect"} \([0-9]*\)$/\1/p'
}

# The node's interface IF runs an XDP program.
xdp_on() {
	ip -n "$LAB_NS_NODE" -d link show "$1" 2>/dev/null | grep -q 'prog/xdp'
}

# 20 rollouts, each with a SIGKILL at a random moment (seeded: FAULT_SEED
# replays a run) and a restart: every rollout resumes where it was and is
# promoted, and no client connection fails meanwhile.
test_fault_sigkill_20_rollouts() {
	local cfg=$WORK/ag.yaml out i port ms before after errors=0 total=0 points=""
	local seed=${FAULT_SEED:-$((RANDOM * 32768 + RANDOM))}
	RANDOM=$seed
	echo "  figure: seed $seed (FAULT_SEED=$seed replays these kill points)"
	for i in $(seq 1 20); do
		port=$((100 + i))
		out=$WORK/rate$i.json
		agent_yaml "$cfg" "$(svc_yaml "h$i" "$port" "$STABLE_NGINX" 10.20.5.2:8080 \
			"    rollout: {steps: [25, 60, 100], step_duration: 500ms, min_connections: 5," \
			"      analysis: {interval: 250ms, min_samples: 5}}")"
		agent_start "$cfg"
		bg_client "$LAB_NS_CL" "$out" rate --addr "$LAB_VIP4" --port "$port" --rate 100 \
			--duration-ms 4000 --timeout-ms 1000
		local rate=$BG_PID
		ms=$((RANDOM % 1800))
		sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
		kill -9 "$AGENT_PID"
		wait "$AGENT_PID" 2>/dev/null
		cb -j rollout status "h$i"
		before=$(jget "$CB_OUT" '(d["phase"], d["step"])')
		points+="${points:+ }$ms:${before// /@}"
		sleep 0.2
		cb -j rollout status "h$i"
		[ "$(jget "$CB_OUT" '(d["phase"], d["step"])')" = "$before" ] ||
			fail "rollout $i moved while the agent was down: $before -> $CB_OUT"
		agent_start "$cfg"
		cb -j rollout status "h$i"
		after=$(jget "$CB_OUT" '(d["phase"], d["step"])')
		# Resumed, not restarted: the step it was at, or a later one.
		[ "${after#* }" -ge "${before#* }" ] || fail "rollout $i went back: $before -> $after"
		wait_phase "h$i" promoted 15
		wait "$rate"
		errors=$((errors + $(jget "$(cat "$out")" 'd["errors"]')))
		total=$((total + $(jget "$(cat "$out")" 'd["total"]')))
		kill -9 "$AGENT_PID"
		wait "$AGENT_PID" 2>/dev/null
		cb service del "h$i"
	done
	echo "  figure: kill points (ms after start:phase@step): $points"
	echo "  figure: 20 rollouts killed and resumed, all promoted; clients $total connections, $errors errors"
	[ "$errors" -eq 0 ] || fail "$errors of $total connections failed"
}

# The agent hears a configured interface come back (rtnetlink link events)
# and attaches again at once, not at its next resync (10 s).
test_fault_interface_recreated() {
	local cfg=$WORK/ag.yaml t0 t1
	agent_yaml "$cfg" "$(svc_yaml ag 80 "$STABLE_NGINX" "")"
	agent_start "$cfg"
	lab_repair_on_exit
	conns "$LAB_NS_CL2" "$LAB_VIP4" 80 20
	[ "$(jget "$CL_OUT" 'd["ok"]')" = 20 ] || fail "before: $CL_OUT"
	ip -n "$LAB_NS_NODE" link del ncl2 || fail "cannot delete ncl2"
	for _ in $(seq 1 20); do grep -q "no interface named 'ncl2'" "$WORK/agent.log" && break; sleep 0.05; done
	scripts/lab.sh repair "$LAB" || fail "lab repair"
	t0=$(date +%s%3N)
	for _ in $(seq 1 100); do xdp_on ncl2 && break; sleep 0.02; done
	t1=$(date +%s%3N)
	xdp_on ncl2 || fail "ncl2 not attached again in 2 s: $(tail -n 3 "$WORK/agent.log")"
	[ "$(grep -cE 'attach +ncl2 \(xdp\)' "$WORK/agent.log")" -ge 2 ] || fail "no second attach logged: $(grep ncl2 "$WORK/agent.log")"
	echo "  figure: ncl2 deleted and re-created: XDP attached again at most $((t1 - t0)) ms after the link was back"
	conns "$LAB_NS_CL2" "$LAB_VIP4" 80 50
	[ "$(jget "$CL_OUT" '(d["ok"], d["errors"])')" = "50 0" ] || fail "after re-attach: $CL_OUT"
}

# A stable backend's namespace disappears under load: health checks take it
# out, its connections choose again, new connections never meet it again;
# once it is back it is healthy again and serves.
test_fault_backend_namespace_deleted() {
	local cfg=$WORK/ag.yaml ka=$WORK/ka.json t0 t1 pid
	agent_yaml "$cfg" "$(svc_yaml ag 80 "$STABLE_NGINX" "" \
		"    health_check: {type: tcp, interval: 300ms, timeout: 200ms, unhealthy_after: 2, healthy_after: 1}")"
	agent_start "$cfg"
	lab_repair_on_exit
	bg_client "$LAB_NS_CL2" "$ka" keepalive --addr "$LAB_VIP4" --port 80 -c 20 \
		--duration-ms 4000 --interval-ms 20 --timeout-ms 1000
	local keep=$BG_PID reselect0 reselect1
	sleep 1
	reselect0=$(reselects)
	# The link goes first, so that the backend's sockets vanish without a FIN or
	# RST reaching anyone (as when a node or pod dies); then what the lab started
	# there (the processes of that namespace, by PID), then the namespace.
	t0=$(date +%s%3N)
	ip -n "$LAB_NS_NODE" link del nb4 || fail "cannot delete nb4"
	for pid in $(ip netns pids "$LAB_NS_S4"); do
		[ "$(ip netns identify "$pid")" = "$LAB_NS_S4" ] && kill -KILL "$pid"
	done
	for _ in $(seq 1 50); do [ -z "$(ip netns pids "$LAB_NS_S4")" ] && break; sleep 0.1; done
	ip netns del "$LAB_NS_S4" || fail "cannot delete $LAB_NS_S4"
	for _ in $(seq 1 100); do
		grep -q 'stable backend 10.20.4.2:8080 is unhealthy' "$WORK/agent.log" && break
		sleep 0.05
	done
	t1=$(date +%s%3N)
	grep -q 'is unhealthy' "$WORK/agent.log" || fail "no unhealthy event: $(tail -n 3 "$WORK/agent.log")"
	sleep 0.2
	cb -j stats ag
	[[ $(jget "$CB_OUT" 'd[0]["tracks"]["stable"]["backends"]') != *10.20.4.2* ]] ||
		fail "dead backend still serving: $CB_OUT"
	conns "$LAB_NS_CL" "$LAB_VIP4" 80 200
	[ "$(jget "$CL_OUT" '(d["ok"], d["errors"], d["backends"].get("s4", 0))')" = "200 0 0" ] ||
		fail "after removal: $CL_OUT"
	wait "$keep"
	reselect1=$(reselects)
	echo "  figure: backend namespace deleted: out of the set $((t1 - t0)) ms later;" \
		"keep-alive $(jget "$(cat "$ka")" '(d["requests"], d["errors"])') (requests errors);" \
		"$((reselect1 - reselect0)) flows re-selected; then 200 of 200 new connections served"
	[ "$reselect1" -gt "$reselect0" ] || fail "no flow of the dead backend re-selected"
	scripts/lab.sh repair "$LAB" || fail "lab repair"
	# The second "healthy" of that backend: the first was at the agent's start.
	for _ in $(seq 1 100); do
		[ "$(grep -c 'stable backend 10.20.4.2:8080 is healthy' "$WORK/agent.log")" -ge 2 ] && break
		sleep 0.1
	done
	[ "$(grep -c 'stable backend 10.20.4.2:8080 is healthy' "$WORK/agent.log")" -ge 2 ] ||
		fail "not healthy again in 10 s: $(grep 10.20.4.2 "$WORK/agent.log" | tail -n 3)"
	sleep 0.2
	conns "$LAB_NS_CL" "$LAB_VIP4" 80 200
	[ "$(jget "$CL_OUT" '(d["ok"], d["errors"])')" = "200 0" ] &&
		[ "$(jget "$CL_OUT" 'd["backends"].get("s4", 0) > 0')" = True ] ||
		fail "back, but not serving: $CL_OUT"
}

# What the agent must refuse before touching anything: no bpffs at the pin
# path, pinned state of another layout; and a config file turned to garbage
# while it runs leaves it on the old one.
test_fault_agent_refuses_bad_state() {
	local cfg=$WORK/ag.yaml out rc meta before
	agent_yaml "$cfg" "$(svc_yaml ag 80 "$STABLE_NGINX" "")"
	mkdir -p "/tmp/cbt$$-not-bpffs"
	on_exit "rm -rf /tmp/cbt$$-not-bpffs"
	out=$(node "$CB" -p "/tmp/cbt$$-not-bpffs" agent --config "$cfg" --metrics-addr off 2>&1); rc=$?
	[ "$rc" -eq 1 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && [[ $out == *"not on a bpf filesystem"* ]] ||
		fail "no bpffs: exit $rc: $out"
	[ -z "$(ls -A "/tmp/cbt$$-not-bpffs")" ] || fail "agent wrote into a plain directory"
	must service add web --vip "$LAB_VIP4" --port 80
	meta=$(meta_value "$PIN") || fail "cannot read cb_meta"
	on_exit "bpftool map update pinned $PIN/maps/cb_meta key 0 0 0 0 value $meta"
	# shellcheck disable=SC2046 # the bytes, one word each
	bpftool map update pinned "$PIN/maps/cb_meta" key 0 0 0 0 value $(meta_with_layout "$PIN" 99) ||
		fail "bpftool cannot set the layout"
	out=$(node "$CB" -p "$PIN" agent --config "$cfg" --metrics-addr off 2>&1); rc=$?
	[ "$rc" -eq 1 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && [[ $out == *"layout version 99"* ]] ||
		fail "other layout: exit $rc: $out"
	# shellcheck disable=SC2086 # the bytes, one word each
	bpftool map update pinned "$PIN/maps/cb_meta" key 0 0 0 0 value $meta
	cb service list
	[[ $CB_OUT == *web* ]] && [[ $CB_OUT != *" ag "* ]] || fail "state changed: $CB_OUT"
	must service del web
	echo "  figure: agent refused a plain directory and layout 99 with one line, exit 1, nothing changed"
	# Garbage over the running config: logged, the old configuration stays and serves.
	agent_start "$cfg"
	cb -j stats ag
	before=$(jget "$CB_OUT" 'sorted(d[0]["tracks"]["stable"]["backends"])')
	printf 'services:\x00\x01\xff\xfe [ {name: \x7f\n\t- : :\n' >"$cfg.tmp" && mv "$cfg.tmp" "$cfg"
	for _ in $(seq 1 30); do grep -q 'keeping the running' "$WORK/agent.log" && break; sleep 0.1; done
	grep -q 'keeping the running configuration' "$WORK/agent.log" ||
		fail "garbage not reported: $(tail -n 2 "$WORK/agent.log")"
	kill -0 "$AGENT_PID" || fail "agent died on garbage"
	cb -j stats ag
	[ "$(jget "$CB_OUT" 'sorted(d[0]["tracks"]["stable"]["backends"])')" = "$before" ] ||
		fail "state changed: $CB_OUT"
	conns "$LAB_NS_CL" "$LAB_VIP4" 80 50
	[ "$(jget "$CL_OUT" '(d["ok"], d["errors"])')" = "50 0" ] || fail "after garbage: $CL_OUT"
	echo "  figure: garbage config logged ($(grep -c 'keeping the running' "$WORK/agent.log") reload error), old configuration kept, 50 of 50 served"
}

FAULT_TESTS=(test_fault_agent_refuses_bad_state test_fault_interface_recreated
	test_fault_backend_namespace_deleted test_fault_sigkill_20_rollouts)
