#!/usr/bin/env bash
# Install the Debian packages canary-bpf needs to build and test. Idempotent:
# does nothing (and needs no network) when everything is already there.
set -euo pipefail

PKGS=(
	make gcc pkg-config clang llvm bpftool
	libbpf-dev libelf-dev zlib1g-dev linux-libc-dev
	libnl-3-dev libnl-route-3-dev libnl-genl-3-dev libjson-c-dev
	libcmocka-dev libyaml-dev
	iproute2 util-linux ethtool nginx-light python3
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
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The tests start their own nginx inside network namespaces; the package's
# system-wide service is not wanted on this host.
if printf '%s\n' "${missing[@]}" | grep -qx nginx-light && command -v systemctl >/dev/null; then
	systemctl disable --now nginx >/dev/null 2>&1 || true
fi
