#!/usr/bin/env bash
# make check's guard against benchmark rot: every part of `make bench` for
# about a second each, into a scratch directory. It checks that each part
# runs and validates its own results; the figures themselves mean nothing.
cd "$(dirname "$0")/../.." || exit 1
exec tests/bench/run.sh --smoke build/bench-smoke
