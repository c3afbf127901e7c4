/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * After NAT: forward by fib lookup (cached per flow) + redirect when the
 * kernel can do it here, else hand the packet to the stack, which routes it
 * the same way.
 */
#ifndef CB_BPF_FWD_H
#define CB_BPF_FWD_H

#include "maps.h"
#include "nat.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

/* What the core asks its hook to do with a packet (each hook maps it to its own return code). */
enum cb_act {
	CB_ACT_PASS = 0,
	CB_ACT_DROP,
	CB_ACT_REDIRECT,
};

/* Fill nh from the FIB for p (already rewritten): 0, or -1 to leave it to the stack. */
static __always_inline int cb_fib(const struct cb_ctx *c, const struct cb_pkt *p,
				  struct cb_nexthop *nh)
{
	struct bpf_fib_lookup fib = {};

	fib.ifindex = c->ifindex;
	fib.l4_protocol = p->proto;
	fib.sport = p->sport;
	fib.dport = p->dport;
	fib.tot_len = p->l4_len + (p->l4_off - p->l3_off);
	if (p->family == CB_AF_INET) {
		fib.family = AF_INET;
		fib.ipv4_src = p->saddr.v4;
		fib.ipv4_dst = p->daddr.v4;
	} else {
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_src, p->saddr.v6, 16);
		__builtin_memcpy(fib.ipv6_dst, p->daddr.v6, 16);
	}
	if (bpf_fib_lookup(c->ctx, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return -1;
	nh->ifindex = fib.ifindex;
	nh->iif = c->ifindex;
	__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
	return 0;
}

/*
 * cache: the flow's cached next hop (in its conntrack or reverse entry), or
 * NULL for a flow's first packet (its entry is not written yet). now is the
 * coarse clock.
 */
static __always_inline int cb_forward(const struct cb_ctx *c, struct cb_pkt *p,
				      struct cb_nexthop *cache, __u64 now)
{
	__u32 stamp = now >> CB_NH_STAMP_SHIFT;
	struct cb_nexthop fresh, *nh = cache;

	/* Tagged frames and expiring TTLs are the stack's business (VLAN devices, ICMP). */
	if (p->vlan || p->ttl <= 1)
		goto stack;
	/* Used in place, not copied: the core's locals leave little of the 512-byte stack. */
	if (!cache || !cache->ifindex || cache->iif != c->ifindex ||
	    stamp - cache->stamp >= (__u32)(CB_NH_REFRESH_NS >> CB_NH_STAMP_SHIFT)) {
		nh = cache ? cache : &fresh;
		if (cb_fib(c, p, nh))
			goto stack;
		nh->stamp = stamp;
	}
	/*
	 * An XDP frame can only be redirected to a device that takes XDP frames.
	 * Asked per packet, not cached: a detach takes effect at once.
	 */
	if (c->xdp && !bpf_map_lookup_elem(&cb_tx_ports, &nh->ifindex))
		goto stack;
	if (cb_dec_ttl(c, p))
		return CB_ACT_DROP;
	if (cb_store(c, 0, nh->dmac, ETH_ALEN, 0) || cb_store(c, ETH_ALEN, nh->smac, ETH_ALEN, 0))
		return CB_ACT_DROP;
	cb_count(CB_G_FWD_REDIRECT);
	if (c->xdp)
		return bpf_redirect_map(&cb_tx_ports, nh->ifindex, 0) == XDP_REDIRECT ?
			CB_ACT_REDIRECT : CB_ACT_DROP;
	return bpf_redirect(nh->ifindex, 0) == TC_ACT_REDIRECT ? CB_ACT_REDIRECT : CB_ACT_DROP;
stack:
	cb_count(CB_G_FWD_STACK);
	return CB_ACT_PASS;
}

#endif
