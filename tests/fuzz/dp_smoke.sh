#!/usr/bin/env bash
# The datapath fuzzer's smoke run for make check: 100,000 packets with the
# fixed seed, at most 20 s; closes with "dpfuzz: N passed, N failed".
cd "$(dirname "$0")/../.." || exit 1
# First the reproducers of what it found (tests/fuzz/crashes/datapath/), then the run.
bin=${1:-build/tests/dp_fuzz}
for f in tests/fuzz/crashes/datapath/*.txt; do
	"$bin" --replay "$f" >/dev/null || { echo "dpfuzz: $f fails again"; echo "dpfuzz: 0 passed, 1 failed"; exit 1; }
done
exec "$bin" --smoke
