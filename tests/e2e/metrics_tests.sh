# shellcheck shell=bash
# End-to-end tests of the agent's metrics (sourced by tests/e2e/run.sh): the
# real agent in the lab's node namespace, real traffic, Debian's promtool and
# a real Prometheus server started here on the node's loopback.
# shellcheck disable=SC2015 # "A && B || fail" is meant: all of them, or fail.
# shellcheck disable=SC2154,SC2034 # variables shared with the runner, both ways

# fetch PATH: GET http://127.0.0.1:9435PATH inside the node; sets HTTP_CODE and HTTP_BODY.
fetch() {
	HTTP_BODY=$(node curl -sS -m 5 -o - -w '\n%{http_code}' "http://127.0.0.1:9435$1") ||
		fail "GET $1: curl failed"
	HTTP_CODE=${HTTP_BODY##*$'\n'}
	HTTP_BODY=${HTTP_BODY%$'\n'*}
}

# promql EXPR: the scalar value of an instant query to the test's Prometheus ("" if none).
promql() {
	local out
	out=$(node curl -sS -m 5 --data-urlencode "query=$1" "http://127.0.0.1:$PROM_PORT/api/v1/query") ||
		fail "Prometheus query failed: $1"
	jget "$out" 'd["data"]["result"][0]["value"][1] if d["data"]["result"] else ""'
}

# prometheus_start RULES: Debian's Prometheus in the node, scraping the agent
# every second with RULES loaded; data in $WORK, killed by its PID at the end.
PROM_PORT=19090
prometheus_start() {
	cat >"$WORK/prometheus.yml" <<-EOF
	global: {scrape_interval: 1s, evaluation_interval: 1s}
	rule_files: [$1]
	scrape_configs:
	  - job_name: canary-bpf
	    static_configs: [{targets: ["127.0.0.1:9435"]}]
	EOF
	nsenter --net="/run/netns/$LAB_NS_NODE" -- prometheus --config.file="$WORK/prometheus.yml" \
		--storage.tsdb.path="$WORK/prometheus" --web.listen-address="127.0.0.1:$PROM_PORT" \
		--log.level=warn >"$WORK/prometheus.log" 2>&1 &
	local pid=$!
	on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
	for _ in $(seq 1 100); do
		[ "$(promql 'up{job="canary-bpf"}' 2>/dev/null)" = 1 ] && return 0
		kill -0 "$pid" 2>/dev/null || fail "prometheus exited: $(tail -n 3 "$WORK/prometheus.log")"
		sleep 0.2
	done
	fail "Prometheus never scraped the agent: $(tail -n 3 "$WORK/prometheus.log")"
}

# The alert rules of deploy/prometheusrule.yaml as a plain rules file, evaluated every second.
rules_from_deploy() {
	python3 - deploy/prometheusrule.yaml "$1" <<-'EOF'
	import sys, yaml
	doc = next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "PrometheusRule")
	for g in doc["spec"]["groups"]:
	    g.pop("interval", None)
	yaml.safe_dump(doc["spec"], open(sys.argv[2], "w"))
	EOF
}

