#!/usr/bin/env bash
# Run the libFuzzer targets of tests/fuzz (built by `make fuzz-build`).
#
#   run.sh fuzz   BUILD TARGET...   fuzz each target FUZZ_TIME seconds (default 60) on a
#                                   scratch copy of tests/fuzz/corpus/TARGET; with
#                                   FUZZ_MERGE=1 new inputs are merged back into it
#   run.sh replay BUILD TARGET...   run each target once over its corpus and over
#                                   tests/fuzz/crashes/TARGET (the regression inputs)
#   run.sh cov    BUILD TARGET...   line coverage of the code each target is about, over
#                                   the scratch corpus of the last `fuzz` run (or the
#                                   repo corpus); BUILD holds coverage-instrumented targets
#
# Closes with "fuzz: N passed, N failed": targets when fuzzing, inputs when replaying.
# Crashes found while fuzzing are left in BUILD/fuzz/artifacts/TARGET/.
set -u

here=$(cd "$(dirname "$0")" && pwd)
mode=${1:-}
build=${2:-}
if [ $# -lt 3 ] || { [ "$mode" != fuzz ] && [ "$mode" != replay ] && [ "$mode" != cov ]; }; then
	echo "usage: $0 fuzz|replay|cov BUILD TARGET..." >&2
	exit 2
fi
shift 2
time_s=${FUZZ_TIME:-60}
merge=${FUZZ_MERGE:-0}
case $time_s in
'' | *[!0-9]*) echo "run.sh: FUZZ_TIME must be a number of seconds" >&2; exit 2 ;;
esac

passed=0
failed=0
# UB already aborts (-fno-sanitize-recover); LSan is on in ASan by default, said anyway.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# The last value of a libFuzzer "stat::NAME:" line or a "cov: N" field.
lf_stat() { sed -n "s/^stat::$1: *\([0-9]*\)/\1/p" "$2" | tail -n 1; }
field() { sed -n "s/.* $1: \([0-9]*\).*/\1/p" "$2" | tail -n 1; }

fuzz_one() {
	local t=$1 bin=$build/fuzz/fuzz_$1 work=$build/fuzz/work/$1 art=$build/fuzz/artifacts/$1
	local log=$build/fuzz/$1.log dict=() rc files bytes

	rm -rf "$work"
	mkdir -p "$work" "$art"
	cp -r "$here/corpus/$t/." "$work/"
	[ -f "$here/$t.dict" ] && dict=("-dict=$here/$t.dict")
	"$bin" -max_total_time="$time_s" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		"${dict[@]}" -artifact_prefix="$art/" "$work" </dev/null >"$log" 2>&1
	rc=$?
	files=$(find "$work" -type f | wc -l)
	bytes=$(find "$work" -type f -printf '%s\n' | awk '{ n += $1 } END { print n + 0 }')
	printf 'fuzz_%s: %s s, %s execs (%s/s), cov %s, ft %s, corpus %s files (%s bytes), %s new\n' \
		"$t" "$time_s" "$(lf_stat number_of_executed_units "$log")" \
		"$(lf_stat average_exec_per_sec "$log")" "$(field cov "$log")" "$(field ft "$log")" \
		"$files" "$bytes" "$(lf_stat new_units_added "$log")"
	if [ "$rc" -ne 0 ]; then
		echo "fuzz_$t: FAILED (exit $rc); log $log, reproducer(s) in $art/:"
		grep -E 'ERROR: |runtime error|invariant broken|SUMMARY|Test unit written' "$log" | head -n 20
		return 1
	fi
	if [ "$merge" = 1 ]; then
		local before after
		before=$(find "$here/corpus/$t" -type f | wc -l)
		"$bin" -merge=1 "$here/corpus/$t" "$work" </dev/null >>"$log" 2>&1 || return 1
		after=$(find "$here/corpus/$t" -type f | wc -l)
		echo "fuzz_$t: merged $((after - before)) new inputs into tests/fuzz/corpus/$t"
	fi
	return 0
}

# All inputs in one process; when that fails, one process per input to name the culprits.
replay_one() {
	local t=$1 bin=$build/fuzz/fuzz_$1 log=$build/fuzz/$1.replay.log inputs=() f n bad=0

	for f in "$here/corpus/$t"/* "$here/crashes/$t"/*; do
		[ -f "$f" ] && inputs+=("$f")
	done
	n=${#inputs[@]}
	if "$bin" "${inputs[@]}" </dev/null >"$log" 2>&1; then
		echo "fuzz_$t: $n inputs replayed, no finding"
		passed=$((passed + n))
		return
	fi
	for f in "${inputs[@]}"; do
		if "$bin" "$f" </dev/null >"$log.one" 2>&1; then
			passed=$((passed + 1))
		else
			bad=$((bad + 1))
			echo "fuzz_$t: FAILED on ${f#"$here"/}:"
			grep -E 'ERROR: |runtime error|invariant broken|SUMMARY' "$log.one" | head -n 10
		fi
	done
	# A failure that no single input reproduces still fails the replay.
	[ "$bad" -eq 0 ] && { bad=1; echo "fuzz_$t: FAILED over all inputs together (see $log)"; }
	failed=$((failed + bad))
	rm -f "$log.one"
}

# The sources each target is about (the CLI's: its parse and validation stage lives in these).
cov_files() {
	case $1 in
	config) echo user/agent/config.c user/agent/config_yaml.c ;;
	parse) echo user/lib/parse.c ;;
	expo) echo user/agent/expo.c ;;
	cli) echo user/cli/*.c user/lib/opts.c user/agent/main.c ;;
	esac
}

cov_one() {
	local t=$1 bin=$build/fuzz/fuzz_$1 dir=$2/fuzz/work/$1 prof=$build/fuzz/$1 files

	[ -d "$dir" ] || dir=$here/corpus/$t
	read -r -a files <<<"$(cov_files "$t")"
	LLVM_PROFILE_FILE=$prof.profraw "$bin" -runs=0 "$dir" </dev/null >"$prof.log" 2>&1 &&
		llvm-profdata merge -sparse "$prof.profraw" -o "$prof.profdata" || return 1
	echo "fuzz_$t: line coverage over ${dir#"$here"/}:"
	llvm-cov report "$bin" -instr-profile="$prof.profdata" "${files[@]}" |
		awk 'NF >= 10 && $1 != "Filename" {
			n = split($1, p, "/"); printf "    %-16s %s of lines\n", p[n], $10 }'
}

for t in "$@"; do
	if [ "$mode" = cov ]; then
		if cov_one "$t" "${FUZZ_WORK_BUILD:-build-fuzz}"; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
		fi
		continue
	fi
	if [ ! -x "$build/fuzz/fuzz_$t" ]; then
		echo "fuzz_$t: not built ($build/fuzz/fuzz_$t)"
		failed=$((failed + 1))
		continue
	fi
	if [ "$mode" = fuzz ]; then
		if fuzz_one "$t"; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
		fi
	else
		replay_one "$t"
	fi
done
echo "fuzz: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
