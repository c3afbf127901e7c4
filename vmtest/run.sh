#!/usr/bin/env bash
# vmtest: run canary-bpf's datapath test suite and an end-to-end smoke test on
# another kernel, in qemu. `make vmtest` calls this after building the
# binaries for the VM (vmtest/vmtest.mk):
#
#   vmtest/run.sh --bin DIR --out DIR [--kernel FILE [--modules DIR|none]]
#
# --kernel  a bzImage (vmlinuz). Default: the kernel of Debian's
#           linux-image-amd64 metapackage (6.1 LTS on bookworm; another
#           with VMTEST_KERNEL_PKG): the package it depends on is fetched
#           with `apt-get download` into the cache and unpacked with
#           `dpkg-deb -x`, never installed.
# --modules that kernel's modules: /lib/modules/VERSION, or a directory
#           holding lib/modules/VERSION (an unpacked package), or "none" when
#           everything the tests need is built in. Default for --kernel:
#           /lib/modules/VERSION, VERSION read from the bzImage, if it exists.
# --bin     test_datapath, canary-bpf, cbclient, slowsrv built for the VM.
# --out     work directory: initramfs, serial.log (kept after the run).
#
# Environment:
#   VMTEST_KVM=1        use KVM (falls back to TCG, saying so, when /dev/kvm
#                       is missing or the kernel does not reach /init with
#                       it); default TCG
#   VMTEST_BOOT_TIMEOUT=S  the kernel must reach /init within S seconds
#                       (default 120 with TCG, 30 with KVM)
#   VMTEST_TIMEOUT=S    the whole VM run is killed after S seconds (default 600)
#   VMTEST_MEM=1G VMTEST_CPUS=2
#   VMTEST_SUITES       "smoke datapath" (default), or one of them
#   VMTEST_KERNEL_PKG   the Debian metapackage whose kernel runs without
#                       --kernel (default linux-image-amd64; on bookworm
#                       also linux-image-6.12-amd64)
#   VMTEST_CACHE=DIR    downloaded kernels (default /var/cache/canary-bpf-vmtest
#                       as root, ~/.cache/canary-bpf-vmtest otherwise)
#   VMTEST_QUIET=1      do not stream the serial console (it is in serial.log)
#   VMTEST_VERBOSE=1    stream verifier logs too (folded to one line otherwise)
#
# The initramfs: busybox-static, iproute2's ip and ethtool, the binaries and
# the shared libraries they need (found with ldd, loader included), the
# modules the tests need with their dependencies (decompressed here), and
# vmtest/init.sh as /init. The VM prints "VMTEST-RESULT: rc=N" on its serial
# console when done; this script exits with that N (1 without the line: a
# timeout or a crash), after a summary ending in "vmtest: N passed, N failed".
#
# shellcheck disable=SC2015 # "A && B || fail" is meant: all of them, or fail.
set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin  # ip, ethtool, modinfo for a user without them in PATH

HERE=$(cd "$(dirname "$0")" && pwd)
MODULES_NEEDED=(veth sch_ingress cls_bpf)  # veth pairs; tc clsact (sch_ingress) with cls_bpf
DEBIAN_META=${VMTEST_KERNEL_PKG:-linux-image-amd64}

die() {
	echo "vmtest: $*" >&2
	exit 1
}

note() {
	echo "vmtest: $*"
}

usage() {
	sed -n '2,/^# shellcheck/p' "$0" | sed '$d; s/^# \{0,1\}//' | sed '$d' >&2
	exit 2
}

KERNEL="" MODULES="" BIN="" OUT=""
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) KERNEL=${2:?}; shift 2 ;;
	--modules) MODULES=${2:?}; shift 2 ;;
	--bin) BIN=${2:?}; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	-h | --help) usage ;;
	*) usage ;;
	esac
done
[ -n "$BIN" ] && [ -n "$OUT" ] || usage
[ -z "$MODULES" ] || [ -n "$KERNEL" ] || die "--modules needs --kernel (MODULES= needs KERNEL=)"

TIMEOUT=${VMTEST_TIMEOUT:-600}
MEM=${VMTEST_MEM:-1G}
CPUS=${VMTEST_CPUS:-2}
# The smoke test first: the datapath suite ages a flow by 61 s, which a
# machine up for less has to wait for.
SUITES=${VMTEST_SUITES:-smoke datapath}
for s in $SUITES; do
	[[ $s =~ ^(datapath|smoke)$ ]] || die "VMTEST_SUITES: unknown suite '$s' (datapath, smoke)"
