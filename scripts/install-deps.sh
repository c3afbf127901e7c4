#!/usr/bin/env bash
# Install the Debian packages canary-bpf needs to build and test. Idempotent:
# does nothing (and needs no network) when everything is already there.
set -euo pipefail

PKGS=(
	make gcc pkg-config clang llvm bpftool
	libbpf-dev libelf-dev zlib1g-dev linux-libc-dev
	libnl-3-dev libnl-route-3-dev libnl-genl-3-dev libjson-c-dev
	libcmocka-dev libyaml-dev libmicrohttpd-dev
	iproute2 util-linux ethtool nginx-light python3 python3-yaml curl prometheus
	netsniff-ng nftables iptables gnuplot-nox
	qemu-system-x86 busybox-static cpio kmod xz-utils zstd
	libclang-rt-14-dev valgrind
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]} (run as root: sudo $0)" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# nginx and prometheus are for the tests, which start their own inside network
# namespaces: no package may start its system-wide service on this host (a
# policy-rc.d answering 101 is how Debian says so), not even for a moment.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# ... nor start at the next boot (only the ones installed just now: a service
# the host had before is the host's business).
if command -v systemctl >/dev/null; then
	for p in nginx-light:nginx prometheus:prometheus; do
		printf '%s\n' "${missing[@]}" | grep -qx "${p%%:*}" &&
			systemctl disable --now "${p#*:}" >/dev/null 2>&1 || true
	done
fi
