#!/usr/bin/env bash
# Run every test suite given, keep going after a failure, and close with one
# line that sums them: "tests: N passed, N failed". A suite reports either as
# cmocka does ("[  PASSED  ] N test(s).") or with its own "WORD: N passed, N failed".
# Most suites load BPF programs, so they need root and a bpffs; --no-root
# (make unit) runs suites that need neither, as any user.
set -u

if [ "${1:-}" = --no-root ]; then
	shift
elif [ "$(id -u)" -ne 0 ]; then
	echo "run-tests: the tests load BPF programs: run as root (sudo make check)" >&2
	exit 1
else
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || {
		echo "run-tests: cannot mount bpffs on /sys/fs/bpf" >&2
		exit 1
	}
fi

passed=0
failed=0
broken=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for t in "$@"; do
	# A suite is a command: its path, then its arguments, split at spaces.
	read -ra cmd <<<"$t"
	echo "=== ${cmd[0]}"
	"${cmd[@]}" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	if [ -z "$p$f" ]; then
		p=$(sed -n 's/^[a-z0-9]*: \([0-9]*\) passed, [0-9]* failed$/\1/p' "$log" | tail -n 1)
		f=$(sed -n 's/^[a-z0-9]*: [0-9]* passed, \([0-9]*\) failed$/\1/p' "$log" | tail -n 1)
	fi
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	# A suite that died before its summary, or failed without one, counts as a failure.
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		failed=$((failed + 1))
		broken+=("$(basename "${cmd[0]}") (exit $rc)")
	fi
done
echo
[ ${#broken[@]} -eq 0 ] || echo "suites without a summary: ${broken[*]}"
echo "tests: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
