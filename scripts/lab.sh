#!/usr/bin/env bash
# A network-namespace lab for canary-bpf: two clients, one node that runs the
# splitter, four stable backends and one canary backend, each backend a real
# nginx. Used by the end-to-end tests (tests/e2e/run.sh) and the demo.
#
#   scripts/lab.sh up NAME     build it (fails, and cleans up, if any step fails)
#   scripts/lab.sh down NAME   remove it; idempotent, also after a half-done `up`
#   scripts/lab.sh env NAME    shell assignments describing it, for `eval`
#   scripts/lab.sh repair NAME re-create what a fault test deleted: a client or
#                              backend namespace, a node link, a backend's nginx
#
# Topology (every client/backend interface is eth0; node-side names below):
#
#   NAME-cl   10.10.1.2  fd10:1::2 ── ncl  ┐
#   NAME-cl2  10.10.2.2  fd10:2::2 ── ncl2 ┤
#                                          NAME-node  (x.x.x.1 on each link)
#   NAME-sX   10.20.X.2  fd20:X::2 ── nbX  ┤  X = 1..4, stable, nginx on :8080
#   NAME-c1   10.20.5.2  fd20:5::2 ── nb5  ┘  canary, nginx on :8080
#
# VIPs 10.96.0.10 and fd96::10 (port 80) are routed by the clients to the node;
# nothing in the lab answers them unless canary-bpf is attached there.
#
# Run canary-bpf in the node with $LAB_NODE_EXEC (nsenter --net), not with
# `ip netns exec`: the latter mounts a fresh sysfs on /sys, which hides the
# host's bpffs at /sys/fs/bpf and with it the pinned state.
#
# Environment for `up`: LAB_CANARY_STATUS (default 200), the HTTP status the
# canary's nginx answers with, so that a demo can make the canary fail. Any
# status nginx can send with the body "c1" works: 200..599 except 204, 304,
# the redirects (301 302 303 307 308, whose `return` argument is a URL) and
# 444 (nginx closes the connection instead).
#
# The tests may run more servers in the backend namespaces (tests/e2e/slowsrv
# on other ports); `down` ends every process left in a lab namespace.
set -u

VIP4=10.96.0.10
VIP6=fd96::10
VIP_PORT=80
BACKEND_PORT=8080
BACKENDS=(s1 s2 s3 s4 c1)   # backend X of the addressing plan is BACKENDS[X-1]
NODE_IFS=(ncl ncl2 nb1 nb2 nb3 nb4 nb5)

die() {
	echo "lab: $*" >&2
	exit 1
}

usage() {
	echo "usage: $0 up|down|repair|env NAME" >&2
	exit 2
}

# NAME ends up in namespace names and in an `rm -rf` under /tmp: keep it tame.
check_name() {
	[[ $1 =~ ^[a-z0-9][a-z0-9-]{0,19}$ ]] ||
		die "bad lab name '$1' (lower-case letters, digits, '-'; at most 20)"
	[[ $1 != cbx-* ]] || die "lab names starting with 'cbx-' are reserved"
}

# Namespace names, client/backend attributes by role.
namespaces() {
	local n=$1 b
	echo "$n-cl" "$n-cl2" "$n-node"
	for b in "${BACKENDS[@]}"; do echo "$n-$b"; done
}

ns_exists() {
	[ -e "/run/netns/$1" ]
}

run() {
	"$@" || { echo "lab: failed: $*" >&2; return 1; }
}

# One link from the node to a client or backend namespace.
#   link NAME NODE_IF PEER_NS ADDR4_PREFIX ADDR6_PREFIX
# ADDR4_PREFIX "10.10.1" gives .1 on the node and .2 on the peer;
# ADDR6_PREFIX "fd10:1" gives ::1 and ::2.
link() {
	local node=$1-node nif=$2 peer=$3 p4=$4 p6=$5
	run ip -n "$node" link add "$nif" type veth peer name eth0 netns "$peer" &&
	run ip -n "$node" addr add "$p4.1/24" dev "$nif" &&
	run ip -n "$node" -6 addr add "$p6::1/64" dev "$nif" nodad &&
	run ip -n "$node" link set "$nif" up &&
	run ip netns exec "$node" sysctl -qw "net.ipv4.conf.$nif.rp_filter=0" &&
	run ip -n "$peer" addr add "$p4.2/24" dev eth0 &&
	run ip -n "$peer" -6 addr add "$p6::2/64" dev eth0 nodad &&
	run ip -n "$peer" link set eth0 up &&
	run ip -n "$peer" route add default via "$p4.1" &&
	run ip -n "$peer" -6 route add default via "$p6::1" &&
	# XDP_REDIRECT into a veth is only received when the peer end runs NAPI,
	# which a veth without an XDP program of its own does only with GRO on.
	# With TX checksum offload a veth hands over CHECKSUM_PARTIAL packets whose
	# TCP checksum field holds only the pseudo-header sum; native XDP cannot
	# see that, so its incremental NAT update turns them into bad checksums
	# (the backends count TcpInCsumErrors). Checksums computed by the sender
	# make the links behave like wires, which is what XDP is built for.
	run ip netns exec "$peer" ethtool -K eth0 gro on tx off >/dev/null
}