done
[ -n "${SUITES// /}" ] || die "VMTEST_SUITES is empty"
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "VMTEST_TIMEOUT '$TIMEOUT' is not a number of seconds"
[[ $CPUS =~ ^[1-9][0-9]*$ ]] || die "VMTEST_CPUS '$CPUS' is not a number"
if [ "$(id -u)" -eq 0 ]; then
	CACHE=${VMTEST_CACHE:-/var/cache/canary-bpf-vmtest}
else
	CACHE=${VMTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canary-bpf-vmtest}
fi

for t in qemu-system-x86_64 cpio ldd modinfo timeout flock ip ethtool; do
	command -v "$t" >/dev/null || die "$t is missing (sudo scripts/install-deps.sh)"
done
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] && "$BUSYBOX" --list >/dev/null 2>&1 ||
	die "$BUSYBOX is missing (Debian package busybox-static)"
for b in test_datapath canary-bpf cbclient slowsrv; do
	[ -x "$BIN/$b" ] || die "$BIN/$b is missing (make vmtest-build)"
done

# ------------------------------------------------------------ the kernel

# bzimage_version FILE: the kernel release a bzImage announces (its header's
# kernel_version string), empty if FILE is not a bzImage.
bzimage_version() {
	local off
	[ "$(od -An -tx1 -j 0x202 -N 4 "$1" 2>/dev/null | tr -d ' ')" = 48647253 ] || return 0 # "HdrS"
	off=$(od -An -tu2 -j 0x20e -N 2 "$1" | tr -d ' ')
	[ -n "$off" ] && [ "$off" -gt 0 ] || return 0
	dd if="$1" bs=1 skip=$((off + 0x200)) count=128 2>/dev/null | tr '\0' '\n' | head -n 1 |
		cut -d' ' -f1
}

# The package linux-image-amd64 depends on (linux-image-6.1.0-NN-amd64) at
# its candidate version, from the cache or fetched into it; sets KERNEL,
# MODULES and KERNEL_FROM. When apt cannot say or fetch it (offline, no
# package lists) the newest kernel already in the cache is used, with a note.
debian_kernel() {
	local pkg ver dir=""
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.lock"
	flock 9
	pkg=$(debian_kernel_pkg)
	if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
		note "no package list knows $DEBIAN_META: apt-get update"
		apt-get update -qq || true
		pkg=$(debian_kernel_pkg)
	fi
	[ -z "$pkg" ] || ver=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
	if [ -n "$pkg" ] && [ -n "$ver" ] && [ "$ver" != "(none)" ]; then
		dir=$CACHE/${pkg}_$ver
		[ -e "$dir/.complete" ] || fetch_kernel "$pkg" "$ver" "$dir" || dir=""
	else
		note "apt-cache cannot resolve $DEBIAN_META"
	fi
	if [ -z "$dir" ]; then
		dir=$(cached_kernels | tail -n 1)
		[ -n "$dir" ] || die "no kernel: $DEBIAN_META cannot be fetched and $CACHE holds none"
		note "using the kernel already in the cache: $(basename "$dir")"
	fi
	KERNEL=$(find "$dir/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n 1)
	MODULES=$(find "$dir/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n 1)
	[ -n "$KERNEL" ] && [ -n "$MODULES" ] || die "$dir: no boot/vmlinuz-* or lib/modules/*"
	KERNEL_FROM="Debian package $(basename "$dir" | tr _ ' ')"
	exec 9>&-
}

# fetch_kernel PKG VER DIR: download PKG=VER and unpack it as DIR; the other
# kernels of the cache (older packages) go.
fetch_kernel() {
	local pkg=$1 ver=$2 dir=$3 tmp deb
	note "fetching $pkg $ver (apt-get download) into $CACHE"
	tmp=$(mktemp -d "$CACHE/fetch.XXXXXX")
	# shellcheck disable=SC2064 # now: this tmp
	trap "rm -rf '$tmp'" EXIT
	if ! apt_download "$tmp" "$pkg=$ver"; then
		if [ "$(id -u)" -eq 0 ]; then
			note "apt-get download failed: apt-get update, then once more"
			apt-get update -qq || true
		fi
		if ! apt_download "$tmp" "$pkg=$ver"; then
			note "apt-get download $pkg=$ver failed"
			rm -rf "$tmp"
			trap - EXIT
			return 1
		fi
	fi
	deb=$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n 1)
	dpkg-deb -x "$deb" "$tmp/root" || die "dpkg-deb -x $deb failed"
	echo "$DEBIAN_META" >"$tmp/root/.complete"
	rm -rf "$dir"
	mv "$tmp/root" "$dir"
	rm -rf "$tmp"
	trap - EXIT
	cached_kernels | { grep -vxF "$dir" || true; } | while read -r old; do rm -rf "$old"; done
}

debian_kernel_pkg() {
	apt-cache depends "$DEBIAN_META" 2>/dev/null |
		sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[0-9][^ <>]*\)$/\1/p' | head -n 1
}

