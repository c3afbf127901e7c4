// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The baseline of `bench_prog prog`: the least a packet program must do to
 * know a flow, i.e. parse Ethernet, IPv4 or IPv6 and the TCP/UDP ports with
 * bounds checks, then pass the packet. The datapath's cost is reported as a
 * multiple of this.
 *
 * The ports are stored in a global (one store, no helper call): a parse whose
 * result is unused would let the compiler drop the loads it measures, and the
 * benchmark reads it back to check that every baseline run reached L4.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* (sport << 16 | dport) in host order of the last packet parsed to L4, else untouched. */
__u32 bench_ports;

static __always_inline int parse_ports(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct udphdr *l4;   /* TCP and UDP both start with the two ports */
	__u8 proto;

	if ((void *)(eth + 1) > end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->ihl < 5)
			return -1;
		proto = ip->protocol;
		l4 = (void *)ip + ip->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return -1;
		proto = ip6->nexthdr;
		l4 = (void *)(ip6 + 1);
	} else {
		return -1;
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return -1;
	if ((void *)(l4 + 1) > end)
		return -1;
	bench_ports = (__u32)bpf_ntohs(l4->source) << 16 | bpf_ntohs(l4->dest);
	return 0;
}

SEC("xdp")
int bench_min_xdp(struct xdp_md *ctx)
{
	parse_ports((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	return XDP_PASS;
}

/* The same on tc, the baseline of the datapath's tc egress (reverse NAT) program. */
SEC("tc")
int bench_min_tc(struct __sk_buff *skb)
{
	parse_ports((void *)(long)skb->data, (void *)(long)skb->data_end);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