nginx_conf() {
	local dir=$1 name=$2 idx=$3 status=$4
	cat <<EOF
# Lab backend $name; written by scripts/lab.sh.
user root;
worker_processes 1;
daemon on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $dir/tmp/body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	keepalive_requests 1000000;
	keepalive_timeout 300s;
	default_type text/plain;
	server {
		listen 10.20.$idx.2:$BACKEND_PORT;
		listen [fd20:$idx::2]:$BACKEND_PORT;
		location / { return $status "$name\n"; }
		# 300 KB for the downloads that need full-size segments (path MTU tests).
		location = /big { alias $dir/big; }
	}
}
EOF
}

# Ask a backend from the node, over the lab's own links: one HTTP request
# with bash's /dev/tcp, bounded by `timeout`. Prints the response, CRs removed.
probe() {
	local node=$1 addr=$2
	# shellcheck disable=SC2016 # expanded by the inner bash
	ip netns exec "$node" timeout 1 bash -c '
		exec 3<>"/dev/tcp/$1/$2" || exit 1
		printf "GET / HTTP/1.0\r\nHost: lab\r\n\r\n" >&3
		cat <&3' probe "$addr" "$BACKEND_PORT" 2>/dev/null | tr -d '\r'
}

start_backend() {
	local n=$1 name=$2 idx=$3 status=$4 dir=/tmp/$1-lab/$2 a out
	run mkdir -p "$dir/tmp" || return 1
	run head -c 307200 /dev/urandom >"$dir/big" || return 1
	nginx_conf "$dir" "$name" "$idx" "$status" >"$dir/nginx.conf" || return 1
	# -e: the error log nginx uses before it has read its configuration.
	run ip netns exec "$n-$name" /usr/sbin/nginx -q -p "$dir" -c "$dir/nginx.conf" \
		-e "$dir/error.log" || return 1
	for a in "10.20.$idx.2" "fd20:$idx::2"; do
		for _ in $(seq 1 40); do
			# The status line must say STATUS and the body name the backend.
			out=$(probe "$n-node" "$a")
			[[ $out == "HTTP/1.1 $status "* ]] && grep -qx "$name" <<<"$out" && continue 2
			sleep 0.1
		done
		echo "lab: nginx of $name does not answer $status on $a:$BACKEND_PORT${out:+: ${out%%$'\n'*}}" >&2
		return 1
	done
}

up() {
	local n=$1 ns i b status=${LAB_CANARY_STATUS:-200}
	[[ $status =~ ^[2-5][0-9][0-9]$ ]] || die "LAB_CANARY_STATUS '$status' is not an HTTP status 200..599"
	case $status in
	204 | 304 | 301 | 302 | 303 | 307 | 308 | 444)
		die "LAB_CANARY_STATUS $status: nginx cannot answer it with a body naming the backend" ;;
	esac
	for ns in $(namespaces "$n"); do
		! ns_exists "$ns" || die "namespace $ns exists: run '$0 down $n' first"
	done
	[ ! -e "/tmp/$n-lab" ] || die "/tmp/$n-lab exists: run '$0 down $n' first"
	command -v ethtool >/dev/null || die "ethtool is missing"
	[ -x /usr/sbin/nginx ] || die "/usr/sbin/nginx is missing (Debian package nginx-light)"

	# Whatever fails from here on, leave nothing behind.
	trap 'echo "lab: up $n failed; cleaning up" >&2; down "$n"' EXIT
	mkdir -p "/tmp/$n-lab" || exit 1
	for ns in $(namespaces "$n"); do
		run ip netns add "$ns" && run ip -n "$ns" link set lo up || exit 1
	done
	ip netns exec "$n-node" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 || exit 1

	link "$n" ncl "$n-cl" 10.10.1 fd10:1 || exit 1
	link "$n" ncl2 "$n-cl2" 10.10.2 fd10:2 || exit 1
	for i in 1 2 3 4 5; do
		link "$n" "nb$i" "$n-${BACKENDS[i - 1]}" "10.20.$i" "fd20:$i" || exit 1
	done
	# The default routes already cover the VIPs; the explicit ones say what the
	# lab is for and survive a test that changes the default route.
	for i in 1 2; do
		ns=$n-cl; [ "$i" = 1 ] || ns=$n-cl$i
		run ip -n "$ns" route add 10.96.0.0/16 via "10.10.$i.1" &&
		run ip -n "$ns" -6 route add fd96::/64 via "fd10:$i::1" || exit 1
	done

	for i in 1 2 3 4 5; do
		b=${BACKENDS[i - 1]}
		start_backend "$n" "$b" "$i" "$([ "$b" = c1 ] && echo "$status" || echo 200)" || exit 1
	done
	trap - EXIT
	echo "lab $n is up (node $n-node, VIPs $VIP4 [$VIP6] port $VIP_PORT)"
}