apt_download() { # DIR PKG=VER
	(cd "$1" && apt-get download -q -o APT::Sandbox::User=root "$2" >/dev/null)
}

# The unpacked kernels of DEBIAN_META in the cache, oldest first.
cached_kernels() {
	local f
	find "$CACHE" -mindepth 2 -maxdepth 2 -name .complete -path "$CACHE/linux-image-*" \
		2>/dev/null | sort -V | while read -r f; do
		[ "$(cat "$f")" != "$DEBIAN_META" ] || dirname "$f"
	done
}

if [ -z "$KERNEL" ]; then
	debian_kernel
else
	[ -r "$KERNEL" ] || die "KERNEL $KERNEL is not a readable file"
	KERNEL_FROM=$KERNEL
fi
KVER=$(bzimage_version "$KERNEL")
[ -n "$KVER" ] || die "$KERNEL is not a bzImage (x86 vmlinuz)"

# MODULES: none, a module tree (modules.builtin or kernel/ in it), or a root
# holding lib/modules/VERSION.
if [ -z "$MODULES" ]; then
	[ -d "/lib/modules/$KVER" ] ||
		die "no MODULES given and no /lib/modules/$KVER: name the module tree (MODULES=DIR) or MODULES=none"
	MODULES=/lib/modules/$KVER
fi
MODDIR=""
if [ "$MODULES" != none ]; then
	if [ -e "$MODULES/modules.builtin" ] || [ -d "$MODULES/kernel" ]; then
		MODDIR=$MODULES
	elif [ -d "$MODULES/lib/modules/$KVER" ]; then
		MODDIR=$MODULES/lib/modules/$KVER
	elif [ -d "$MODULES/usr/lib/modules/$KVER" ]; then
		MODDIR=$MODULES/usr/lib/modules/$KVER
	else
		die "MODULES $MODULES: not a module tree (no modules.builtin, no kernel/, no lib/modules/$KVER)"
	fi
fi

# ------------------------------------------------------------ the initramfs

ROOT=$OUT/initramfs.d
INITRD=$OUT/initramfs.cpio
LOG=$OUT/serial.log
mkdir -p "$OUT"
rm -rf "$ROOT"
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT"/{bin,sbin,dev,proc,sys,tmp,run,etc,vmtest,lib/vmtest-modules}

