#!/usr/bin/env bash
# Run every test binary given, keep going after a failure, print one summary.
# The tests load BPF programs, so they need root and a bpffs.
set -u

if [ "$(id -u)" -ne 0 ]; then
	echo "run-tests: the tests load BPF programs: run as root (sudo make check)" >&2
	exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || {
	echo "run-tests: cannot mount bpffs on /sys/fs/bpf" >&2
	exit 1
}

suites_ok=0
suites_failed=()
for t in "$@"; do
	echo "=== $(basename "$t")"
	if "$t"; then
		suites_ok=$((suites_ok + 1))
	else
		suites_failed+=("$(basename "$t")")
	fi
done
echo
echo "test suites: ${suites_ok} passed, ${#suites_failed[@]} failed ${suites_failed[*]:-}"
[ ${#suites_failed[@]} -eq 0 ]
