# shellcheck shell=bash
# e2e tests of a hostile, real network (tests/e2e/run.sh sources this file):
# floods from spoofed sources (trafgen), forged packets aimed at the
# evidence, a path MTU below the links' behind a router, UDP fragments,
# TTL 1, and an upgrade of the programs under load.
# shellcheck disable=SC2015 # "A && B || fail" is meant: all of them, or fail.
# shellcheck disable=SC2154,SC2034,SC2153 # variables shared with the runner

NETPROBE=$PWD/tests/e2e/netprobe.py

# trafgen_prep: the LD_PRELOAD that gives trafgen's packet sockets the send
# buffer it wants without changing a global sysctl (see tests/bench/fwd_traffic.sh).
trafgen_prep() {
	[ -x /usr/sbin/trafgen ] || fail "trafgen is missing (Debian package netsniff-ng)"
	[ -e "$WORK/sndbuf.so" ] ||
		cc -O2 -shared -fPIC -o "$WORK/sndbuf.so" tests/bench/fwd_sndbuf.c -ldl ||
		fail "cannot build the trafgen preload"
}

# trafgen_run NS CFG COUNT RATE: COUNT frames of CFG out of NS's eth0, paced.
trafgen_run() {
	local ns=$1 cfg=$2 n=$3 rate=$4
	timeout 120 ip netns exec "$ns" env LD_PRELOAD="$WORK/sndbuf.so" /usr/sbin/trafgen \
		-i "$cfg" -o eth0 -n "$n" -b "$rate" -P 1 --no-sock-mem --notouch-irq --no-cpu-stats \
		-q >>"$WORK/trafgen.out" 2>&1 || fail "trafgen $cfg: exit $?: $(tail -n 2 "$WORK/trafgen.out")"
}

# The Ethernet header from client 2 to the node.
cl2_eth() {
	local da sa
	da=$(ip -n "$LAB_NS_NODE" -j link show ncl2 | jget "$(cat)" 'd[0]["address"]')
	sa=$(ip -n "$LAB_NS_CL2" -j link show eth0 | jget "$(cat)" 'd[0]["address"]')
	echo "eth(da=$da, sa=$sa)"
}

# flood_cfg KIND FILE: trafgen frames from spoofed sources (10.244.x.y) to the VIP.
#   syn     SYNs, a new source per frame
#   synack  pairs: a SYN, then the "handshake's" ACK with a guessed number
#   ack     bare ACKs of no flow
#   udp     datagrams to the UDP service on port 53
flood_cfg() {
	local eth ip
	eth=$(cl2_eth)
	ip="ipv4(sa=10.244.0.1, sa[2]=dinc(0, 255), sa[3]=dinc(1, 254), da=$LAB_VIP4, ttl=64, df)"
	case $1 in
	syn) echo "{ $eth, $ip, tcp(sp=dinc(1024, 65535), dp=80, seq=drnd(), syn, win=64240) }" ;;
	synack) echo "{ $eth, $ip, tcp(sp=dinc(1024, 65535), dp=80, seq=1000, syn, win=64240) }"
		echo "{ $eth, $ip, tcp(sp=dinc(1024, 65535), dp=80, seq=1001, aseq=drnd(), ack, win=502) }" ;;
	ack) echo "{ $eth, $ip, tcp(sp=dinc(1024, 65535), dp=80, seq=drnd(), aseq=drnd(), ack, win=502) }" ;;
	udp) echo "{ $eth, $ip, udp(sp=dinc(1024, 65535), dp=53), fill(0x00, 18) }" ;;
	esac >"$2"
}

# evidence NAME: "connections resets_from_backend resets_from_client drops
# connect_failures" of both tracks, summed.
evidence() {
	cb -j stats "$1"
	jget "$CB_OUT" "tuple(sum(d[0]['tracks'][t].get(k, 0) for t in ('stable', 'canary'))
		for k in ('connections', 'resets_from_backend', 'resets_from_client', 'drops', 'connect_failures'))"
}