# copy_elf FILE DEST: FILE to DEST in the initramfs, with every shared library
# it needs at the path the loader looks for it (ldd says which).
copy_elf() {
	local src=$1 dest=$2 lib
	install -D -m 0755 "$src" "$ROOT$dest"
	# A static binary: ldd says so and fails; nothing more to copy.
	ldd "$src" >/dev/null 2>&1 || return 0
	ldd "$src" | sed -n 's/^[[:space:]]*\([^ ]*\) => \(\/[^ ]*\) .*/\2/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p' |
		while read -r lib; do
			[ -e "$ROOT$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$ROOT$lib"
		done
	ldd "$src" | grep -q 'not found' && die "$src: $(ldd "$src" | grep 'not found' | head -n 1)"
	return 0
}

copy_elf "$BUSYBOX" /bin/busybox
# Debian's busybox-static runs its own applets before anything in PATH
# (FEATURE_SH_STANDALONE), so its sh would run busybox's ip where the tests
# need iproute2's: /bin/sh is dash, which goes by PATH.
copy_elf /bin/dash /bin/sh
copy_elf "$(command -v ip)" /sbin/ip  # iproute2: netns, veth peer in netns
copy_elf "$(command -v ethtool)" /sbin/ethtool
for b in test_datapath canary-bpf cbclient slowsrv; do
	copy_elf "$BIN/$b" "/vmtest/$b"
done
install -m 0755 "$HERE/init.sh" "$ROOT/init"
install -m 0755 "$HERE/smoke.sh" "$ROOT/vmtest/smoke.sh"
# busybox for every command the binaries above do not provide.
for a in $("$BUSYBOX" --list); do
	[ -e "$ROOT/bin/$a" ] || [ -e "$ROOT/sbin/$a" ] || ln -s busybox "$ROOT/bin/$a"
done

# Modules, dependencies first, decompressed (busybox's insmod takes plain .ko).
declare -A MOD_PATH=() MOD_DONE=()
BUILTIN=""
if [ -n "$MODDIR" ]; then
	while read -r f; do
		n=${f##*/}
		n=${n%%.ko*}
		MOD_PATH[${n//-/_}]=$f
	done < <(find "$MODDIR" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')
	[ ! -r "$MODDIR/modules.builtin" ] ||
		BUILTIN=$(sed 's|.*/||; s|\.ko$||; s|-|_|g' "$MODDIR/modules.builtin")
fi
MOD_SEQ=0
add_module() {
	local name=${1//-/_} src dest dep vermagic
	[ -z "${MOD_DONE[$name]:-}" ] || return 0
	MOD_DONE[$name]=1
	if grep -qxF "$name" <<<"$BUILTIN"; then
		return 0
	fi
	src=${MOD_PATH[$name]:-}
	[ -n "$src" ] || die "module $name: not in $MODDIR and not built in${BUILTIN:+ (modules.builtin)}" \
		"${BUILTIN:-(no modules.builtin: if the kernel has it built in, MODULES=none)}"
	MOD_SEQ=$((MOD_SEQ + 1))
	dest=$(printf '%02d-%s.ko' "$MOD_SEQ" "$name")
	case $src in
	*.ko.xz) xz -dc "$src" >"$ROOT/lib/vmtest-modules/$dest" ;;
	*.ko.zst) zstd -qdc "$src" >"$ROOT/lib/vmtest-modules/$dest" ;;
	*.ko.gz) gzip -dc "$src" >"$ROOT/lib/vmtest-modules/$dest" ;;
	*) cp "$src" "$ROOT/lib/vmtest-modules/$dest" ;;
	esac
	vermagic=$(modinfo -F vermagic "$ROOT/lib/vmtest-modules/$dest" | cut -d' ' -f1)
	[ "$vermagic" = "$KVER" ] || die "module $src is for kernel '$vermagic', $KERNEL is $KVER"
	for dep in $(modinfo -F depends "$ROOT/lib/vmtest-modules/$dest" | tr ',' ' '); do
		add_module "$dep"
	done
	# After its dependencies, which add_module put in the list first.
	echo "$name $dest" >>"$ROOT/lib/vmtest-modules/order"
}
if [ -n "$MODDIR" ]; then
	for m in "${MODULES_NEEDED[@]}"; do add_module "$m"; done
fi
MOD_LIST=$(cut -d' ' -f1 "$ROOT/lib/vmtest-modules/order" 2>/dev/null | tr '\n' ' ')

# A hung suite is ended inside the VM, which still reports: the datapath
# suite may take three quarters of the whole run, the smoke test a fifth
# (with TCG on 2 vCPUs they take 150-230 s and about 10 s of the default 600).
cat >"$ROOT/vmtest/config" <<EOF
SUITES='$SUITES'
DATAPATH_TIMEOUT=$((TIMEOUT * 3 / 4 > 10 ? TIMEOUT * 3 / 4 : 10))
SMOKE_TIMEOUT=$((TIMEOUT / 5 > 10 ? TIMEOUT / 5 : 10))
EOF

(cd "$ROOT" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) >"$INITRD"
rm -rf "$ROOT"
trap - EXIT

# ------------------------------------------------------------ the VM

# boot tcg|kvm: run the VM, streaming its console; sets QRC (qemu's exit
# status, 124 on the timeout) and BOOTED (0 when the kernel never reached
# /init within BOOT_TIMEOUT seconds: then the VM was stopped there).
boot() {
	local accel watch
	if [ "$1" = kvm ]; then
		accel=(-accel kvm -cpu max)
	else
		accel=(-accel tcg -cpu max)
	fi
	rm -f "$LOG" "$OUT/qemu.err" "$OUT/boot-timeout"
	: >"$LOG"
	# panic=-1 with -no-reboot: a kernel panic (or PID 1 dying) ends qemu at once.
	timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -nodefaults -no-user-config -nographic \
		-machine q35 "${accel[@]}" -smp "$CPUS" -m "$MEM" \
		-kernel "$KERNEL" -initrd "$INITRD" \
		-append "console=ttyS0 panic=-1 quiet loglevel=4" \
		-serial "file:$LOG" -monitor none -no-reboot \
		</dev/null 2>"$OUT/qemu.err" &
	QEMU=$!
	# A kernel that cannot boot here (nested KVM that resets the guest, a
	# kernel without a serial console) would otherwise hold the whole timeout.
	(
		for _ in $(seq 1 "$BOOT_TIMEOUT"); do
			sleep 1
			grep -q 'VMTEST-KERNEL:' "$LOG" && exit 0
			kill -0 "$QEMU" 2>/dev/null || exit 0
		done
		touch "$OUT/boot-timeout"
		kill "$QEMU" 2>/dev/null
	) &
	watch=$!
	# shellcheck disable=SC2064 # now: these PIDs
	trap "kill $watch $QEMU 2>/dev/null; wait $QEMU 2>/dev/null" EXIT INT TERM
	if [ "${VMTEST_QUIET:-0}" != 1 ]; then
		# tail ends when qemu has, after printing the rest of the log.
		# A verifier log (thousands of lines when a program is refused) is
		# folded to one line unless VMTEST_VERBOSE=1: serial.log has it all.
		tail -n +1 -f --pid="$QEMU" "$LOG" |
			sed -u 's/\r$//; s/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g' |
			awk -v all="${VMTEST_VERBOSE:-0}" '
				all == 1 { print "vm| " $0; fflush(); next }
				/-- BEGIN PROG LOAD LOG --/ { n = 0; inlog = 1; print "vm| " $0; next }
				/-- END PROG LOAD LOG --/ {
					inlog = 0
					print "vm|   (" n " lines of verifier log, the last: " last ")"
					print "vm| " $0
					fflush()
					next
				}
				inlog { n++; if ($0 != "" && $0 !~ /^processed /) last = $0; next }
				{ print "vm| " $0; fflush() }'
	fi
	QRC=0
	# (2>/dev/null: bash's own "Aborted" line when qemu dies of a signal.)
	wait "$QEMU" 2>/dev/null || QRC=$?
	kill "$watch" 2>/dev/null || true
	wait "$watch" 2>/dev/null || true
	trap - EXIT INT TERM
	BOOTED=1
	[ ! -e "$OUT/boot-timeout" ] || BOOTED=0
}

ACCEL=tcg
BOOT_TIMEOUT=${VMTEST_BOOT_TIMEOUT:-120}
if [ "${VMTEST_KVM:-0}" = 1 ]; then
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		ACCEL=kvm
	else
		note "VMTEST_KVM=1 but /dev/kvm is missing or not accessible: running with TCG"
	fi
fi

note "kernel $KVER ($KERNEL_FROM)"
note "modules: ${MOD_LIST:-none loaded}${MODDIR:+ from $MODDIR}"
note "initramfs $(du -h "$INITRD" | cut -f1), qemu $ACCEL, $CPUS vCPUs, $MEM, timeout ${TIMEOUT}s, suites: $SUITES"
start=$(date +%s)
if [ "$ACCEL" = kvm ]; then
	# Booting takes a second or two with KVM.
	BOOT_TIMEOUT=${VMTEST_BOOT_TIMEOUT:-30}
	boot kvm
	if ! grep -q 'VMTEST-KERNEL:' "$LOG"; then
		note "KVM did not get the kernel to /init (qemu: $(head -n 1 "$OUT/qemu.err" || true)): running with TCG"
		cp "$LOG" "$OUT/serial-kvm.log"
		ACCEL=tcg
		BOOT_TIMEOUT=${VMTEST_BOOT_TIMEOUT:-120}
		start=$(date +%s)
	fi
fi
[ "$ACCEL" = kvm ] || boot tcg
secs=$(($(date +%s) - start))

# ------------------------------------------------------------ the verdict

LINES=$(tr -d '\r' <"$LOG")
# SeaBIOS clears the screen with escape sequences that may precede a line.
field() { sed -n "s/^.*$1: //p" <<<"$LINES"; }

echo
note "---- summary ($KERNEL_FROM)"
kernel=$(field VMTEST-KERNEL | head -n 1)
note "kernel: ${kernel:-(did not report: see $LOG)}"
note "qemu: $ACCEL, $CPUS vCPUs, $MEM, ${secs}s"
field VMTEST-MODULE | grep -v ' loaded$' | sed 's/^/vmtest: module /' || true
passed=0
failed=0
suites=$(field VMTEST-SUITE)
for s in $SUITES; do
	line=$(grep "^$s " <<<"$suites" | tail -n 1 || true)
	if [ -z "$line" ]; then
		note "$s: did not finish"
		failed=$((failed + 1))
		continue
	fi
	p=$(sed -n 's/.* passed=\([0-9]*\).*/\1/p' <<<"$line")
	f=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$line")
	rc=$(sed -n 's/.* rc=\([0-9]*\).*/\1/p' <<<"$line")
	t=$(sed -n 's/.* secs=\([0-9]*\).*/\1/p' <<<"$line")
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-1}))
	why="exit ${rc:-?}"
	# busybox timeout's TERM: 128 + 15.
	[ "${rc:-0}" != 143 ] || why="stopped at its time limit"
	note "$s: ${p:-0} passed, ${f:-?} failed ($why, ${t:-?}s)"
	# The first ten by name (a program that does not load fails them all).
	grep "^$s " <<<"$(field VMTEST-FAILED)" | awk -v s="$s" '
		NR <= 10 { sub("^" s " ", ""); print "vmtest:   failed: " $0 }
		END { if (NR > 10) print "vmtest:   ... and " NR - 10 " more" }' || true