# Put back whatever is missing of a lab that is up: a test that deletes a
# backend namespace or a node interface on purpose leaves the lab whole.
repair() {
	local n=$1 i b ns nif p4 p6 status=${LAB_CANARY_STATUS:-200}
	ns_exists "$n-node" || die "lab $n is not up"
	for i in 1 2 3 4 5 6 7; do
		nif=${NODE_IFS[i - 1]}
		if [ "$i" -le 2 ]; then
			ns=$n-cl; [ "$i" = 1 ] || ns=$n-cl$i
			p4=10.10.$i p6=fd10:$i b=""
		else
			b=${BACKENDS[i - 3]} ns=$n-$b p4=10.20.$((i - 2)) p6=fd20:$((i - 2))
		fi
		if ! ns_exists "$ns"; then
			ip -n "$n-node" link del "$nif" 2>/dev/null
			run ip netns add "$ns" && run ip -n "$ns" link set lo up || return 1
		fi
		if ! ip -n "$n-node" link show "$nif" >/dev/null 2>&1; then
			ip -n "$ns" link del eth0 2>/dev/null
			link "$n" "$nif" "$ns" "$p4" "$p6" || return 1
			if [ -z "$b" ]; then
				run ip -n "$ns" route add 10.96.0.0/16 via "$p4.1" &&
				run ip -n "$ns" -6 route add fd96::/64 via "$p6::1" || return 1
			fi
		fi
		if [ -n "$b" ] && [ -z "$(ip netns pids "$ns" 2>/dev/null)" ]; then
			start_backend "$n" "$b" "$((i - 2))" \
				"$([ "$b" = c1 ] && echo "$status" || echo 200)" || return 1
		fi
	done
}

# A zombie has finished; its reaper (nginx daemonizes to PID 1) may take
# a while to collect it.
running() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# Stop a process only if it is the one we think: it must live in the lab's
# namespace NS. TERM first, KILL after 5 s.
stop_pid() {
	local pid=$1 ns=$2
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	[ "$(ip netns identify "$pid" 2>/dev/null)" = "$ns" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 50); do
		running "$pid" || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
}

down() {
	local n=$1 b ns pid
	for b in "${BACKENDS[@]}"; do
		[ -r "/tmp/$n-lab/$b/nginx.pid" ] &&
			stop_pid "$(cat "/tmp/$n-lab/$b/nginx.pid")" "$n-$b"
	done
	# Anything else still running in a lab namespace (an nginx worker whose
	# master was killed, a client a test left behind) was started for the lab.
	for ns in $(namespaces "$n"); do
		ns_exists "$ns" || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			stop_pid "$pid" "$ns"
		done
		ip netns del "$ns" 2>/dev/null || echo "lab: cannot delete namespace $ns" >&2
	done
	rm -rf "/tmp/$n-lab"
	for ns in $(namespaces "$n"); do
		! ns_exists "$ns" || return 1
	done
	[ ! -e "/tmp/$n-lab" ]
}

env_of() {
	local n=$1 b i s4="" s6=""
	for i in 1 2 3 4; do
		s4+="${s4:+ }10.20.$i.2:$BACKEND_PORT"
		s6+="${s6:+ }[fd20:$i::2]:$BACKEND_PORT"
	done
	cat <<EOF
LAB_NAME=$n
LAB_DIR=/tmp/$n-lab
LAB_NS_CL=$n-cl
LAB_NS_CL2=$n-cl2
LAB_NS_NODE=$n-node
EOF
	for b in "${BACKENDS[@]}"; do
		echo "LAB_NS_${b^^}=$n-$b"
	done
	cat <<EOF
LAB_NODE_IFS='${NODE_IFS[*]}'
LAB_NODE_EXEC='nsenter --net=/run/netns/$n-node --'
LAB_VIP4=$VIP4
LAB_VIP6=$VIP6
LAB_VIP_PORT=$VIP_PORT
LAB_BACKEND_PORT=$BACKEND_PORT
LAB_CL_ADDR4=10.10.1.2
LAB_CL_ADDR6=fd10:1::2
LAB_CL2_ADDR4=10.10.2.2
LAB_CL2_ADDR6=fd10:2::2
LAB_CL_NET4=10.10.1.0/24
LAB_CL2_NET4=10.10.2.0/24
LAB_CL_NET6=fd10:1::/64
LAB_CL2_NET6=fd10:2::/64
LAB_STABLE4='$s4'
LAB_STABLE6='$s6'
LAB_CANARY4='10.20.5.2:$BACKEND_PORT'
LAB_CANARY6='[fd20:5::2]:$BACKEND_PORT'
EOF
}

[ $# -eq 2 ] || usage
check_name "$2"
case $1 in
up)
	[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
	up "$2"
	;;
down)
	[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
	down "$2"
	;;
repair)
	[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
	repair "$2"
	;;
env) env_of "$2" ;;
*) usage ;;
esac
