# shellcheck shell=bash
# tests/bench/fwd.sh: common helpers (failing, logging, bounded steps, commands
# in the node's and the backend's namespaces). Sourced; defines functions
# only. They use the driver's globals: WORK, T_START, BIN, CBPIN, NS_NODE,
# NS_BE, BG_PID.
# shellcheck disable=SC2154 # globals of fwd.sh

die() {
	echo "fwd: $*" >&2
	if [ -n "${FWD_DEBUG:-}" ] && [ -e "/run/netns/${NS_NODE:-none}" ]; then
		# What the node looked like: counters of every rule, its links.
		timeout 20 nsenter --net="/run/netns/$NS_NODE" -- nft list ruleset >&2
		timeout 20 nsenter --net="/run/netns/$NS_NODE" -- ip -s -d link show >&2
	fi
	exit 1
}

# run CMD...: run a setup step, bounded; on failure die naming it.
run() {
	# The functions below (innode, inbe, cb) bound themselves.
	if [ "$(type -t "$1")" = function ]; then "$@"; else timeout 60 "$@"; fi >"$WORK/run.out" 2>&1 ||
		die "failed: $* -> $(tail -n 2 "$WORK/run.out" | tr '\n' ' ')"
}
# In the node's namespace, in our mount namespace (the bpffs stays visible).
innode() { timeout 60 nsenter --net="/run/netns/$NS_NODE" -- "$@"; }
inbe() { timeout 60 nsenter --net="/run/netns/$NS_BE" -- "$@"; }
cb() { timeout 60 nsenter --net="/run/netns/$NS_NODE" -- "$BIN" -p "$CBPIN" "$@"; }
cbrun() {
	cb "$@" >"$WORK/cb.out" 2>&1 || die "canary-bpf $* -> exit $?${WORK:+: $(tail -n 1 "$WORK/cb.out")}"
}
# bgrun CMD...: a long step (seconds to minutes) in the background, so that a
# signal reaches the trap at once rather than after the step. Its standard
# input is /dev/null (an asynchronous command's): pass files as arguments.
bgrun() {
	local rc
	"$@" &
	BG_PID=$!
	wait "$BG_PID"
	rc=$?
	BG_PID=""
	return $rc
}
log() { printf '[%4ds] %s\n' $(($(date +%s) - T_START)) "$*" >&2; }
