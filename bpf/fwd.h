/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * After NAT: forward by fib lookup + redirect when the kernel can do it
 * here, else hand the packet to the stack, which routes it the same way.
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

enum cb_verdict {
	CB_PASS = 0,
	CB_DROP,
	CB_REDIRECT,
};

static __always_inline int cb_forward(const struct cb_ctx *c, struct cb_pkt *p)
{
	struct bpf_fib_lookup fib = {};
	long rc;

	/* Tagged frames and expiring TTLs are the stack's business (VLAN devices, ICMP). */
	if (p->vlan || p->ttl <= 1)
		goto stack;

	fib.ifindex = c->ifindex;
	fib.l4_protocol = p->proto;
	fib.sport = p->sport;
	fib.dport = p->dport;
	if (p->family == CB_AF_INET) {
		fib.family = AF_INET;
		fib.tot_len = p->l4_len + (p->l4_off - p->l3_off);
		fib.ipv4_src = p->saddr.v4;
		fib.ipv4_dst = p->daddr.v4;
	} else {
		fib.family = AF_INET6;
		fib.tot_len = p->l4_len + (p->l4_off - p->l3_off);
		__builtin_memcpy(fib.ipv6_src, p->saddr.v6, 16);
		__builtin_memcpy(fib.ipv6_dst, p->daddr.v6, 16);
	}
	rc = bpf_fib_lookup(c->ctx, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		goto stack;
	/* An XDP frame can only be redirected to a device that takes XDP frames. */
	if (c->xdp && !bpf_map_lookup_elem(&cb_tx_ports, &fib.ifindex))
		goto stack;
	if (cb_dec_ttl(c, p))
		return CB_DROP;
	if (cb_store(c, 0, fib.dmac, ETH_ALEN, 0) || cb_store(c, ETH_ALEN, fib.smac, ETH_ALEN, 0))
		return CB_DROP;
	cb_count(CB_G_FWD_REDIRECT);
	if (c->xdp)
		return bpf_redirect_map(&cb_tx_ports, fib.ifindex, 0) == XDP_REDIRECT ?
			CB_REDIRECT : CB_DROP;
	return bpf_redirect(fib.ifindex, 0) == TC_ACT_REDIRECT ? CB_REDIRECT : CB_DROP;
stack:
	cb_count(CB_G_FWD_STACK);
	return CB_PASS;
}

#endif