# 40 keep-alive connections opened at weight 0, the weight set to 100 %,
# then 1,000,000 flows each of SYNs, SYN+ACK pairs, bare ACKs and UDP from
# spoofed sources at 250 kpps: no keep-alive request fails or moves, and the
# floods make no connection.
test_flood_keeps_established() {
	local ka=$WORK/ka.json kind t0 t1 n cfg=$WORK/flood.cfg before after miss
	trafgen_prep
	attach_all xdp
	svc_web
	must service add h1 --vip "$LAB_VIP4" --port 53 --proto udp
	must backend add h1 stable 10.20.1.2:53
	must weight set web 0
	# Idle through the floods (a request at the start and 33 s later): an
	# entry a flood could evict is not refreshed meanwhile.
	bg_client "$LAB_NS_CL" "$ka" keepalive --addr "$LAB_VIP4" --port "$LAB_VIP_PORT" \
		-c 40 --duration-ms 40000 --interval-ms 33000
	sleep 1
	must weight set web 100
	before=$(evidence web)
	t0=$(date +%s%N)
	for kind in syn synack ack udp; do
		flood_cfg "$kind" "$cfg"
		n=1000000
		[ "$kind" = synack ] && n=2000000    # a pair per flow
		trafgen_run "$LAB_NS_CL2" "$cfg" "$n" 250000pps
	done
	t1=$(date +%s%N)
	echo "    floods: 5,000,000 frames (4,000,000 flows) in $(((t1 - t0) / 1000000)) ms"
	[ $(((t1 - t0) / 1000000)) -lt 31000 ] || fail "the floods outlasted the keep-alive client's idle time"
	wait "$BG_PID" || fail "keepalive client: exit $?"
	CL_OUT=$(cat "$ka")
	echo "    keep-alive: $CL_OUT"
	[ "$(jget "$CL_OUT" '(d["errors"], d["changed"], sum(v for k, v in d["backends"].items() if k.startswith("s")), d["requests"] >= 80)')" = \
		"0 0 40 True" ] || fail "keep-alive connections disturbed by the floods: $CL_OUT"
	after=$(evidence web)
	echo "    web evidence (connections resets_b resets_c drops failures): before $before, after $after"
	[ "$after" = "$before" ] || fail "the floods changed the evidence: $before -> $after"
	miss=$(dp_counter CT_MISS)
	# (Frames the node's veth ring had no room for never reach the datapath.)
	echo "    conntrack misses (bare ACKs and evicted pairs' ACKs, passed untouched): $miss"
	[ "$miss" -ge 500000 ] 2>/dev/null || fail "the bare ACKs were not counted as misses: $miss"
	must service del h1
	must service del web
}

# forged_cfg KIND FILE: frames nobody's handshake stands behind.
forged_cfg() {
	local eth ip
	eth=$(cl2_eth)
	ip="ipv4(sa=10.244.0.1, sa[2]=dinc(0, 255), sa[3]=dinc(1, 254), da=$LAB_VIP4, ttl=64, df)"
	case $1 in
	ack) echo "{ $eth, $ip, tcp(sp=dinc(1024, 65535), dp=80, seq=drnd(), aseq=drnd(), ack, win=502) }" ;;
	rst) echo "{ $eth, $ip, tcp(sp=dinc(1024, 65535), dp=80, seq=drnd(), rst, win=0) }" ;;
	backend_rst) echo "{ $eth, ipv4(sa=10.20.5.2, da=10.10.1.2, ttl=64, df), tcp(sp=8080, dp=dinc(1024, 65535), seq=drnd(), aseq=drnd(), rst, ack, win=0) }" ;;
	bad_syn) echo "{ $eth, ipv4(sa=10.244.1.1, sa[3]=dinc(1, 150), da=$LAB_VIP4, ttl=64, df), tcp(sp=dinc(2000, 2001), dp=80, seq=7, syn, win=64240, csum=0xbad) }" ;;
	esac >"$2"
}

