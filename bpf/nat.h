/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Address/port rewrites with incremental checksum updates (RFC 1624). */
#ifndef CB_BPF_NAT_H
#define CB_BPF_NAT_H

#include "parse.h"

/*
 * What bpf_csum_diff() computes for one 32-bit word, without the helper
 * call (a sixth of an established packet's cost): the ones' complement sum
 * of ~from and to. IPv6 addresses keep the helper: inlining four words
 * pushes the core past the 512-byte stack in spills.
 */
static __always_inline __u32 cb_csum_fold32(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	return (__u32)s;
}

static __always_inline __u32 cb_csum_diff4(__u32 from, __u32 to)
{
	return cb_csum_fold32((__u64)(__u32)~from + to);
}

/*
 * Replace the destination (dst = 1: DNAT to a backend) or the source
 * (dst = 0: reverse NAT back to VIP:port) address and port of p.
 */
static __always_inline int cb_rewrite(const struct cb_ctx *c, struct cb_pkt *p, const int dst,
				      union cb_addr *na, __be16 nport)
{
	union cb_addr *oa = dst ? &p->daddr : &p->saddr;
	__u32 oport = dst ? p->dport : p->sport;
	__u32 np = nport;
	__u32 csum_off = p->l4_off + p->csum_off;
	__u32 l4flags = p->proto == IPPROTO_UDP ? CB_CSUM_MANGLED0 : 0;
	__u32 port_off = p->l4_off + (dst ? 2 : 0);
	__u32 d_addr, d_port;

	d_port = cb_csum_diff4(oport, np);
	if (p->family == CB_AF_INET) {
		__u32 aoff = p->l3_off + (dst ? offsetof(struct iphdr, daddr)
					      : offsetof(struct iphdr, saddr));

		d_addr = cb_csum_diff4(oa->v4, na->v4);
		if (cb_csum_apply(c, p->l3_off + offsetof(struct iphdr, check), d_addr, CB_CSUM_L3))
			return -1;
		if (cb_csum_apply(c, csum_off, d_addr, l4flags | CB_CSUM_PSEUDO))
			return -1;
		if (cb_store(c, aoff, &na->v4, 4, 0))
			return -1;
	} else {
		__u32 aoff = p->l3_off + (dst ? offsetof(struct ipv6hdr, daddr)
					      : offsetof(struct ipv6hdr, saddr));

		d_addr = (__u32)bpf_csum_diff(oa->v6, 16, na->v6, 16, 0);
		if (cb_csum_apply(c, csum_off, d_addr, l4flags | CB_CSUM_PSEUDO))
			return -1;
		/* No IPv6 header checksum absorbs this change: skb->csum must. */
		if (cb_store(c, aoff, na->b, 16, CB_STORE_RECOMPUTE))
			return -1;
	}
	if (cb_csum_apply(c, csum_off, d_port, l4flags))
		return -1;
	if (cb_store(c, port_off, &nport, 2, p->l4_csum_zero ? CB_STORE_RECOMPUTE : 0))
		return -1;
	*oa = *na;
	if (dst)
		p->dport = nport;
	else
		p->sport = nport;
	return 0;
}

/*
 * Only the address (a fragment after the first has no L4 header; its
 * datagram's L4 checksum was fixed in the first fragment).
 */
static __always_inline int cb_rewrite_addr(const struct cb_ctx *c, struct cb_pkt *p, const int dst,
					   union cb_addr *na)
{
	union cb_addr *oa = dst ? &p->daddr : &p->saddr;

	if (p->family == CB_AF_INET) {
		__u32 aoff = p->l3_off + (dst ? offsetof(struct iphdr, daddr)
					      : offsetof(struct iphdr, saddr));

		if (cb_csum_apply(c, p->l3_off + offsetof(struct iphdr, check),
				  cb_csum_diff4(oa->v4, na->v4), CB_CSUM_L3) ||
		    cb_store(c, aoff, &na->v4, 4, 0))
			return -1;
	} else if (cb_store(c, p->l3_off + (dst ? offsetof(struct ipv6hdr, daddr)
					     : offsetof(struct ipv6hdr, saddr)),
			    na->b, 16, CB_STORE_RECOMPUTE)) {
		return -1;
	}
	*oa = *na;
	return 0;
}

/* What a router does to a packet it forwards itself: TTL / hop limit - 1. */
static __always_inline int cb_dec_ttl(const struct cb_ctx *c, struct cb_pkt *p)
{
	__u8 ttl = p->ttl - 1;

	if (p->family == CB_AF_INET) {
		/* TTL shares a 16-bit checksum word with the protocol byte. */
		__u32 o = p->ttl | ((__u32)p->proto << 8), n = ttl | ((__u32)p->proto << 8);
		__u32 d = cb_csum_diff4(o, n);

		if (cb_csum_apply(c, p->l3_off + offsetof(struct iphdr, check), d, CB_CSUM_L3))
			return -1;
		if (cb_store(c, p->l3_off + offsetof(struct iphdr, ttl), &ttl, 1, 0))
			return -1;
	} else if (cb_store(c, p->l3_off + offsetof(struct ipv6hdr, hop_limit), &ttl, 1,
			    CB_STORE_RECOMPUTE)) {
		return -1;
	}
	p->ttl = ttl;
	return 0;
}

#endif
