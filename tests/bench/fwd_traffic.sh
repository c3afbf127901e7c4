# shellcheck shell=bash
# tests/bench/fwd.sh: the traffic side: the counting program and the trafgen
# preload (built at run time from fwd_count.bpf.c and fwd_sndbuf.c), trafgen
# configurations of the traffic mixes, snapshots of the counters and one
# measured run. Sourced; defines functions only.
#
# Delivered packets are counted by a tc ingress program on the backend's eth0
# (built from fwd_count.bpf.c at run time) that classifies each frame by its
# destination (a backend, a VIP, other; and per backend) and drops it: the
# backend's own stack never runs, so it does not cap the figure. Its place,
# tc ingress, is where every path has produced an skb in the backend's
# namespace: frames the node forwarded through its stack arrive as skbs;
# frames canary-bpf redirected with XDP arrive as XDP frames through the
# veth's NAPI (GRO is on there, so the veth accepts them) and become skbs
# first, a cost a pod's veth pays too. The xdp_drop reference counts with the
# same program's XDP variant on the node's ingress veth.
#
# trafgen wants a 4 MiB socket send buffer and gets it by raising the global
# net.core.wmem_default, which is read-only in a child namespace; with the
# default its TX_RING flush fails (EAGAIN, fatal for trafgen) as soon as
# frames queue at the node. A preload built at run time sets SO_SNDBUFFORCE on
# its packet sockets instead; nothing global is changed. "offered" is what
# the client's veth took or dropped (its ring to the node full).
#
# Traffic mixes (flows x traffic), 64-byte frames for UDP (60 on the veth, the
# FCS is not there), 54-byte TCP (no options; a NIC would pad to 60):
#   udp64   many    source address (10.244.64-127.x) and port random per
#                   packet: every packet is a new connection for conntrack
#                   and for canary-bpf (~1e9 tuples, repeats < 0.2 %).
#   udp64   single  one 5-tuple: one established flow (conntrack: unreplied
#                   but known, so NAT is not looked up again).
#   tcp_syn many    SYN with random source address/port: a new connection per
#                   packet (a SYN storm; conntrack creates SYN_SENT entries).
#   tcp_ack many    ACKs of 8,192 flows (source ports in turn): established
#                   flows. Netfilter picks each up on its first ACK
#                   (nf_conntrack_tcp_loose, the default; such entries are
#                   window-liberal, so later ACKs are valid); canary-bpf takes
#                   TCP state only from a SYN, so its flows get their
#                   handshakes first (bench_prog warm, through the pinned
#                   programs); after that every packet is a lookup hit in both.
#   tcp_ack single  ACKs of one flow: one established flow.
# A SYN first and then ACKs would not work for netfilter without the backend's
# SYN-ACK: an ACK in SYN_SENT is INVALID (and kube-proxy drops INVALID), so
# established TCP is modelled with loose pick-up, which is what conntrack does
# for a flow it meets mid-stream. Traffic is one way (the backends never
# answer): what is measured is the client->backend path that carries the load.
# Every run starts from empty connection tracking: conntrack is flushed
# (ctnetlink) before each netfilter run, canary-bpf's cb_ct and cb_rev are
# emptied (batch lookup-and-delete on the pinned maps) before each of its runs.
# The tables' sizes are the real ones (nf_conntrack_max, global: 262,144 here;
# canary-bpf's LRU maps: 262,144), so a new-connection run fills them within
# a second or two and then evicts (netfilter drops early an unassured entry,
# canary-bpf's LRU evicts the least recently used), as a node under a SYN
# flood would.
# shellcheck disable=SC2154 # globals of fwd.sh
# shellcheck disable=SC2015 # "A && B || die" is meant: all of them, or die.