# A client that forges 1,000 bare ACKs, 1,000 bare RSTs, 1,000 RSTs as from
# the canary backend and 2 x 300 SYNs with a bad TCP checksum changes none of
# the counters rollbacks are judged on.
test_forged_packets_change_no_evidence() {
	local cfg=$WORK/forged.cfg before after kind n
	trafgen_prep
	attach_all xdp
	svc_web
	must weight set web 50
	conns "$LAB_NS_CL" "$LAB_VIP4" "$LAB_VIP_PORT" 20     # some real evidence first
	before=$(evidence web)
	for kind in ack rst backend_rst bad_syn; do
		forged_cfg "$kind" "$cfg"
		n=1000
		[ "$kind" = bad_syn ] && n=600      # 300 tuples, each twice
		trafgen_run "$LAB_NS_CL2" "$cfg" "$n" 20000pps
	done
	sleep 0.5
	after=$(evidence web)
	echo "    web evidence (connections resets_b resets_c drops failures): before $before, after $after"
	[ "$after" = "$before" ] || fail "forged packets changed the evidence: $before -> $after"
	must service del web
}

# pmtu_lab: a router namespace between a far client and the node, whose link
# toward the client has an MTU of 1280; the client advertises the MSS of a
# 1500-byte link (as one behind a VPN or a tunnel does). Removed at the end.
pmtu_lab() {
	local rt=$LAB-rt far=$LAB-far
	on_exit "ip netns del $rt 2>/dev/null; ip netns del $far 2>/dev/null; ip -n $LAB_NS_NODE link del nrt 2>/dev/null"
	ip netns add "$rt" && ip netns add "$far" &&
		ip -n "$rt" link set lo up && ip -n "$far" link set lo up &&
		ip -n "$LAB_NS_NODE" link add nrt type veth peer name eth0 netns "$rt" &&
		ip -n "$rt" link add eth1 type veth peer name eth0 netns "$far" &&
		ip -n "$LAB_NS_NODE" addr add 10.30.1.1/24 dev nrt &&
		ip -n "$LAB_NS_NODE" -6 addr add fd30:1::1/64 dev nrt nodad &&
		ip -n "$LAB_NS_NODE" link set nrt up &&
		ip -n "$rt" addr add 10.30.1.2/24 dev eth0 && ip -n "$rt" -6 addr add fd30:1::2/64 dev eth0 nodad &&
		ip -n "$rt" addr add 10.30.2.1/24 dev eth1 && ip -n "$rt" -6 addr add fd30:2::1/64 dev eth1 nodad &&
		ip -n "$rt" link set eth1 mtu 1280 && ip -n "$far" link set eth0 mtu 1280 &&
		ip -n "$rt" link set eth0 up && ip -n "$rt" link set eth1 up &&
		ip -n "$far" addr add 10.30.2.2/24 dev eth0 && ip -n "$far" -6 addr add fd30:2::2/64 dev eth0 nodad &&
		ip -n "$far" link set eth0 up &&
		ip -n "$far" route add default via 10.30.2.1 advmss 1460 &&
		ip -n "$far" -6 route add default via fd30:2::1 advmss 1440 &&
		ip -n "$rt" route add default via 10.30.1.1 && ip -n "$rt" -6 route add default via fd30:1::1 &&
		ip netns exec "$rt" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 &&
		ip -n "$LAB_NS_NODE" route add 10.30.2.0/24 via 10.30.1.2 &&
		ip -n "$LAB_NS_NODE" -6 route add fd30:2::/64 via fd30:1::2 &&
		ip netns exec "$LAB_NS_NODE" sysctl -qw net.ipv4.conf.nrt.rp_filter=0 &&
		ip netns exec "$rt" ethtool -K eth0 gro on tx off >/dev/null &&
		ip netns exec "$far" ethtool -K eth0 tx off >/dev/null ||
		fail "cannot build the router lab"
}

# download NS URL: curl's "bytes seconds" of URL from NS, 10 s at most.
download() {
	timeout 15 ip netns exec "$1" curl -s -g -o /dev/null -m 10 -w '%{size_download} %{time_total}' "$2"
}

