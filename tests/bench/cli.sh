#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# tests/bench/cli.sh BIN OUTFILE [--smoke]
#
# Wall time of the CLI per verb, the whole exec (process start, dynamic
# linking, opening the pinned state, the work, exit), as an operator or a
# script pays it. Each verb runs N times (50; --smoke: 3) on its own
# service; every invocation is timed by itself with CLOCK_MONOTONIC around
# spawn and wait, so loop and shell overhead are not in the figures.
#
# No interface is attached: the verbs work on the pinned maps alone. The
# state lives under its own pin path, removed on exit whatever happens.
# Writes {"kind":"cli","runs":N,"verbs":{VERB:{"median_ms":..,"p99_ms":..}},
# "first_command_ms":.., "exec_floor_ms":..}: the first command creates the
# state (loads and verifies the programs); the floor is `--help`, no BPF.
set -euo pipefail

usage() {
	echo "usage: tests/bench/cli.sh BIN OUTFILE [--smoke]" >&2
	exit 2
}

[ $# -ge 2 ] && [ $# -le 3 ] || usage
BIN=$1
OUT=$2
RUNS=50
if [ $# -eq 3 ]; then
	[ "$3" = --smoke ] || usage
	RUNS=3
fi
[ -x "$BIN" ] || { echo "cli.sh: $BIN: not an executable" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "cli.sh: run as root (BPF objects)" >&2; exit 1; }
mount | grep -q ' /sys/fs/bpf type bpf ' || { echo "cli.sh: no bpffs at /sys/fs/bpf" >&2; exit 1; }

PIN=/sys/fs/bpf/cbx-bench-cli-$$
cleanup() {
	rm -rf "$PIN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# python3 (a test dependency already): a monotonic clock in ns and spawn/wait
# without a shell in between.
python3 - "$BIN" "$PIN" "$OUT" "$RUNS" <<'EOF'
import json
import math
import os
import sys
import time

binary, pin, out, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
devnull = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]


def run(args):
    """Milliseconds one invocation took; stops the benchmark if it failed."""
    argv = [binary, "-p", pin] + args
    t0 = time.monotonic_ns()
    pid = os.posix_spawn(binary, argv, os.environ, file_actions=devnull)
    _, status = os.waitpid(pid, 0)
    t1 = time.monotonic_ns()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit("cli.sh: '%s' exited %d" % (" ".join(argv), code))
    return (t1 - t0) / 1e6


def quantile(v, q):
    """Nearest rank; the median of an even count is the mean of the middle two."""
    v = sorted(v)
    if q == 0.5 and len(v) % 2 == 0:
        return (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2
    return v[max(0, math.ceil(q * len(v)) - 1)]


# The first command creates the state (loads, verifies and pins the programs):
# timed apart, it is not what a verb costs afterwards.
first = run(["service", "add", "warm", "--vip", "10.95.0.1", "--port", "80"])
run(["service", "del", "warm"])
# The floor every verb pays: start, link and exit, no BPF (a help page).
floor = [run(["--help"]) for _ in range(runs)]

verbs = ["service add", "backend add", "weight set", "weight get", "override add",
         "stats -j", "rollout status -j", "service del"]
times = {v: [] for v in verbs}
for i in range(runs):
    name = "b%d" % i
    vip = "10.96.%d.%d" % (i // 200, 1 + i % 200)
    steps = [
        ("service add", ["service", "add", name, "--vip", vip, "--port", "80"]),
        ("backend add", ["backend", "add", name, "stable", "10.20.1.2:8080"]),
        ("weight set", ["weight", "set", name, "10"]),
        ("weight get", ["weight", "get", name]),
        ("override add", ["override", "add", name, "10.10.2.0/24", "canary"]),
        ("stats -j", ["-j", "stats"]),
        ("rollout status -j", ["-j", "rollout", "status"]),
        ("service del", ["service", "del", name]),
    ]
    # -j is a global option: it goes before the verb (`-p PIN -j stats`).
    for verb, args in steps:
        times[verb].append(run(args))

result = {"kind": "cli", "runs": runs, "first_command_ms": round(first, 3),
          "exec_floor_ms": round(quantile(floor, 0.5), 3), "verbs": {}}
print("%-18s %10s %10s   (%d runs each; p99 is the nearest rank)" % ("verb", "median ms", "p99 ms",
                                                                    runs))
print("%-18s %10.2f %10s" % ("(first command)", first, "-"))
print("%-18s %10.2f %10.2f" % ("(exec floor)", quantile(floor, 0.5), quantile(floor, 0.99)))
for verb in verbs:
    med, p99 = quantile(times[verb], 0.5), quantile(times[verb], 0.99)
    result["verbs"][verb] = {"median_ms": round(med, 3), "p99_ms": round(p99, 3)}
    print("%-18s %10.2f %10.2f" % (verb, med, p99))
with open(out, "w") as f:
    json.dump(result, f)
    f.write("\n")
EOF
