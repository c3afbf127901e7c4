# shellcheck shell=bash
# tests/bench/fwd.sh: the network-namespace topology, CPU pinning of the
# node's threads, and the cleanup of everything a run made. Sourced; defines
# functions only.
#
# Topology (one for every case; built once per run):
#
#   cbxb-fPID-cl  eth0 10.244.1.2 ── cbiPID  ┐
#                                          cbxb-fPID-node (10.244.1.1, 10.244.2.1)
#   cbxb-fPID-be  eth0 10.244.2.2-5 ── cboPID ┘
#
# The client runs trafgen on eth0, writing Ethernet frames addressed to the
# node; the node forwards them to the backend namespace, whose eth0 has four
# addresses, the four endpoints of the measured service (VIP 10.96.0.10:80,
# backends 10.244.2.2-5:8080). The node has static neighbour entries for them
# and no route to 10.96.0.0/12 (except in case "plain"): a packet that was not
# translated is not counted as delivered. 10.244.0.0/16 plays the cluster's
# pod CIDR: clients are pods, so kube-proxy's rules do not masquerade (no
# SNAT in any case; canary-bpf never SNATs either).
#
# A veth-lab cost to know when reading XDP figures: native XDP on a veth that
# receives skbs (here trafgen's; on a node, a pod's) copies each into a page
# of its own first (skb_pp_cow_data: an skb from a local sender has less than
# the 256 bytes of headroom XDP wants), then frees the original. Profiled on
# this VM that is about 55 % of the xdp_drop reference's cost and 25-30 % of
# cb_xdp's; a NIC driver hands XDP its buffer without a copy. The stack cases
# do not pay it (they take the skb as it is).
#
# CPUs (FWD_LAYOUT=split, the default): the generator runs on CPU 0 (trafgen
# -P 1) and the node on CPU 1. The node's ingress veth runs threaded NAPI
# (GRO on, the client's eth0 without TSO, so every path, stack or XDP, goes
# through it) and its NAPI thread is pinned to CPU 1; the node's forwarding,
# netfilter or canary-bpf, and the backend's receive all run there. "node CPU
# per packet" (cpu_ns_per_pkt) is CPU 1's busy time (/proc/stat: all but idle
# and iowait) over the window divided by the packets delivered in it;
# node_thread_ns_per_pkt is the run time of the node's threads (the NAPI
# thread and ksoftirqd/1, from schedstat) per packet, which another process on
# CPU 1 does not inflate, and node_cpu_other_util the share of CPU 1 such
# processes took (0 on a quiet machine). When CPU 1 is saturated, pps is the
# node's capacity; when it is not (the fastest paths), the generator's one CPU
# is the limit and the CPU per packet is the figure to compare (it then
# includes the NAPI thread's wake-ups). FWD_LAYOUT=inline reproduces the
# issue's reference method instead: trafgen on every CPU, no threaded NAPI,
# each packet handled to the end in the sender's context; CPU per packet is
# then all CPUs' busy time, generator included, over delivered packets. On
# this VM the inline layout gives the reference figures for iptables,
# nftables and xdp_drop within about 10 % (plain routing about 25 % lower).
# shellcheck disable=SC2154 # globals of fwd.sh
# shellcheck disable=SC2015 # "A && B || die" is meant: all of them, or die.