# A client behind a 1280-byte hop downloads 300 KB through the VIP, IPv4 and
# IPv6: the hop's "fragmentation needed" / "packet too big", sent to the VIP,
# reaches the backend translated, and the download completes as directly.
test_pmtu_download_through_vip() {
	local got vip url n ns
	pmtu_lab
	attach_all xdp
	echo nrt >>"$WORK/attached"
	must attach nrt --mode xdp
	svc_web
	must service add web6 --vip "$LAB_VIP6" --port "$LAB_VIP_PORT" --proto tcp
	for b in $LAB_STABLE6; do must backend add web6 stable "$b"; done
	# Through the VIP first, and every backend's learned path MTUs flushed
	# before each download: none may ride on what a direct download taught.
	for vip in "$LAB_VIP4" "[$LAB_VIP6]" 10.20.1.2:8080 "[fd20:1::2]:8080"; do
		url="http://$vip/big"
		for ns in "$LAB_NS_S1" "$LAB_NS_S2" "$LAB_NS_S3" "$LAB_NS_S4"; do
			ip -n "$ns" route flush cache && ip -n "$ns" -6 route flush cache ||
				fail "cannot flush the route cache of $ns"
		done
		got=$(download "$LAB-far" "$url")
		echo "    $url across the 1280-byte hop: ${got% *} bytes in ${got#* } s"
		[ "${got% *}" = 307200 ] || fail "download of $url across the 1280-byte hop: $got"
	done
	n=$(dp_counter ICMP_NAT)
	echo "    ICMP errors translated: $n"
	[ "$n" -gt 0 ] 2>/dev/null || fail "no ICMP error was translated: $n"
	must service del web6
	must service del web
}

# udp_fragments MODE FAMILY: 20 requests of 3000 bytes, each answered with
# 3000 bytes, through a UDP service: both directions fragmented on the lab's
# 1500-byte links. The client's socket is connected to VIP:port, so a reply
# that left with the backend's address would never reach it.
udp_fragments() {
	local mode=$1 fam=$2 vip be name=h2 out pid
	[ "$fam" = 4 ] && vip=$LAB_VIP4 be=10.20.1.2 || { vip=$LAB_VIP6 be=fd20:1::2; name=h3; }
	ip netns exec "$LAB_NS_S1" python3 "$NETPROBE" udp-server "$be" 5300 3000 s1 >"$WORK/udp.$fam" 2>&1 &
	pid=$!
	on_exit "kill $pid 2>/dev/null"
	for _ in $(seq 1 50); do grep -q ready "$WORK/udp.$fam" && break; sleep 0.1; done
	must service add "$name" --vip "$vip" --port 5300 --proto udp
	must backend add "$name" stable "$([ "$fam" = 4 ] && echo "$be" || echo "[$be]"):5300"
	out=$(timeout 60 ip netns exec "$LAB_NS_CL" python3 "$NETPROBE" udp-ask "$vip" 5300 3000 20)
	echo "    $mode IPv$fam, 3000-byte request and reply: $out"
	[ "$(jget "$out" '(d["ok"], d["backends"], d["sizes"])')" = '20 {"s1": 20} {"3000": 20}' ] ||
		fail "$mode IPv$fam: 3000-byte UDP through the VIP: $out"
	must service del "$name"
	kill "$pid" 2>/dev/null
}

test_udp_fragments_both_modes() {
	local mode
	for mode in xdp tc; do
		attach_all "$mode"
		udp_fragments "$mode" 4
		udp_fragments "$mode" 6
		detach_all
	done
}