# The lab's canary answers 10 % of requests with 500, stable never: /metrics,
# the textfile, promtool, and Prometheus's own answer for the canary 5xx ratio.
test_metrics_prometheus_sees_the_lab() {
	local cfg=$WORK/ag.yaml tf=$WORK/textfile out=$WORK/rate.json expect got total c5 c_all alerts
	slowsrv "$LAB_NS_S1" 10.20.1.2 8084 0 s1
	slowsrv "$LAB_NS_S2" 10.20.2.2 8084 0 s2
	slowsrv "$LAB_NS_C1" 10.20.5.2 8084 0 c1 200 --fail-every 10
	mkdir -p "$tf"
	# One step at 50 % that lasts, and limits the canary cannot reach: it stays put.
	agent_yaml "$cfg" "$(svc_yaml mx 80 "10.20.1.2:8084, 10.20.2.2:8084" 10.20.5.2:8084 \
		"    rollout: {steps: [50], step_duration: 10m, progress_deadline: 20m, auto_promote: false," \
		"      analysis: {interval: 1s, max_error_ratio: 0.9, failure_limit: 100}}")"
	AGENT_ARGS=(--textfile-dir "$tf" --textfile-interval 1s)
	agent_start "$cfg"
	fetch /healthz
	[ "$HTTP_CODE" = 200 ] || fail "/healthz: $HTTP_CODE $HTTP_BODY"
	fetch /readyz
	[ "$HTTP_CODE" = 200 ] && [[ $HTTP_BODY == ready* ]] || fail "/readyz: $HTTP_CODE $HTTP_BODY"
	rules_from_deploy "$WORK/rules.yml"
	prometheus_start "$WORK/rules.yml"

	client "$LAB_NS_CL" rate --addr "$LAB_VIP4" --port 80 --rate 300 --duration-ms 5000 --timeout-ms 1000
	total=$(jget "$CL_OUT" 'd["total"]')
	c5=$(jget "$CL_OUT" 'd["statuses"].get("500", 0)')
	c_all=$(jget "$CL_OUT" 'd["backends"].get("c1", 0)')
	[ "$(jget "$CL_OUT" 'd["errors"]')" = 0 ] && [ "$c5" -gt 0 ] || fail "lab traffic: $CL_OUT"
	expect=$(python3 -c "print($c5 / $c_all)")

	# Wait for a scrape that has every response the client saw.
	for _ in $(seq 1 50); do
		got=$(promql 'sum(canary_bpf_http_responses_total{service="mx"})')
		[ "$got" = "$total" ] && break
		sleep 0.2
	done
	[ "$got" = "$total" ] || fail "Prometheus has $got responses, the client saw $total"
	got=$(promql 'sum(canary_bpf_http_responses_total{service="mx",track="canary",class="5xx"}) / sum(canary_bpf_http_responses_total{service="mx",track="canary"})')
	echo "  figure: canary 5xx ratio: lab $c5/$c_all = $expect, Prometheus query $got"
	python3 -c "import sys; sys.exit(0 if abs($got - $expect) < 1e-9 else 1)" ||
		fail "Prometheus says $got, the lab produced $expect"
	got=$(promql 'sum(canary_bpf_http_responses_total{service="mx",track="stable",class="5xx"})')
	[ "$got" = 0 ] || fail "stable 5xx: $got"

	# The alert of deploy/ on the lab's data: pending (its "for" keeps it from firing yet) or firing.
	for _ in $(seq 1 30); do
		alerts=$(node curl -sS -m 5 "http://127.0.0.1:$PROM_PORT/api/v1/alerts")
		[ -n "$(jget "$alerts" '[a["labels"]["alertname"] for a in d["data"]["alerts"] if a["labels"].get("service") == "mx"]' | tr -d '[]')" ] && break
		sleep 0.5
	done
	echo "  figure: alerts on the lab's data: $(jget "$alerts" 'sorted((a["labels"]["alertname"], a["state"]) for a in d["data"]["alerts"])')"
	[[ $(jget "$alerts" '[a["labels"]["alertname"] for a in d["data"]["alerts"] if a["labels"].get("service") == "mx"]') == *CanaryBpfCanaryErrorRatioHigh* ]] ||
		fail "no 5xx alert for mx: $alerts"

	# Exposition checked by promtool: live, and the textfile, which is rewritten every second.
	fetch /metrics
	[ "$HTTP_CODE" = 200 ] || fail "/metrics: $HTTP_CODE"
	printf '%s\n' "$HTTP_BODY" >"$WORK/live.prom"
	promtool check metrics <"$WORK/live.prom" >"$WORK/promtool.out" 2>&1 ||
		fail "promtool on /metrics: $(head -n 5 "$WORK/promtool.out")"
	promtool check metrics <"$tf/canary_bpf.prom" >"$WORK/promtool.out" 2>&1 ||
		fail "promtool on the textfile: $(head -n 5 "$WORK/promtool.out")"
	local m1 m2
	m1=$(stat -c %Y.%y "$tf/canary_bpf.prom")
	sleep 1.5
	m2=$(stat -c %Y.%y "$tf/canary_bpf.prom")
	[ "$m1" != "$m2" ] || fail "textfile not rewritten in 1.5 s"
	[ "$(find "$tf" -mindepth 1 | wc -l)" = 1 ] || fail "textfile dir: $(ls -a "$tf")"
	grep -q '^canary_bpf_backend_up{service="mx",track="canary",backend="10.20.5.2:8084"} 1$' \
		"$WORK/live.prom" || fail "backend_up of the canary missing"
	# A second agent on the same port: one line saying so, exit 1, before any map is touched.
	local rc=0
	node "$CB" -p "$PIN" agent --config "$cfg" >"$WORK/second.out" 2>&1 || rc=$?
	[ "$rc" = 1 ] && grep -q 'listen on 127.0.0.1:9435: Address already in use' "$WORK/second.out" ||
		fail "second agent on a taken port: exit $rc: $(cat "$WORK/second.out")"
	echo "  figure: /metrics $(wc -l <"$WORK/live.prom") lines, $(grep -vc '^#' "$WORK/live.prom") samples; promtool check metrics: clean on /metrics and the textfile"
}

