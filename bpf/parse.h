/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Header parsing shared by every hook. Anything we cannot follow with
 * certainty is reported as a global counter index and passed untouched:
 * a packet we do not understand must never be rewritten.
 */
#ifndef CB_BPF_PARSE_H
#define CB_BPF_PARSE_H

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "canary_bpf.h"
#include "ctx.h"

/* Results that are not a global counter: what the core goes on with. */
#define CB_PARSE_OK   -1   /* TCP or UDP with its ports (maybe a first fragment) */
#define CB_PARSE_FRAG -2   /* a fragment after the first: addresses and IP id only */
#define CB_PARSE_ICMP -3   /* an ICMP error, whose quoted packet may be one of our flows */

#define CB_IP_MF     0x2000
#define CB_IP_OFFSET 0x1fff
#define CB_V6_EXT_MAX 4

#define CB_TCP_FIN 0x01
#define CB_TCP_SYN 0x02
#define CB_TCP_RST 0x04
#define CB_TCP_ACK 0x10

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif
#define CB_ICMP_DEST_UNREACH   3
#define CB_ICMP_TIME_EXCEEDED  11
#define CB_ICMP6_DEST_UNREACH  1
#define CB_ICMP6_PKT_TOOBIG    2
#define CB_ICMP6_TIME_EXCEED   3

#define CB_FRAG_NONE  0
#define CB_FRAG_FIRST 1    /* offset 0, more to come: carries the ports */
#define CB_FRAG_LATER 2    /* offset > 0: no L4 header */

struct cb_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct cb_pkt {
	union cb_addr saddr;
	union cb_addr daddr;
	__be16 sport;
	__be16 dport;
	__u16 l3_off;
	__u16 l4_off;
	__u16 l4_len;      /* L4 header + payload, from the IP length fields */
	__u8 family;       /* enum cb_family */
	__u8 proto;
	__u8 tcp_flags;
	__u8 vlan;         /* tagged: NAT but let the stack forward */
	__u8 ttl;          /* IPv4 TTL or IPv6 hop limit */
	__u8 csum_off;     /* L4 checksum offset inside the L4 header */
	__u8 l4_csum_zero; /* UDP sent without a checksum */
	__u16 payload_off; /* first byte after the L4 header */
	__u16 payload_len;
	__u32 tcp_seq;     /* host order */
	__u32 tcp_ack;     /* host order */
	__u8 frag;         /* CB_FRAG_* */
	__u8 pad[3];
	__u32 frag_id;     /* IPv4: the header's id (network order); IPv6: the fragment header's */
};

static __always_inline int cb_parse_l4(const struct cb_ctx *c, struct cb_pkt *p)
{
	void *data = cb_data(c), *end = cb_data_end(c);
	__u32 off = p->l4_off;

	/* Every byte the NAT may write must lie within the offsets XDP can reach. */
	if (off + sizeof(struct tcphdr) > CB_MAX_OFF)
		return CB_G_PASS_UNKNOWN;
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = data + off;

		if ((void *)(th + 1) > end)
			return CB_G_PASS_MALFORMED;
		if (th->doff < 5 || th->doff * 4 > p->l4_len)
			return CB_G_PASS_MALFORMED;
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		p->tcp_seq = bpf_ntohl(th->seq);
		p->tcp_ack = bpf_ntohl(th->ack_seq);
		p->csum_off = offsetof(struct tcphdr, check);
		p->payload_off = off + th->doff * 4;
		p->payload_len = p->l4_len - th->doff * 4;
		return CB_PARSE_OK;
	}
	if (p->proto == IPPROTO_UDP) {
		struct udphdr *uh = data + off;
		__u16 ulen;

		if ((void *)(uh + 1) > end)
			return CB_G_PASS_MALFORMED;
		ulen = bpf_ntohs(uh->len);
		/*
		 * The header within the IP datagram (a frame's trailer is no part
		 * of it); a first fragment holds only the start of what uh->len covers.
		 */
		if (p->l4_len < sizeof(*uh) || ulen < sizeof(*uh) ||
		    (ulen > p->l4_len && p->frag != CB_FRAG_FIRST))
			return CB_G_PASS_MALFORMED;
		if (ulen > p->l4_len)
			ulen = p->l4_len;
		p->sport = uh->source;
		p->dport = uh->dest;
		p->csum_off = offsetof(struct udphdr, check);
		p->l4_csum_zero = uh->check == 0;
		p->payload_off = off + sizeof(*uh);
		p->payload_len = ulen - sizeof(*uh);
		return CB_PARSE_OK;
	}
	return CB_G_PASS_UNKNOWN;
}