# TTL / hop limit 1 toward the VIP: the node's ICMP error quotes the VIP,
# never a backend's address.
test_ttl1_quotes_vip() {
	local vip out
	attach_all xdp
	svc_web
	must service add web6 --vip "$LAB_VIP6" --port "$LAB_VIP_PORT" --proto tcp
	for b in $LAB_STABLE6; do must backend add web6 stable "$b"; done
	for vip in "$LAB_VIP4" "$LAB_VIP6"; do
		# The node's stack rate-limits its ICMP errors (icmp_ratelimit, a token a
		# second): an earlier test may have spent them; three tries, a second apart.
		for _ in 1 2 3; do
			out=$(timeout 10 ip netns exec "$LAB_NS_CL" python3 "$NETPROBE" ttl1 "$vip" 80)
			[ "$(jget "$out" 'd["from"] is not None')" = True ] && break
			sleep 1
		done
		echo "    SYN with TTL 1 to $vip: $out"
		[ "$(jget "$out" '(d["quoted_dst"], d["quoted_dport"])')" = "$vip 80" ] ||
			fail "the error about a TTL-1 SYN to $vip does not quote the VIP: $out"
	done
	must service del web6
	must service del web
}

# prog_ids: "IFACE:HOOK:ID ..." of every program attached in the node.
prog_ids() {
	node bpftool -j net show | jget "$(cat)" "' '.join(sorted(
		f\"{e.get('devname')}:{k}:{p.get('id')}\" for s in d for k in ('xdp', 'tc') for e in s.get(k, [])
		for p in (e.get('multi_attachments') or [e]) if p.get('id')))"
}

# A newer build of the same layout (build/next) takes over every hook in
# place, XDP links and tc filters, while 40 keep-alive connections and 100
# new connections a second run: no client error, no connection moved.
test_upgrade_under_load() {
	local next=$PWD/build/next/canary-bpf ka=$WORK/ka.json rate=$WORK/rate.json before after out i
	[ -x "$next" ] || fail "$next is missing (make $next)"
	for i in "${NODE_IFS[@]}"; do
		echo "$i" >>"$WORK/attached"
		must attach "$i" --mode "$([ "$i" = ncl2 ] && echo tc || echo xdp)"
	done
	svc_web
	must weight set web 50
	before=$(prog_ids)
	bg_client "$LAB_NS_CL" "$ka" keepalive --addr "$LAB_VIP4" --port "$LAB_VIP_PORT" \
		-c 40 --duration-ms 6000 --interval-ms 20
	local ka_pid=$BG_PID
	bg_client "$LAB_NS_CL2" "$rate" rate --addr "$LAB_VIP4" --port "$LAB_VIP_PORT" --rate 100 \
		--duration-ms 6000
	sleep 2
	out=$(node "$next" -p "$PIN" attach ncl --mode xdp 2>&1) || fail "upgrade: $out"
	echo "    $out"
	# 7 interfaces: tc egress on each, an XDP link on 6, tc ingress on ncl2.
	grep -q "upgraded in place on 14 hooks" <<<"$out" || fail "upgrade did not switch 14 hooks: $out"
	after=$(prog_ids)
	echo "    programs before: $before"
	echo "    programs after:  $after"
	[ "$(wc -w <<<"$after")" = "$(wc -w <<<"$before")" ] || fail "hooks lost in the upgrade"
	for i in $after; do
		! grep -qw -- "$i" <<<"$before" || fail "hook $i still runs its old program"
	done
	out=$(node "$next" -p "$PIN" attach ncl --mode xdp 2>&1)
	! grep -q upgraded <<<"$out" || fail "a second run upgraded again: $out"
	wait "$ka_pid" || fail "keepalive client: exit $?"
	wait "$BG_PID" || fail "rate client: exit $?"
	echo "    keep-alive: $(cat "$ka")"
	echo "    new connections: $(cat "$rate")"
	[ "$(jget "$(cat "$ka")" '(d["errors"], d["changed"])')" = "0 0" ] ||
		fail "keep-alive connections disturbed by the upgrade: $(cat "$ka")"
	[ "$(jget "$(cat "$rate")" '(d["errors"], d["ok"] > 400)')" = "0 True" ] ||
		fail "new connections failed during the upgrade: $(cat "$rate")"
	must service del web
}

HOSTILE_TESTS=(test_flood_keeps_established test_forged_packets_change_no_evidence
	test_pmtu_download_through_vip test_udp_fragments_both_modes test_ttl1_quotes_vip
	test_upgrade_under_load)
