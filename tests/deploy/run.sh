#!/usr/bin/env bash
# Offline checks of deploy/: the manifests' schema, the alert rules (promtool
# check and unit tests) and the dashboard's PromQL, the metric names they use,
# the Containerfile against the built binary's libraries, the kustomize
# rendering, and the agent flags the manifests pass against the binary's help.
# Needs no cluster, no network and no root. Closes with
# "deploy: N passed, N failed"; exit status 1 if anything failed.
#
#   tests/deploy/run.sh        CANARY_BPF_BIN=... picks another binary (default build/canary-bpf)
set -u
# The checkers are imported as modules: no bytecode caches in the source tree.
export PYTHONDONTWRITEBYTECODE=1

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/deploy
DEPLOY=$ROOT/deploy
BIN=${CANARY_BPF_BIN:-$ROOT/build/canary-bpf}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
skip() { echo "SKIP $1: $2"; }

# Run a checker that prints PASS/FAIL/SKIP lines; count them. A checker that
# dies (a traceback) without reporting a failure counts as one.
tally() {
	local what=$1 out=$TMP/tally rc
	shift
	"$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	local p f
	p=$(grep -c '^PASS ' "$out")
	f=$(grep -c '^FAIL ' "$out")
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		fail "$what" "exited with status $rc"
	fi
}

# promtool check rules FILE as one check; its output is shown on failure.
promtool_rules() {
	local what=$1 file=$2 out
	if [ ! -s "$file" ]; then
		fail "$what" "no rules file was produced"
	elif out=$(promtool check rules "$file" 2>&1); then
		pass "$what ($(grep -o '[0-9]* rules found' <<<"$out"))"
	else
		fail "$what" "$(tr '\n' ' ' <<<"$out")"
	fi
}

# Debian's python3 carries python3-yaml; another python3 first in PATH may not.
PY=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import yaml' 2>/dev/null; then
		PY=$p
		break
	fi
done
if [ -n "$PY" ]; then
	pass "python3 with the yaml module"
else
	fail "python3 with the yaml module" "missing (apt-get install python3-yaml)"
fi
if command -v promtool >/dev/null; then
	pass "promtool present"
else
	fail "promtool present" "missing (apt-get install prometheus)"
fi

# 1. Manifests: every document parses; the properties the agent depends on.
if [ -n "$PY" ]; then
	tally "check_manifests.py" "$PY" "$HERE/check_manifests.py" "$DEPLOY"
fi

# 2. Alert rules: the PrometheusRule's spec is a valid rules file, and its
#    alerts fire when they should and only then (promtool unit tests).
if [ -n "$PY" ]; then
	tally "rules extraction" "$PY" "$HERE/check_monitoring.py" rules "$DEPLOY" \
		"$TMP/alerts.yaml" "$TMP/alerts-logic.yaml"
	if command -v promtool >/dev/null; then
		promtool_rules "promtool check rules (alerts)" "$TMP/alerts.yaml"
		cp "$HERE/alerts_test.yaml" "$TMP/"
		if out=$(cd "$TMP" && promtool test rules alerts_test.yaml 2>&1); then
			pass "promtool test rules tests/deploy/alerts_test.yaml"
		else
			fail "promtool test rules tests/deploy/alerts_test.yaml" "$(tr '\n' ' ' <<<"$out" | tr -s ' ')"
		fi
	fi
fi

# 3. Dashboard: JSON, variables, every panel on agent metrics, and every query
#    (variables substituted) valid PromQL as a recording rule.
if [ -n "$PY" ]; then
	tally "dashboard check" "$PY" "$HERE/check_monitoring.py" dashboard "$DEPLOY" "$TMP/dashboard.yaml"
	command -v promtool >/dev/null && promtool_rules "promtool check rules (dashboard queries)" "$TMP/dashboard.yaml"
fi

# 4. Alerts and dashboard use only metrics, labels and label values the agent exports.
if [ -n "$PY" ]; then
	tally "metric names" "$PY" "$HERE/check_monitoring.py" names "$DEPLOY"
fi

# 5. Containerfile: Debian multi-stage; the runtime stage installs exactly the
#    packages of the libraries the built binary loads.
if [ -n "$PY" ]; then
	tally "check_containerfile.py" "$PY" "$HERE/check_containerfile.py" \
		"$DEPLOY/Containerfile" "$ROOT/scripts/install-deps.sh" "$BIN"
fi

# 6. Kustomize: the default build, and the one with the monitoring resources
#    and the textfile component uncommented as deploy/kustomization.yaml says.
if ! command -v kubectl >/dev/null; then
	skip "kubectl kustomize deploy/" "kubectl not installed"
elif [ -n "$PY" ]; then
	if kubectl kustomize "$DEPLOY" >"$TMP/default.yaml" 2>"$TMP/err"; then
		pass "kubectl kustomize deploy/"
		tally "rendered (default)" "$PY" "$HERE/check_manifests.py" --rendered "$TMP/default.yaml"
	else
		fail "kubectl kustomize deploy/" "$(tr '\n' ' ' <"$TMP/err")"
	fi
	cp -r "$DEPLOY" "$TMP/full"
	sed -i -e 's/^# components:/components:/' -e 's/^#   - textfile/  - textfile/' \
		-e 's/^  # - \(podmonitor\|prometheusrule\)\.yaml/  - \1.yaml/' "$TMP/full/kustomization.yaml"
	if kubectl kustomize "$TMP/full" >"$TMP/full.yaml" 2>"$TMP/err"; then
		pass "kubectl kustomize deploy/ with its commented options enabled"
		tally "rendered (full)" "$PY" "$HERE/check_manifests.py" --rendered "$TMP/full.yaml" --full
	else
		fail "kubectl kustomize deploy/ with its commented options enabled" "$(tr '\n' ' ' <"$TMP/err")"
	fi
fi

# 7. The flags the DaemonSet and the textfile component pass are the binary's.
if [ ! -x "$BIN" ]; then
	skip "flags known to the binary" "$BIN not built"
else
	help=$("$BIN" --help 2>&1; "$BIN" agent --help 2>&1)
	for f in $(grep -ho -e '--[a-z][a-z-]*=' "$DEPLOY/daemonset.yaml" "$DEPLOY/textfile/kustomization.yaml" |
		sort -u | tr -d =); do
		if grep -qE -e "$f([^a-z-]|\$)" <<<"$help"; then
			pass "flag $f is in canary-bpf's help"
		else
			fail "flag $f is in canary-bpf's help" "unknown to $BIN"
		fi
	done
fi

echo "deploy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