# traffic_build: compile and pin the counting program (under $PIN/bench),
# build the trafgen preload, read canary-bpf's counter indices (sets
# CB_G_REDIRECT, CB_G_STACK). Into $WORK.
traffic_build() {
	local arch_inc
	arch_inc=/usr/include/$(uname -m)-linux-gnu
	run clang -O2 -g -target bpf -I"$arch_inc" -c "$HERE/fwd_count.bpf.c" -o "$WORK/sink.bpf.o"
	run mkdir -p "$PIN/bench"
	run bpftool prog loadall "$WORK/sink.bpf.o" "$PIN/bench/progs" pinmaps "$PIN/bench/maps"
	[ -e "$PIN/bench/progs/sink" ] && [ -e "$PIN/bench/progs/drop" ] && [ -e "$PIN/bench/maps/cnt" ] ||
		die "bpftool did not pin sink, drop and cnt under $PIN/bench"

	# trafgen gives its packet socket a 4 MiB send buffer by raising
	# net.core.wmem_default; in a child namespace that sysctl is read-only, and
	# with the 208 KiB default its TX_RING flush fails with EAGAIN (fatal for
	# trafgen) as soon as frames queue at the node. This preload does the same
	# for its AF_PACKET sockets with SO_SNDBUFFORCE, touching nothing global.
	run cc -O2 -shared -fPIC -o "$WORK/sndbuf.so" "$HERE/fwd_sndbuf.c" -ldl

	# Indices of canary-bpf's forwarding counters, from its own header.
	run cc -I"$REPO/include" -o "$WORK/gidx" "$HERE/fwd_gidx.c"
	read -r CB_G_REDIRECT CB_G_STACK < <("$WORK/gidx") && [ -n "$CB_G_STACK" ] || die "cannot read CB_G_FWD_* from canary_bpf.h"
}

# gen_cfg MIX FILE: trafgen packet configuration of a traffic mix.
gen_cfg() {
	local eth="eth(da=$IN_MAC, sa=$CL_MAC)" ip_new ip_one
	ip_new="ipv4(sa=10.244.64.1, sa[2]=drnd(64,127), sa[3]=drnd(1,254), da=$VIP, ttl=64, df)"
	ip_one="ipv4(sa=10.244.1.2, da=$VIP, ttl=64, df)"
	case $1 in
	udp64/many) echo "{ $eth, $ip_new, udp(sp=drnd(1024,65535), dp=80), fill(0x00, 18) }" ;;
	udp64/single) echo "{ $eth, $ip_one, udp(sp=40000, dp=80), fill(0x00, 18) }" ;;
	tcp_syn/many) echo "{ $eth, $ip_new, tcp(sp=drnd(1024,65535), dp=80, seq=drnd(), syn, win=64240) }" ;;
	tcp_ack/many) echo "{ $eth, $ip_one, tcp(sp=dinc(20000,$((20000 + POOL - 1))), dp=80, seq=1000, aseq=1, ack, win=502) }" ;;
	tcp_ack/single) echo "{ $eth, $ip_one, tcp(sp=40000, dp=80, seq=1000, aseq=1, ack, win=502) }" ;;
	*) die "unknown mix $1" ;;
	esac >"$2"
}

