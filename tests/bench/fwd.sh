#!/usr/bin/env bash
# Forwarding throughput and scaling of canary-bpf against plain routing and
# kube-proxy's iptables and nftables modes, on one network-namespace topology.
#
#   tests/bench/fwd.sh BIN OUTFILE [--smoke]
#
# BIN is build/canary-bpf (or $(BUILD)/canary-bpf); OUTFILE receives the JSON
# described in fwd_report.py; a table and the issue's targets, checked, go to
# stdout, progress to stderr. --smoke runs every case and
# traffic mix (the xdp_drop reference with the first mix only) for 0.15 s and
# scales to 100 services only (about 25 s): it proves the rig works, its
# figures mean little. The full run takes about 7 minutes, 3 of them spent
# installing 10,000 services with canary-bpf's CLI. Needs root, 2+ CPUs,
# trafgen (netsniff-ng), nft, iptables(-restore), bpftool, clang, cc, ethtool,
# jq, python3. Everything it makes (namespaces cbxb-fPID-{cl,node,be}, pins
# under /sys/fs/bpf/cbxb-fPID, /tmp/cbxb-fPID.*) is removed on exit, also on
# failure or a signal; the whole run is bounded by FWD_TIMEOUT.
#
# Environment: FWD_DUR (seconds measured per run; 3, smoke 0.15), FWD_WARM
# (seconds of traffic before the window opens; 0.5, smoke 0.1), FWD_SCALE
# (service counts for the scaling rows; "100 1000 10000", smoke "100"),
# FWD_IPTABLES (iptables or iptables-legacy; default iptables, which is
# iptables-nft on this system, like kube-proxy on a current distribution),
# FWD_LAYOUT (split or inline, see "CPUs" in fwd_topo.sh), FWD_TIMEOUT (whole
# run, s; 900), FWD_CASES and FWD_MIXES (subsets, space-separated, e.g.
# "cb_xdp nftables", "udp64/many"), FWD_PERF_DIR (perf record the node CPU
# during each window into DIR/CASE-N-MIX.data; profiled figures are not
# comparable), FWD_KEEP_CT (do not empty canary-bpf's connection tracking
# between runs), FWD_DEBUG (on failure, print the node's nftables rule set
# with counters and links).
#
# The parts, one job each (all in tests/bench/):
#   fwd.sh          this driver: options, the case loop, the report
#   fwd_lib.sh      helpers: die, log, bounded steps, namespace wrappers
#   fwd_topo.sh     namespaces, veths, CPU pinning, cleanup (the topology,
#                   the CPU layouts and what they measure are described there)
#   fwd_traffic.sh  the counting program, trafgen and its preload, traffic
#                   mixes, one measured run
#   fwd_rules.sh    the cases: kube-proxy's rule sets, canary-bpf's services
#   fwd_count.bpf.c, fwd_sndbuf.c, fwd_gidx.c  compiled at run time into the
#                   run's temporary directory
#   fwd_rules.py    kube-proxy's iptables and nftables rule sets for N services
#   fwd_fill.sh     one canary-bpf filler service (run in parallel)
#   fwd_ctflush.py, fwd_mapclear.py  empty conntrack and canary-bpf's tables
#   fwd_peek.py, fwd_report.py  a run's quick look; the JSON and the table
# shellcheck disable=SC2015 # "A && B || die" is meant: all of them, or die.
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/bench/fwd_lib.sh
. "$HERE/fwd_lib.sh"
# shellcheck source=tests/bench/fwd_topo.sh
. "$HERE/fwd_topo.sh"
# shellcheck source=tests/bench/fwd_traffic.sh
. "$HERE/fwd_traffic.sh"
# shellcheck source=tests/bench/fwd_rules.sh
. "$HERE/fwd_rules.sh"

[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: $0 BIN OUTFILE [--smoke]" >&2; exit 2; }
BIN=$1
OUT=$2
SMOKE=0
if [ $# -eq 3 ]; then
	[ "$3" = --smoke ] || { echo "usage: $0 BIN OUTFILE [--smoke]" >&2; exit 2; }
	SMOKE=1
fi

# Bound the whole run: re-exec under timeout, whose TERM runs the cleanup trap.
if [ -z "${FWD_UNDER_TIMEOUT:-}" ]; then
	FWD_UNDER_TIMEOUT=1 exec timeout -k 30 "${FWD_TIMEOUT:-900}" "$0" "$@"
fi

[ "$(id -u)" -eq 0 ] || die "needs root (namespaces, BPF)"
[ -x "$BIN" ] || die "$BIN is not an executable"
BIN=$(readlink -f "$BIN")
for t in trafgen nft iptables-restore bpftool clang cc ethtool jq python3 nsenter taskset; do
	command -v "$t" >/dev/null || die "$t is missing"
done
[ "$(nproc)" -ge 2 ] || die "needs at least 2 CPUs"
# The interpreter itself: a version manager's shim costs 0.1 s a call.
PY=$(python3 -c 'import sys; print(sys.executable)') && [ -x "$PY" ] || die "cannot locate python3"
[ -d /sys/fs/bpf ] && mountpoint -q /sys/fs/bpf || die "no bpffs at /sys/fs/bpf"

if [ "$SMOKE" = 1 ]; then
	DUR=${FWD_DUR:-0.15} WARM=${FWD_WARM:-0.1} SCALE=${FWD_SCALE:-100}
else
	DUR=${FWD_DUR:-3} WARM=${FWD_WARM:-0.5} SCALE=${FWD_SCALE:-100 1000 10000}
fi
LAYOUT=${FWD_LAYOUT:-split}
IPT=${FWD_IPTABLES:-iptables}
case $IPT in iptables | iptables-legacy) ;; *) die "FWD_IPTABLES must be iptables or iptables-legacy" ;; esac
case $LAYOUT in split | inline) ;; *) die "FWD_LAYOUT must be split or inline" ;; esac
command -v "$IPT-restore" >/dev/null || die "$IPT-restore is missing"
GEN_CPU=0 NODE_CPU=1
POOL=8192   # flows of tcp_ack/many

