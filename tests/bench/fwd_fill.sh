#!/usr/bin/env bash
# tests/bench/fwd_rules.sh (cb_fill): one filler service of canary-bpf: add it
# and its backend; retry a runtime failure (exit 1). Run by xargs -P 4, which
# appends I.
#
#   fwd_fill.sh NS_NODE BIN CBPIN ERRFILE I
ns=$1 bin=$2 cbpin=$3 err=$4 i=$5
c() { timeout 60 nsenter --net="/run/netns/$ns" -- "$bin" -p "$cbpin" "$@" >/dev/null 2>>"$err"; }
ok=0
for a in 1 2 3 4 5; do c service add "f$i" --vip "10.97.$((i >> 8)).$((i & 255))" --port 80; r=$?
	if [ $r -eq 0 ] || { [ $r -eq 2 ] && [ "$a" -gt 1 ]; }; then ok=1; break; fi; sleep 0.05; done
[ $ok = 1 ] || exit 255
ok=0
for a in 1 2 3 4 5; do c backend add "f$i" stable "10.246.$((i >> 8)).$((i & 255)):8080"; r=$?
	if [ $r -eq 0 ] || { [ $r -eq 2 ] && [ "$a" -gt 1 ]; }; then ok=1; break; fi; sleep 0.05; done
[ $ok = 1 ] || exit 255