/* An ICMP error (the kinds a NATed flow must get back), or the pass it gets. */
static __always_inline int cb_parse_icmp(const struct cb_ctx *c, struct cb_pkt *p)
{
	__u8 *t = cb_data(c) + p->l4_off;

	if (p->l4_off > CB_MAX_OFF || (void *)(t + 8) > cb_data_end(c) || p->l4_len < 8)
		return CB_G_PASS_UNKNOWN;
	if (p->frag)
		return CB_G_PASS_FRAGMENT;
	if (p->proto == IPPROTO_ICMP && (t[0] == CB_ICMP_DEST_UNREACH || t[0] == CB_ICMP_TIME_EXCEEDED))
		return CB_PARSE_ICMP;
	if (p->proto == IPPROTO_ICMPV6 && (t[0] == CB_ICMP6_DEST_UNREACH ||
					   t[0] == CB_ICMP6_PKT_TOOBIG || t[0] == CB_ICMP6_TIME_EXCEED))
		return CB_PARSE_ICMP;
	return CB_G_PASS_UNKNOWN;
}

/* After the L3 header: ports, a fragment's bare addresses, or an ICMP error. */
static __always_inline int cb_parse_l3_done(const struct cb_ctx *c, struct cb_pkt *p)
{
	if (p->frag == CB_FRAG_LATER)
		return p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP ? CB_PARSE_FRAG
									 : CB_G_PASS_FRAGMENT;
	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6)
		return cb_parse_icmp(c, p);
	return cb_parse_l4(c, p);
}

#define CB_IPOPT_EOL   0
#define CB_IPOPT_NOP   1
#define CB_IPOPT_LSRR  131
#define CB_IPOPT_SSRR  137

/*
 * Walk the IPv4 options (len bytes, at most 40, at off): CB_PARSE_OK,
 * CB_G_PASS_UNKNOWN for a source route with a hop left (the final
 * destination is not daddr, as for an IPv6 routing header with segments
 * left), CB_G_PASS_MALFORMED for an option that does not fit.
 */
static __always_inline int cb_v4_opts_walk(void *data, void *end, __u32 off, __u32 len)
{
	__u32 k, skip = 0;

	if (off > CB_MAX_OFF)
		return CB_G_PASS_MALFORMED;
	/* One turn per byte, whatever the options: a few verifier states per turn. */
	for (k = 0; k < 40; k++) {
		__u8 *o = data + off + k;

		if (k >= len)
			break;
		if (skip) {
			skip--;
			continue;
		}
		if ((void *)(o + 1) > end)
			return CB_G_PASS_MALFORMED;
		if (o[0] == CB_IPOPT_EOL)
			break;
		if (o[0] == CB_IPOPT_NOP)
			continue;
		if ((void *)(o + 3) > end || o[1] < 2 || k + o[1] > len)
			return CB_G_PASS_MALFORMED;
		/* The pointer (1-based) is within the option: an address is still to visit. */
		if ((o[0] == CB_IPOPT_LSRR || o[0] == CB_IPOPT_SSRR) && o[2] <= o[1])
			return CB_G_PASS_UNKNOWN;
		skip = o[1] - 1;
	}
	return CB_PARSE_OK;
}

/*
 * Global functions, one per hook: the verifier checks each once on its own,
 * where an inlined loop would be walked again for every state of its callers
 * (13 times the load time).
 */
__noinline int cb_v4_opts_xdp(struct xdp_md *ctx, __u32 off, __u32 len)
{
	return cb_v4_opts_walk((void *)(long)ctx->data, (void *)(long)ctx->data_end, off, len);
}

__noinline int cb_v4_opts_tc(struct __sk_buff *skb, __u32 off, __u32 len)
{
	return cb_v4_opts_walk((void *)(long)skb->data, (void *)(long)skb->data_end, off, len);
}

static __always_inline int cb_parse_v4(const struct cb_ctx *c, struct cb_pkt *p, __u32 off)
{
	void *data = cb_data(c), *end = cb_data_end(c);
	struct iphdr *ip = data + off;
	__u32 hl, tot;

	if ((void *)(ip + 1) > end)
		return CB_G_PASS_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return CB_G_PASS_MALFORMED;
	hl = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if (tot < hl || off + tot > c->len)
		return CB_G_PASS_MALFORMED;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP &&
	    ip->protocol != IPPROTO_ICMP)
		return CB_G_PASS_UNKNOWN;
	if (ip->frag_off & bpf_htons(CB_IP_OFFSET))
		p->frag = CB_FRAG_LATER;
	else if (ip->frag_off & bpf_htons(CB_IP_MF))
		p->frag = CB_FRAG_FIRST;
	p->frag_id = ip->id;
	if (hl > sizeof(*ip)) {
		__u32 o = off + sizeof(*ip), n = hl - sizeof(*ip);
		int r = c->xdp ? cb_v4_opts_xdp(c->ctx, o, n) : cb_v4_opts_tc(c->ctx, o, n);

		if (r != CB_PARSE_OK)
			return r;
	}
	p->family = CB_AF_INET;
	p->proto = ip->protocol;
	p->ttl = ip->ttl;
	p->saddr.v4 = ip->saddr;
	p->daddr.v4 = ip->daddr;
	p->l3_off = off;
	p->l4_off = off + hl;
	p->l4_len = tot - hl;
	return cb_parse_l3_done(c, p);
}