TAG=cbxb-f$$
NS_CL=$TAG-cl NS_NODE=$TAG-node NS_BE=$TAG-be
IF_IN=cbi$$ IF_OUT=cbo$$   # node side; the ends in cl and be are eth0
PIN=/sys/fs/bpf/$TAG
CBPIN=$PIN/cb
WORK=""
GEN_PID=""
BG_PID=""
T_START=$(date +%s)

for ns in "$NS_CL" "$NS_NODE" "$NS_BE"; do
	[ ! -e "/run/netns/$ns" ] || die "namespace $ns exists (a run with the same PID?)"
done
[ ! -e "$PIN" ] || die "$PIN exists"

# Everything is removed on exit: cleanup (fwd_topo.sh).
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

WORK=$(mktemp -d "/tmp/$TAG.XXXXXX") || die "mktemp failed"

# ---------------------------------------------------------------- set-up

VIP=10.96.0.10
MIXES=${FWD_MIXES:-udp64/many udp64/single tcp_syn/many tcp_ack/many tcp_ack/single}
SCALE_MIXES="udp64/many tcp_syn/many"
if [ "$LAYOUT" = split ]; then
	TG_OPTS="-P 1"
else
	TG_OPTS="-P $(nproc)"
fi
GENERATOR="trafgen $TG_OPTS --no-sock-mem (TX_RING, qdisc bypass) on the client's eth0, $LAYOUT layout"

traffic_build
topo_build
node_threads
NODE_TASKS=""   # the node's threads, measured in snap; set by pin_napi
IPT_VERSION=$(innode "$IPT" --version 2>&1 | head -n 1)

RULES_CUR=""   # "kind N proto" loaded now
declare -A LOAD_MS=()
CB_TARGET=""   # protocol of the measured canary-bpf service, if installed
CB_FILL=0   # fillers installed: f0..f(CB_FILL-1)
declare -A CB_FILL_S=()
CB_MODE=""

# ---------------------------------------------------------------- runs

: >"$WORK/raw"
CASES=${FWD_CASES:-xdp_drop plain cb_xdp cb_tc nftables iptables}
log "main matrix: $CASES x $MIXES, ${DUR}s each after ${WARM}s"
for cs in $CASES; do
	node_clean
	for mix in $MIXES; do
		# The smoke run needs the reference once: the mixes are exercised by the others.
		[ "$SMOKE$cs" != 1xdp_drop ] || [ "$mix" = "${MIXES%% *}" ] || continue
		proto=udp
		[ "${mix%%/*}" = udp64 ] || proto=tcp
		case_on "$cs" 1 "$proto"
		log "$cs 1 $mix"
		measure "$cs" 1 "$mix"
	done
	case_off "$cs"
done

for n in $SCALE; do
	[ "$n" -gt 1 ] 2>/dev/null || continue
	log "scaling: $n services"
	for cs in cb_xdp cb_tc nftables iptables; do
		[[ " $CASES " == *" $cs "* ]] || continue
		node_clean
		for mix in $SCALE_MIXES; do
			proto=udp
			[ "${mix%%/*}" = udp64 ] || proto=tcp
			case_on "$cs" "$n" "$proto"
			log "$cs $n $mix"
			measure "$cs" "$n" "$mix"
		done
		case_off "$cs"
	done
done

# ---------------------------------------------------------------- report

FILL_JSON=$(for k in "${!CB_FILL_S[@]}"; do echo "$k ${CB_FILL_S[$k]}"; done |
	jq -R -s 'split("\n") | map(select(length > 0) | split(" ")) | map({(.[0]): (.[1] | tonumber)}) | add // {}')
LOAD_JSON=$(for k in "${!LOAD_MS[@]}"; do echo "${k% *} ${k#* } ${LOAD_MS[$k]}"; done |
	jq -R -s 'split("\n") | map(select(length > 0) | split(" ")) | map({(.[0] + ":" + .[1]): (.[2] | tonumber / 1000)}) | add // {}')
"$PY" "$HERE/fwd_report.py" "$WORK/raw" "$OUT" "$DUR" "$WARM" "$LAYOUT" "$GENERATOR" "$IPT_VERSION" "$NODE_CPU" "$GEN_CPU" \
	"$FILL_JSON" "$(getconf CLK_TCK)" "$SMOKE" "$LOAD_JSON" "$(($(date +%s) - T_START))" || die "cannot write $OUT"
log "done: $OUT"