# snap: one line "t_ns node_busy node_all gen_busy gen_all cnt0..cnt8 tx_pkts
# tx_drop node_task_ns" (CPU in USER_HZ ticks; in the inline layout "node" is
# every CPU and there are no node threads).
snap() {
	local t c s t2
	t=$(date +%s%N)
	c=$(bpftool map dump pinned "$PIN/bench/maps/cnt" -j |
		jq -r '[.[] | ((.formatted // .).values | map(.value) | add)] | map(tostring) | join(" ")') ||
		die "cannot read the sink counters"
	s=$(awk -v n="cpu$NODE_CPU" -v g="cpu$GEN_CPU" -v l="$LAYOUT" '
		function b(i) { return $2 + $3 + $4 + $7 + $8 + $9 }
		function a(i) { return $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }
		($1 == n && l == "split") || ($1 == "cpu" && l == "inline") { nb = b(); na = a() }
		$1 == g { gb = b(); ga = a() }
		END { print nb, na, gb, ga }' /proc/stat)
	t2=$(ip -n "$NS_CL" -s -j link show eth0 | jq -r '.[0].stats64.tx | "\(.packets) \(.dropped)"') ||
		die "cannot read the client's tx counters"
	local pid r=0 x
	for pid in $NODE_TASKS; do
		read -r x _ <"/proc/$pid/schedstat" || die "NAPI thread $pid is gone"
		r=$((r + x))
	done
	echo "$t $s $c $t2 $r"
}

# cb_global: "redirected stack" totals of canary-bpf's global counters.
cb_global() {
	bpftool map dump pinned "$CBPIN/maps/cb_global" -j |
		jq -r '[.[] | ((.formatted // .).values | map(.value) | add)] | "\(.['"$CB_G_REDIRECT"']) \(.['"$CB_G_STACK"'])"' ||
		die "cannot read canary-bpf's cb_global"
}

# measure CASE SERVICES MIX: one run; appends a raw line to $WORK/raw.
measure() {
	local cs=$1 n=$2 mix=$3 s0 s1 left g0="" g1=""
	gen_cfg "$mix" "$WORK/gen.cfg"
	if [ "$cs" = iptables ] || [ "$cs" = nftables ]; then
		left=$(innode "$PY" "$HERE/fwd_ctflush.py") || die "conntrack flush failed"
		[ "${left:-0}" -lt 1000 ] || die "conntrack flush left $left entries"
	elif [ "${cs#cb_}" != "$cs" ] && [ -z "${FWD_KEEP_CT:-}" ]; then
		timeout 60 "$PY" "$HERE/fwd_mapclear.py" "$CBPIN/maps/cb_ct" "$CBPIN/maps/cb_rev" \
			"$CBPIN/maps/cb_pend" "$CBPIN/maps/cb_pend_rev" >/dev/null ||
			die "cannot empty canary-bpf's conntrack"
		# Established flows are those whose handshake completed (the
		# backends here never answer): their handshakes, through the programs.
		case $mix in
		tcp_ack/many) "$REPO/build/tests/bench_prog" warm "$CBPIN" "$VIP" 10.244.1.2 20000 "$POOL" ;;
		tcp_ack/single) "$REPO/build/tests/bench_prog" warm "$CBPIN" "$VIP" 10.244.1.2 40000 1 ;;
		esac >/dev/null || die "cannot establish the $mix flows in canary-bpf"
	fi
	pin_napi
	# trafgen would change net.core.*mem and IRQ affinities otherwise.
	# shellcheck disable=SC2086
	ip netns exec "$NS_CL" env LD_PRELOAD="$WORK/sndbuf.so" timeout -s INT -k 5 "$(awk -v w="$WARM" -v d="$DUR" 'BEGIN { print w + d + 20 }')" \
		trafgen -i "$WORK/gen.cfg" -o eth0 $TG_OPTS --no-sock-mem --notouch-irq --no-cpu-stats >"$WORK/trafgen.out" 2>&1 &
	GEN_PID=$!
	sleep "$WARM"
	kill -0 "$GEN_PID" 2>/dev/null || die "trafgen exited: $(tail -n 3 "$WORK/trafgen.out" | tr '\n' ' ')"
	[ "${cs#cb_}" = "$cs" ] || g0=$(cb_global)
	s0=$(snap)
	if [ -n "${FWD_PERF_DIR:-}" ]; then
		# Profiling (figures of a profiled run are not comparable): the
		# node CPU's samples over the window, with call graphs.
		timeout -k 5 $((${DUR%.*} + 30)) perf record -q -C "$NODE_CPU" -g \
			-o "$FWD_PERF_DIR/$cs-$n-${mix/\//-}.data" -- sleep "$DUR" >/dev/null 2>&1 ||
			die "perf record failed"
	else
		sleep "$DUR"
	fi
	s1=$(snap)
	[ -z "$g0" ] || g1=$(cb_global)
	kill -INT "$GEN_PID" 2>/dev/null
	wait "$GEN_PID" 2>/dev/null
	GEN_PID=""
	# canary-bpf's own forwarding counters: redirected by the program, or
	# handed to the stack after NAT (then the stack forwards it).
	local fr=0 fs=0
	if [ -n "$g0" ]; then
		fr=$((${g1% *} - ${g0% *}))
		fs=$((${g1#* } - ${g0#* }))
	fi
	echo "$cs $n ${mix%/*} ${mix#*/} $s0 $s1 $fr $fs" >>"$WORK/raw"
	# A quick look, for the log and to fail early on a broken path.
	if ! "$PY" "$HERE/fwd_peek.py" "$cs" "$s0" "$s1" >&2; then
		die "$cs $n $mix: nothing delivered; trafgen: $(tail -n 3 "$WORK/trafgen.out" | tr '\n' ' ')"
	fi
}
