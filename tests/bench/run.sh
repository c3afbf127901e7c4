#!/usr/bin/env bash
# make bench: every benchmark of canary-bpf in one run, on this machine, each
# figure next to its baseline or peer measured in the same run, as ratios.
#
#   tests/bench/run.sh [--smoke] [OUTDIR]      (default OUTDIR: build/bench)
#
# Parts (each writes one JSON file into OUTDIR):
#   prog.json     per-packet cost under BPF_PROG_TEST_RUN vs a minimal parse-and-pass program
#   control.json  weight change -> next new connection; Maglev rebuild of 1,000 backends
#   cli.json      wall time of each CLI verb
#   fwd.json      forwarding throughput and CPU per packet: routing, iptables, nftables,
#                 canary-bpf XDP and tc, 1 to 10,000 services (trafgen in namespaces)
#   agent.json    agent CPU and RSS with 1,000 services; total canary failure -> weight 0
# then results.json (all of them, with the machine and date), results.md (the tables and
# the targets) and pps_vs_services.svg (gnuplot). --smoke runs each part for about a
# second, to keep them working (make check runs it); its figures mean nothing.
set -u

cd "$(dirname "$0")/../.." || exit 1
SMOKE=""
if [ "${1:-}" = --smoke ]; then
	SMOKE=--smoke
	shift
fi
OUT=${1:-build/bench}
BIN=build/canary-bpf
PROG=build/tests/bench_prog

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (BPF programs, network namespaces): sudo make bench" >&2
	exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || {
	echo "bench: cannot mount bpffs on /sys/fs/bpf" >&2
	exit 1
}
for f in "$BIN" "$PROG"; do
	[ -x "$f" ] || { echo "bench: $f missing (make bench-build)" >&2; exit 1; }
done
mkdir -p "$OUT" || exit 1
rm -f "$OUT"/*.json

failed=()
part() {   # part NAME CMD...: run one benchmark, keep going if it fails
	local name=$1 t0=$SECONDS
	shift
	echo "=== bench: $name"
	if "$@"; then
		echo "--- $name: $((SECONDS - t0)) s"
	else
		echo "--- $name: FAILED (exit $?)"
		failed+=("$name")
	fi
}

part prog "$PROG" prog --out "$OUT/prog.json" $SMOKE
part control "$PROG" control --out "$OUT/control.json" $SMOKE
part cli tests/bench/cli.sh "$BIN" "$OUT/cli.json" $SMOKE
part fwd tests/bench/fwd.sh "$BIN" "$OUT/fwd.json" $SMOKE
part agent tests/bench/agent.sh "$BIN" "$OUT/agent.json" $SMOKE
part decision tests/bench/decision.sh "$BIN" "$OUT/decision.json" $SMOKE
part report python3 tests/bench/report.py "$OUT" $SMOKE

echo
if [ ${#failed[@]} -gt 0 ]; then
	echo "bench: failed parts: ${failed[*]}"
	echo "bench: 0 passed, ${#failed[@]} failed"
	exit 1
fi
echo "bench: results in $OUT/results.md, $OUT/results.json, $OUT/pps_vs_services.svg"
[ -n "$SMOKE" ] && echo "bench: 6 passed, 0 failed"
exit 0
