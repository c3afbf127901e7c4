/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ICMP errors about a NATed flow, IPv4 and IPv6, both ways. The quoted
 * packet names the flow:
 *
 *  - an error sent to a VIP quotes a reply we sent as VIP:port (a hop
 *    toward the client says "fragmentation needed" / "packet too big"):
 *    it goes to the backend, quoting what the backend sent;
 *  - an error from the backend's side quotes a request as the backend got
 *    it: it goes to the client, quoting what the client sent, and from the
 *    VIP if the backend itself sent it.
 *
 * Every rewritten field is stored as bytes and every checksum it is under
 * (outer IPv4, quoted IPv4 and TCP/UDP when quoted whole enough, the ICMP
 * checksum over all of it and, for ICMPv6, the outer pseudo-header) is
 * updated by arithmetic. The bytes of the packet then sum as before, so an
 * skb's CHECKSUM_COMPLETE sum stays right without a helper.
 */
#ifndef CB_BPF_ICMP_H
#define CB_BPF_ICMP_H

#include "flow.h"
#include "nat.h"

/* Where the parts of an ICMP error lie, and the quoted flow. */
struct cb_icmp {
	__u32 icmp_off;       /* ICMP header */
	__u32 in_l3;          /* quoted IP header */
	__u32 in_l4;          /* quoted TCP/UDP header */
	__u32 msg_end;        /* end of the IP datagram: a frame's trailer is no part of the message */
	__u8 in_proto;
	union cb_addr in_saddr, in_daddr;
	__be16 in_sport, in_dport;
};

/* The quoted packet: an IP header (no extension headers) and at least its two ports. */
static __always_inline int cb_icmp_quote(const struct cb_ctx *c, const struct cb_pkt *p,
					 struct cb_icmp *q)
{
	__u8 *l4;

	q->icmp_off = p->l4_off;
	q->in_l3 = p->l4_off + 8;
	q->msg_end = p->l4_off + p->l4_len;
	if (p->family == CB_AF_INET) {
		struct iphdr *ip = cb_xdp_ptr(c, q->in_l3, sizeof(*ip));

		if (!ip || ip->version != 4 || ip->ihl < 5 || (ip->frag_off & bpf_htons(CB_IP_OFFSET)))
			return -1;
		q->in_proto = ip->protocol;
		q->in_saddr.v4 = ip->saddr;
		q->in_daddr.v4 = ip->daddr;
		q->in_l4 = q->in_l3 + ip->ihl * 4;
	} else {
		struct ipv6hdr *ip6 = cb_xdp_ptr(c, q->in_l3, sizeof(*ip6));

		if (!ip6 || ip6->version != 6)
			return -1;
		q->in_proto = ip6->nexthdr;
		__builtin_memcpy(q->in_saddr.b, &ip6->saddr, 16);
		__builtin_memcpy(q->in_daddr.b, &ip6->daddr, 16);
		q->in_l4 = q->in_l3 + sizeof(*ip6);
	}
	if (q->in_proto != IPPROTO_TCP && q->in_proto != IPPROTO_UDP)
		return -1;
	/*
	 * Everything the rewrite touches within reach (the quoted header up to
	 * its L4 checksum): a quote deeper than that passes as it came.
	 */
	l4 = cb_xdp_ptr(c, q->in_l4, 4);
	if (!l4 || q->in_l4 + 4 > q->msg_end || q->in_l4 + 20 > CB_MAX_OFF)
		return -1;
	__builtin_memcpy(&q->in_sport, l4, 2);
	__builtin_memcpy(&q->in_dport, l4 + 2, 2);
	return 0;
}

/*
 * Add diff to the 16-bit checksum at off (when it lies in the message, end
 * its end); returns its own change.
 */
static __always_inline __u32 cb_icmp_fix(const struct cb_ctx *c, __u32 off, __u32 end, __u32 diff,
					 int udp)
{
	__u16 *f = cb_xdp_ptr(c, off, 2), old, nw;

	if (!f || off + 2 > end)
		return 0;
	old = *f;
	if (udp && old == 0)
		return 0;   /* an IPv4 UDP datagram sent without a checksum */
	nw = cb_csum_fold((__u64)diff + (__u32)~(__u32)old);
	if (udp && nw == 0)
		nw = 0xffff;
	if (cb_store(c, off, &nw, 2, 0))
		return 0;
	return cb_csum_diff4(old, nw);
}

/* Store an address (4 or 16 bytes) at off; returns the checksum difference. */
static __always_inline __u32 cb_icmp_addr(const struct cb_ctx *c, __u32 off, const union cb_addr *from,
					  union cb_addr *to, int v4)
{
	if (v4) {
		if (cb_store(c, off, &to->v4, 4, 0))
			return 0;
		return cb_csum_diff4(from->v4, to->v4);
	}
	if (cb_store(c, off, to->b, 16, 0))
		return 0;
	return (__u32)bpf_csum_diff((__be32 *)from->v6, 16, to->v6, 16, 0);
}

/*
 * Rewrite the quoted packet's source (src = 1) or destination address and
 * port, then every checksum above them; outer = 1 rewrites the outer
 * destination (src = 1) or source the same way first.
 */
