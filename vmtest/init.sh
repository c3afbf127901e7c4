#!/bin/sh
# shellcheck shell=dash
# PID 1 of the vmtest VM: vmtest/run.sh puts this file into the initramfs as
# /init, next to busybox, iproute2's ip, ethtool, the test binaries in
# /vmtest and the kernel modules in /lib/vmtest-modules. It mounts what the
# tests need, loads the modules, runs the suites /vmtest/config names, reports
# on the serial console in lines the host reads, and powers the VM off:
#
#   VMTEST-KERNEL: RELEASE VERSION
#   VMTEST-MODULE: NAME loaded|FAILED
#   VMTEST-SUITE: NAME rc=N passed=N failed=N secs=N
#   VMTEST-FAILED: SUITE TEST
#   VMTEST-RESULT: rc=N        (last; 0 only when every suite passed)
#
# Run by dash (/bin/sh in the VM), with busybox for the commands: no bash.
export PATH=/vmtest:/sbin:/bin
export HOME=/tmp

# Without /dev/console in the archive the kernel gives PID 1 no stdio: mount
# devtmpfs first, then take the console.
mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/console 2>&1

rc=0
mnt() {
	mkdir -p "$3"
	mount -t "$1" "$2" "$3" || {
		echo "vmtest: cannot mount $1 on $3"
		rc=1
	}
}
mnt proc proc /proc
mnt sysfs sysfs /sys
mnt tmpfs tmpfs /tmp
mnt tmpfs tmpfs /run
mnt bpf bpf /sys/fs/bpf
# Not needed by the tests; there for bpf_printk and the verifier's friends
# when someone debugs a failure in the VM.
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null

SUITES="smoke datapath"
DATAPATH_TIMEOUT=400
SMOKE_TIMEOUT=150
# shellcheck source=/dev/null # written by vmtest/run.sh
. /vmtest/config

echo
echo "VMTEST-KERNEL: $(uname -r) $(uname -v)"

# Dependency order, resolved on the host (run.sh); "name file" per line.
if [ -r /lib/vmtest-modules/order ]; then
	while read -r name file; do
		if insmod "/lib/vmtest-modules/$file"; then
			echo "VMTEST-MODULE: $name loaded"
		else
			echo "VMTEST-MODULE: $name FAILED"
			rc=1
		fi
	done </lib/vmtest-modules/order
fi
ip link set lo up

# A summary in either of the two forms the project's suites print: cmocka's
# "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)", or "WORD: N passed, N failed".
count() { # LOG passed|failed
	local n
	if [ "$2" = passed ]; then
		n=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -n 1)
		[ -n "$n" ] || n=$(sed -n 's/^[a-z0-9]*: \([0-9]*\) passed, [0-9]* failed.*/\1/p' "$1" | tail -n 1)
	else
		n=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -n 1)
		[ -n "$n" ] || n=$(sed -n 's/^[a-z0-9]*: [0-9]* passed, \([0-9]*\) failed.*/\1/p' "$1" | tail -n 1)
	fi
	echo "${n:-0}"
}

# Failed tests by name: cmocka's "[  FAILED  ] name" and "[  ERROR   ] name"
# (a failed setup, which cmocka 1.1 leaves out of its FAILED count), the
# smoke's "FAIL name".
failed_names() { # LOG
	sed -n -E -e 's/^\[  (FAILED|ERROR) *\] ([a-z_][a-z0-9_]*)$/\2/p' \
		-e 's/^FAIL ([a-z_][a-z0-9_]*).*/\1/p' "$1" | sort -u
}

uptime_s() {
	local up _
	read -r up _ </proc/uptime
	echo "${up%.*}"
}

# run_suite NAME TIMEOUT CMD...
run_suite() {
	local name="$1" limit="$2" log="/tmp/$1.log" src p f names t0
	shift 2
	echo "=== $name"
	t0=$(uptime_s)
	# Output goes to the console as it comes (a hang shows where), and to
	# the log for the counts.
	{
		cd /tmp && timeout "$limit" "$@"
		echo $? >"/tmp/$name.rc"
	} 2>&1 | tee "$log"
	src=$(cat "/tmp/$name.rc")
	p=$(count "$log" passed)
	f=$(count "$log" failed)
	names=$(failed_names "$log")
	[ -z "$names" ] || [ "$(printf '%s\n' "$names" | grep -c .)" -le "$f" ] ||
		f=$(printf '%s\n' "$names" | grep -c .)
	# A suite that failed without saying so counts one failure.
	[ "$src" -eq 0 ] || [ "$f" -gt 0 ] || f=1
	echo "VMTEST-SUITE: $name rc=$src passed=$p failed=$f secs=$(($(uptime_s) - t0))"
	for t in $names; do echo "VMTEST-FAILED: $name $t"; done
	[ "$src" -eq 0 ] && [ "$f" -eq 0 ] || rc=1
}

for s in $SUITES; do
	case $s in
	datapath) run_suite datapath "$DATAPATH_TIMEOUT" test_datapath ;;
	smoke) run_suite smoke "$SMOKE_TIMEOUT" /vmtest/smoke.sh ;;
	*)
		echo "vmtest: unknown suite '$s'"
		rc=1
		;;
	esac
done

echo "VMTEST-RESULT: rc=$rc"
poweroff -f
# Only if poweroff failed: the host's timeout would end the VM, but sooner is better.
echo o >/proc/sysrq-trigger
sleep 10
