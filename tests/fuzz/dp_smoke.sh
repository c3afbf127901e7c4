#!/usr/bin/env bash
# The datapath fuzzer's smoke run for make check: the reproducers of what it
# found (tests/fuzz/crashes/datapath/) replayed, then 100,000 packets with the
# fixed seed, at most 20 s. Closes with "dpfuzz: N passed, N failed" counting
# those runs (each reproducer one, the 100,000 packets one), not packets.
cd "$(dirname "$0")/../.." || exit 1
bin=${1:-build/tests/dp_fuzz}
passed=0
failed=0
for f in tests/fuzz/crashes/datapath/*.txt; do
	if "$bin" --replay "$f" >/dev/null; then
		passed=$((passed + 1))
	else
		echo "dpfuzz: $f fails again ($bin --replay $f)"
		failed=$((failed + 1))
	fi
done
if "$bin" --smoke; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
echo "dpfuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