static __always_inline int cb_icmp_rewrite(const struct cb_ctx *c, const struct cb_pkt *p,
					   const struct cb_icmp *q, int src, union cb_addr *na,
					   __be16 nport, int outer)
{
	int v4 = p->family == CB_AF_INET, udp = q->in_proto == IPPROTO_UDP;
	__u32 d_outer = 0, d_addr, d_port, d_msg, csum_l4;
	const union cb_addr *oa = src ? &q->in_saddr : &q->in_daddr;
	__be16 oport = src ? q->in_sport : q->in_dport;

	if (outer) {
		__u32 off = p->l3_off + (v4 ? (src ? offsetof(struct iphdr, daddr) : offsetof(struct iphdr, saddr))
					 : (src ? offsetof(struct ipv6hdr, daddr) : offsetof(struct ipv6hdr, saddr)));
		const union cb_addr *old = src ? &p->daddr : &p->saddr;

		d_outer = cb_icmp_addr(c, off, old, na, v4);
		if (v4)
			cb_icmp_fix(c, p->l3_off + offsetof(struct iphdr, check), q->msg_end, d_outer, 0);
	}
	/* The quoted addresses and port, and the checksums that cover them. */
	d_addr = cb_icmp_addr(c, q->in_l3 + (v4 ? (src ? offsetof(struct iphdr, saddr) : offsetof(struct iphdr, daddr))
					     : (src ? offsetof(struct ipv6hdr, saddr) : offsetof(struct ipv6hdr, daddr))),
			      oa, na, v4);
	if (cb_store(c, q->in_l4 + (src ? 0 : 2), &nport, 2, 0))
		return -1;
	d_port = cb_csum_diff4(oport, nport);
	d_msg = cb_csum_fold32((__u64)d_addr + d_port);
	if (v4)
		d_msg = cb_csum_fold32((__u64)d_msg +
				       cb_icmp_fix(c, q->in_l3 + offsetof(struct iphdr, check), q->msg_end,
						   d_addr, 0));
	csum_l4 = q->in_l4 + (udp ? offsetof(struct udphdr, check) : offsetof(struct tcphdr, check));
	d_msg = cb_csum_fold32((__u64)d_msg + cb_icmp_fix(c, csum_l4, q->msg_end,
							   cb_csum_fold32((__u64)d_addr + d_port), udp));
	/* ICMPv6 sums the outer addresses too (its pseudo-header); ICMPv4 only the message. */
	if (!v4)
		d_msg = cb_csum_fold32((__u64)d_msg + d_outer);
	cb_icmp_fix(c, q->icmp_off + 2, q->msg_end, d_msg, 0);
	return 0;
}

/* An ICMP error that is about one of our flows, translated; any other passes as before. */
static __always_inline int cb_icmp_in(const struct cb_ctx *c, struct cb_pctx *x)
{
	struct cb_pkt *p = &x->p;
	struct cb_ct_key k = {};
	struct cb_pend_entry *pend;
	struct cb_rev_entry *rev;
	struct cb_ct_entry *ct;
	struct cb_icmp q = {};

	if (cb_icmp_quote(c, p, &q)) {
		cb_count(CB_G_PASS_UNKNOWN);
		return CB_ACT_PASS;
	}
	/* About a reply of ours (VIP:port -> client): the client -> VIP flow. */
	k.saddr = q.in_daddr;
	k.daddr = q.in_saddr;
	k.sport = q.in_dport;
	k.dport = q.in_sport;
	k.proto = q.in_proto;
	k.family = p->family;
	if (!c->egress) {
		ct = bpf_map_lookup_elem(&cb_ct, &k);
		if (!ct) {
			pend = bpf_map_lookup_elem(&cb_pend, &k);
			ct = pend ? &pend->ct : NULL;
		}
		if (ct) {
			union cb_addr ba = ct->baddr;

			if (cb_icmp_rewrite(c, p, &q, 1, &ba, ct->bport, cb_addr_eq(&p->daddr, &q.in_saddr)))
				return CB_ACT_DROP;
			cb_count(CB_G_ICMP_NAT);
			p->daddr = ba;
			p->sport = p->dport = 0;
			return cb_deliver(c, p, cb_track_stats(ct->svc_id, ct->track), NULL,
					  bpf_ktime_get_coarse_ns());
		}
	}
	/* About a request as the backend got it (client -> backend): its reply entry. */
	k.saddr = q.in_daddr;
	k.daddr = q.in_saddr;
	k.sport = q.in_dport;
	k.dport = q.in_sport;
	rev = cb_rev_find(&k, &pend);
	if (rev) {
		union cb_addr vip = rev->vip;
		int from_backend = cb_addr_eq(&p->saddr, &q.in_daddr);

		if (cb_icmp_rewrite(c, p, &q, 0, &vip, rev->vport, from_backend))
			return CB_ACT_DROP;
		cb_count(CB_G_ICMP_NAT);
		if (from_backend)
			p->saddr = vip;
		p->sport = p->dport = 0;
		return cb_deliver(c, p, cb_track_stats(rev->svc_id, rev->track), NULL,
				  c->egress ? 0 : bpf_ktime_get_coarse_ns());
	}
	cb_count(CB_G_PASS_UNKNOWN);
	return CB_ACT_PASS;
}

CB_SUBPROG(cb_icmp_in)

#endif