# cleanup: the EXIT trap of fwd.sh.
cleanup() {
	local rc=$? ns pid
	trap - EXIT INT TERM
	# A long step running in the background (bgrun): its timeout passes the
	# signal on to it.
	[ -z "$BG_PID" ] || { kill -TERM "$BG_PID" 2>/dev/null; wait "$BG_PID" 2>/dev/null; }
	if [ -n "$GEN_PID" ]; then
		kill -INT "$GEN_PID" 2>/dev/null
		sleep 0.2
		kill -KILL "$GEN_PID" 2>/dev/null
		wait "$GEN_PID" 2>/dev/null
	fi
	# Anything still running in our namespaces was started by us (trafgen,
	# a CLI call cut short by the watchdog).
	for ns in "$NS_CL" "$NS_NODE" "$NS_BE"; do
		[ -e "/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	# Deleting the namespaces removes the veths with their XDP and tc programs;
	# pinned links of canary-bpf go with the bpffs directory.
	for ns in "$NS_CL" "$NS_NODE" "$NS_BE"; do
		[ -e "/run/netns/$ns" ] && { ip netns del "$ns" 2>/dev/null || echo "fwd: cannot delete namespace $ns" >&2; }
	done
	[ -e "$PIN" ] && { rm -rf "$PIN" 2>/dev/null || echo "fwd: cannot remove $PIN" >&2; }
	[ -n "$WORK" ] && rm -rf "$WORK"
	[ $rc -eq 0 ] || echo "fwd: failed after $(($(date +%s) - T_START)) s; cleaned up" >&2
	exit $rc
}

# topo_build: the three namespaces, their veths and addresses, the counting
# program on the backend's eth0; sets CL_MAC, BE_MAC and IN_MAC.
topo_build() {
	local ns i d
	log "topology $TAG (layout $LAYOUT)"
	for ns in "$NS_CL" "$NS_NODE" "$NS_BE"; do
		run ip netns add "$ns"
		run ip -n "$ns" link set lo up
		run ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	done
	run ip -n "$NS_NODE" link add "$IF_IN" type veth peer name eth0 netns "$NS_CL"
	run ip -n "$NS_NODE" link add "$IF_OUT" type veth peer name eth0 netns "$NS_BE"
	run ip netns exec "$NS_NODE" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 "net.ipv4.conf.$IF_IN.rp_filter=0" "net.ipv4.conf.$IF_OUT.rp_filter=0"
	run ip -n "$NS_NODE" addr add 10.244.1.1/24 dev "$IF_IN"
	run ip -n "$NS_NODE" addr add 10.244.2.1/24 dev "$IF_OUT"
	run ip -n "$NS_CL" addr add 10.244.1.2/24 dev eth0
	for i in 2 3 4 5; do run ip -n "$NS_BE" addr add "10.244.2.$i/24" dev eth0; done
	for d in "$NS_NODE $IF_IN" "$NS_NODE $IF_OUT" "$NS_CL eth0" "$NS_BE eth0"; do
		# shellcheck disable=SC2086 # "NS IF"
		run ip -n ${d% *} link set ${d#* } up
	done
	run ip -n "$NS_CL" route add default via 10.244.1.1
	run ip -n "$NS_BE" route add default via 10.244.2.1
	# The random client sources live behind the client (unused: nothing answers).
	run ip -n "$NS_NODE" route add 10.244.64.0/18 via 10.244.1.2 dev "$IF_IN"
	CL_MAC=$(ip -n "$NS_CL" -j link show eth0 | jq -r '.[0].address')
	BE_MAC=$(ip -n "$NS_BE" -j link show eth0 | jq -r '.[0].address')
	IN_MAC=$(ip -n "$NS_NODE" -j link show "$IF_IN" | jq -r '.[0].address')
	[[ $CL_MAC =~ ^[0-9a-f:]{17}$ && $BE_MAC =~ ^[0-9a-f:]{17}$ && $IN_MAC =~ ^[0-9a-f:]{17}$ ]] ||
		die "cannot read the veth MAC addresses"
	for i in 2 3 4 5; do
		run ip -n "$NS_NODE" neigh replace "10.244.2.$i" lladdr "$BE_MAC" dev "$IF_OUT" nud permanent
	done
	run ip -n "$NS_NODE" neigh replace 10.244.1.2 lladdr "$CL_MAC" dev "$IF_IN" nud permanent
	# Senders compute checksums (native XDP needs complete packets, see README);
	# the client without TSO so that its frames are eligible for the node veth's
	# NAPI/GRO path (every case then enters the node the same way); GRO on the
	# backend so that its veth accepts XDP_REDIRECTed frames.
	run ip netns exec "$NS_CL" ethtool -K eth0 tx off tso off
	run ip netns exec "$NS_BE" ethtool -K eth0 tx off gro on
	run ip netns exec "$NS_NODE" ethtool -K "$IF_IN" gro on
	run ip netns exec "$NS_NODE" ethtool -K "$IF_OUT" tx off
	if [ "$LAYOUT" = split ]; then
		run ip netns exec "$NS_NODE" sh -c "echo 1 > /sys/class/net/$IF_IN/threaded"
	fi
	run inbe tc qdisc add dev eth0 clsact
	run inbe tc filter add dev eth0 ingress bpf direct-action object-pinned "$PIN/bench/progs/sink"
}

# The NAPI thread of the node's ingress veth to the node CPU (it may be
# recreated when an XDP program comes or goes: pinned again before each run).
pin_napi() {
	local pids pid
	[ "$LAYOUT" = split ] || return 0
	pids=$(ps -eo pid=,comm= | awk -v n="napi/$IF_IN-" 'index($2, n) == 1 { print $1 }')
	[ -n "$pids" ] || die "no NAPI thread napi/$IF_IN-* (threaded NAPI on the veth?)"
	for pid in $pids; do
		taskset -pc "$NODE_CPU" "$pid" >/dev/null || die "cannot pin NAPI thread $pid"
	done
	# shellcheck disable=SC2034 # read by snap (fwd_traffic.sh)
	NODE_TASKS="$pids $KSOFTIRQD"
}

# node_threads: the node's threads: its NAPI thread(s) and the node CPU's
# ksoftirqd (NET_RX work the kernel defers there). Their run time (schedstat,
# ns) is the node's CPU time whatever else runs on that CPU; the difference to
# the CPU's busy time is interference (another process on the node CPU).
# Sets KSOFTIRQD; pin_napi sets NODE_TASKS (the threads measured) from it.
node_threads() {
	KSOFTIRQD=$(ps -eo pid=,comm= | awk -v n="ksoftirqd/$NODE_CPU" '$2 == n { print $1 }')
	[ -n "$KSOFTIRQD" ] || die "no ksoftirqd/$NODE_CPU"
}
