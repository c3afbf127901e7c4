#!/usr/bin/env bash
# Checks of the tree and the build that no other suite makes (make check runs
# this first; no root needed). Closing line "build: N passed, N failed".
#
#   - build/canary-bpf embeds exactly one BPF object (the skeleton is included
#     by one file of the library, user/lib/skel.c)
#   - no .c file sits directly in user/: every file is in one of the rooms
#   - the rooms' layering: user/lib includes nothing of user/agent or user/cli,
#     user/agent nothing of user/cli
#   - every function of user/ and bpf/ is at most 80 lines, or says why above it
#     ("long-function: REASON")
#   - no generated file is committed
set -u

cd "$(dirname "$0")/../.." || exit 1
BIN=${1:-build/canary-bpf}
passed=0
failed=0

check() {
	local what=$1
	shift
	if out=$("$@" 2>&1); then
		passed=$((passed + 1))
		echo "ok    $what${out:+: ${out##*$'\n'}}"
	else
		failed=$((failed + 1))
		echo "FAIL  $what"
		sed 's/^/      /' <<<"$out"
	fi
}

no_c_in_user() {
	local stray
	stray=$(find user -maxdepth 1 -name '*.c')
	[ -z "$stray" ] || { echo "$stray"; return 1; }
}

# Headers of a room, as the files of other rooms would include them.
headers_of() {
	(cd "user/$1" && ls ./*.h) | sed 's|^\./||'
}

includes_none_of() {
	local room=$1 bad=0 h
	shift
	for h in $(for r in "$@"; do headers_of "$r"; done); do
		if grep -n "^#include \"$h\"" user/"$room"/*.[ch]; then
			bad=1
		fi
	done
	return $bad
}

nothing_generated() {
	local gen
	git rev-parse --git-dir >/dev/null 2>&1 || { echo "not a git checkout: skipped"; return 0; }
	gen=$(git ls-files | grep -E '\.(o|a|d)$|\.skel\.h$|^build/' || true)
	[ -z "$gen" ] || { echo "$gen"; return 1; }
}

check "one BPF object embedded in $BIN" python3 tests/build/check_binary.py "$BIN" 1
check "no .c file directly in user/" no_c_in_user
check "user/lib includes no header of user/agent or user/cli" includes_none_of lib agent cli
check "user/agent includes no header of user/cli" includes_none_of agent cli
check "functions of user/ and bpf/ within 80 lines or explained" \
	python3 scripts/fnsize.py --max 80 --top 0 user/*/*.c user/*/*.h bpf/*.h bpf/*.c
check "no generated file committed" nothing_generated

echo "build: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