done
# A program the kernel refused: the verifier's last words, once per program.
awk -v q="'" '
	/BPF program load failed/ { split($0, w, q); prog = w[2] }
	/-- BEGIN PROG LOAD LOG --/ { n = 0; inlog = 1; next }
	/-- END PROG LOAD LOG --/ {
		inlog = 0
		if (prog in seen)
			next
		seen[prog] = 1
		print "vmtest: verifier refused " prog ":"
		for (i = (n > 5 ? n - 5 : 0); i < n; i++)
			print "vmtest:   " buf[i]
	}
	inlog { buf[n++] = $0 }' <<<"$LINES"
# The kernel's own complaints: an oops or a BUG fails the run, warnings are shown.
crash=$(grep -E '(Kernel panic|BUG:|Oops:|general protection fault)' <<<"$LINES" | head -n 5 || true)
warn=$(grep -E 'WARNING:' <<<"$LINES" | head -n 5 || true)
[ -z "$warn" ] || while IFS= read -r l; do note "kernel warning: $l"; done <<<"$warn"
result=$(field VMTEST-RESULT | sed -n 's/^rc=\([0-9]*\)$/\1/p' | tail -n 1)
if [ -n "$crash" ]; then
	while IFS= read -r l; do note "kernel: $l"; done <<<"$crash"
	result=1
	failed=$((failed + 1))
elif [ -z "$result" ]; then
	if [ "$BOOTED" = 0 ]; then
		note "no VMTEST-RESULT line: the kernel did not reach /init within ${BOOT_TIMEOUT}s" \
			"(a console on ttyS0, initramfs support?)"
	elif [ "$QRC" -eq 124 ] || [ "$QRC" -eq 137 ]; then
		note "no VMTEST-RESULT line: the VM ran into the ${TIMEOUT}s timeout"
	else
		note "no VMTEST-RESULT line: qemu exited with $QRC ($(head -n 3 "$OUT/qemu.err" | tr '\n' ' '))"
	fi
	result=1
	failed=$((failed + 1))
fi
note "VMTEST-RESULT: rc=$result, serial log: $LOG"
note "$passed passed, $failed failed"
[ "$result" -eq 0 ]