static __always_inline int cb_parse_v6(const struct cb_ctx *c, struct cb_pkt *p, __u32 off)
{
	void *data = cb_data(c), *end = cb_data_end(c);
	struct ipv6hdr *ip6 = data + off;
	__u32 l4, plen;
	__u8 nh;
	int i;

	if ((void *)(ip6 + 1) > end)
		return CB_G_PASS_MALFORMED;
	if (ip6->version != 6)
		return CB_G_PASS_MALFORMED;
	plen = bpf_ntohs(ip6->payload_len);
	if (plen == 0 || off + sizeof(*ip6) + plen > c->len)   /* 0: jumbogram */
		return CB_G_PASS_MALFORMED;
	p->family = CB_AF_INET6;
	p->ttl = ip6->hop_limit;
	__builtin_memcpy(p->saddr.b, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr.b, &ip6->daddr, 16);
	p->l3_off = off;
	nh = ip6->nexthdr;
	l4 = off + sizeof(*ip6);

#pragma unroll
	for (i = 0; i < CB_V6_EXT_MAX; i++) {
		__u8 *eh;

		if (nh == IPPROTO_TCP || nh == IPPROTO_UDP || nh == IPPROTO_ICMPV6)
			break;
		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_DSTOPTS && nh != IPPROTO_ROUTING &&
		    nh != IPPROTO_FRAGMENT)
			return CB_G_PASS_UNKNOWN;
		if (l4 > CB_MAX_OFF)
			return CB_G_PASS_MALFORMED;
		eh = data + l4;
		if ((void *)(eh + 8) > end)
			return CB_G_PASS_MALFORMED;
		/* A routing header with segments left: the final destination is not daddr. */
		if (nh == IPPROTO_ROUTING && eh[3] != 0)
			return CB_G_PASS_UNKNOWN;
		if (nh == IPPROTO_FRAGMENT) {
			/* Offset in the upper 13 bits of bytes 2-3, M in the lowest bit. */
			if (p->frag)
				return CB_G_PASS_MALFORMED;   /* two fragment headers */
			p->frag = (eh[2] || (eh[3] & 0xf8)) ? CB_FRAG_LATER :
				  (eh[3] & 1) ? CB_FRAG_FIRST : CB_FRAG_NONE;
			__builtin_memcpy(&p->frag_id, eh + 4, 4);
			nh = eh[0];
			l4 += 8;
			if (p->frag == CB_FRAG_LATER)
				break;
			continue;
		}
		nh = eh[0];
		l4 += (eh[1] + 1) * 8;
	}
	if (nh != IPPROTO_TCP && nh != IPPROTO_UDP && nh != IPPROTO_ICMPV6)
		return CB_G_PASS_UNKNOWN;
	if (l4 > off + sizeof(*ip6) + plen)
		return CB_G_PASS_MALFORMED;
	p->proto = nh;
	p->l4_off = l4;
	p->l4_len = off + sizeof(*ip6) + plen - l4;
	return cb_parse_l3_done(c, p);
}

/* Fill p; return CB_PARSE_OK or the global counter that explains the pass. */
static __always_inline int cb_parse(const struct cb_ctx *c, struct cb_pkt *p)
{
	void *data = cb_data(c), *end = cb_data_end(c);
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	__be16 proto;
	int i;

	if ((void *)(eth + 1) > end)
		return CB_G_PASS_MALFORMED;
	proto = eth->h_proto;
	p->vlan = c->vlan_hw;

#pragma unroll
	for (i = 0; i < 2; i++) {   /* 802.1Q, and 802.1ad outer tag */
		struct cb_vlan_hdr *vh;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		vh = data + off;
		if ((void *)(vh + 1) > end)
			return CB_G_PASS_MALFORMED;
		proto = vh->proto;
		off += sizeof(*vh);
		p->vlan = 1;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return cb_parse_v4(c, p, off);
	if (proto == bpf_htons(ETH_P_IPV6))
		return cb_parse_v6(c, p, off);
	return CB_G_PASS_UNKNOWN;
}

#endif