# The agent with only the capabilities deploy/daemonset.yaml gives it.
test_metrics_agent_with_daemonset_capabilities() {
	local cfg=$WORK/ag.yaml caps=bpf,net_admin,perfmon
	agent_yaml "$cfg" "$(svc_yaml mx 80 "$STABLE_NGINX" "")"
	AGENT_WRAP=(setpriv --bounding-set "-all,+${caps//,/,+}" --)
	agent_start "$cfg"
	local have
	have=$(awk '/^CapEff/ { print $2 }' "/proc/$AGENT_PID/status")
	[ "$have" = 000000c000001000 ] || fail "agent capabilities $have, expected exactly $caps"
	conns "$LAB_NS_CL" "$LAB_VIP4" 80 50
	[ "$(jget "$CL_OUT" 'd["errors"]')" = 0 ] || fail "through the agent's datapath: $CL_OUT"
	fetch /readyz
	[ "$HTTP_CODE" = 200 ] || fail "/readyz: $HTTP_CODE $HTTP_BODY"
	echo "  figure: agent with CapEff=$have ($caps): ready, 50 of 50 connections served"
}

# --metrics-addr off: no listener at all, and the agent works as before.
test_metrics_off() {
	local cfg=$WORK/ag.yaml rc=0
	agent_yaml "$cfg" "$(svc_yaml mx 80 "$STABLE_NGINX" "")"
	AGENT_ARGS=(--metrics-addr off)
	agent_start "$cfg"
	node curl -sS -m 2 -o /dev/null http://127.0.0.1:9435/healthz 2>/dev/null || rc=$?
	[ "$rc" = 7 ] || fail "with --metrics-addr off, 127.0.0.1:9435 answered (curl exit $rc)"
	! grep -q ' metrics ' "$WORK/agent.log" || fail "metrics line logged: $(grep ' metrics ' "$WORK/agent.log")"
	conns "$LAB_NS_CL" "$LAB_VIP4" 80 20
	[ "$(jget "$CL_OUT" 'd["errors"]')" = 0 ] || fail "forwarding: $CL_OUT"
}

# 80 slow clients on the metrics port (a header line every 2 s, reconnecting
# when cut) cannot keep /healthz from its liveness probe: 12 of 12 within 1 s.
test_metrics_healthz_under_slow_clients() {
	local cfg=$WORK/ag.yaml slow ok=0 t0 t1
	agent_yaml "$cfg" "$(svc_yaml mx 80 "$STABLE_NGINX" "")"
	agent_start "$cfg"
	nsenter --net="/run/netns/$LAB_NS_NODE" -- python3 - 9435 80 16 >"$WORK/slow.log" 2>&1 <<-'EOF' &
	import socket, sys, time
	port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
	end, socks, opened = time.time() + secs, {}, 0
	def dial():
	    global opened
	    s = socket.create_connection(("127.0.0.1", port), timeout=2)
	    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
	    opened += 1
	    return s
	for i in range(n):
	    socks[i] = dial()
	while time.time() < end:
	    time.sleep(2)
	    for i in list(socks):
	        try:
	            socks[i].sendall(b"X-Slow: 1\r\n")
	        except OSError:
	            socks[i].close()
	            socks[i] = dial()
	print(opened)
	EOF
	slow=$!
	on_exit "kill $slow 2>/dev/null; wait $slow 2>/dev/null"
	sleep 1
	for _ in $(seq 1 12); do
		t0=$(date +%s%N)
		node curl -sS -m 1 -o /dev/null http://127.0.0.1:9435/healthz && ok=$((ok + 1))
		t1=$(date +%s%N)
		[ $(((t1 - t0) / 1000000)) -lt 1000 ] || fail "/healthz took $(((t1 - t0) / 1000000)) ms"
		sleep 1
	done
	wait "$slow"
	[ "$ok" -eq 12 ] || fail "/healthz answered $ok of 12 within 1 s"
	kill -0 "$AGENT_PID" || fail "the agent died"
	echo "  figure: /healthz 12 of 12 within 1 s beside 80 slow clients ($(cat "$WORK/slow.log") connections opened, cut at their 5 s deadline)"
}

METRICS_TESTS=(test_metrics_prometheus_sees_the_lab test_metrics_agent_with_daemonset_capabilities
	test_metrics_off test_metrics_healthz_under_slow_clients)
