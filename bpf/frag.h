/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * IP fragments of a service flow. Only the first fragment carries the
 * ports, so it is NATed with its flow and leaves a note in cb_frag: the
 * fragments after it (same addresses and IP identification) get the same
 * address rewrite, and the datagram's L4 checksum, fixed in the first, holds.
 * Fragments that arrive before their first one cannot be placed: a request
 * fragment passes as it came; a reply fragment from a backend is dropped,
 * as nothing may leave toward a client with a backend's address.
 */
#ifndef CB_BPF_FRAG_H
#define CB_BPF_FRAG_H

#include "flow.h"
#include "nat.h"

static __always_inline void cb_frag_key(struct cb_frag_key *fk, const struct cb_pkt *p,
					const union cb_addr *saddr, const union cb_addr *daddr)
{
	fk->saddr = *saddr;
	fk->daddr = *daddr;
	fk->id = p->frag_id;
	fk->proto = p->proto;
	fk->family = p->family;
}

/*
 * The first fragment of a flow, with the addresses it arrived with: its
 * followers get `to` as their destination (dst = 1) or source.
 */
static __always_inline void cb_frag_note(const struct cb_pkt *p, const union cb_addr *saddr,
					 const union cb_addr *daddr, const union cb_addr *to,
					 __u32 svc_id, __u8 track, __u8 dst)
{
	struct cb_frag_key fk = {};
	struct cb_frag_val fv = { .addr = *to, .svc_id = svc_id, .track = track, .dst = dst };

	cb_frag_key(&fk, p, saddr, daddr);
	bpf_map_update_elem(&cb_frag, &fk, &fv, BPF_ANY);
}

/*
 * A client packet of flow ct DNATed to its backend and delivered. A first
 * fragment leaves a note first, under the addresses its followers come with.
 */
static __always_inline int cb_dnat(const struct cb_ctx *c, struct cb_pkt *p,
				   const struct cb_ct_entry *ct, struct cb_track_stats *st,
				   struct cb_nexthop *nh, __u64 now)
{
	union cb_addr ba = ct->baddr;

	if (p->frag == CB_FRAG_FIRST)
		cb_frag_note(p, &p->saddr, &p->daddr, &ba, ct->svc_id, ct->track, 1);
	if (cb_rewrite(c, p, 1, &ba, ct->bport))
		return CB_ACT_DROP;
	return cb_deliver(c, p, st, nh, now);
}

/* A fragment after the first. */
static __always_inline int cb_frag_in(const struct cb_ctx *c, struct cb_pctx *x)
{
	struct cb_pkt *p = &x->p;
	struct cb_frag_key fk = {};
	struct cb_baddr_key bk = { .addr = p->saddr, .family = p->family };
	struct cb_track_stats *st;
	struct cb_frag_val *fv;
	union cb_addr to;
	__u8 dst;

	/* Expiring here: the stack's (its error quotes the fragment as it came). */
	if (p->ttl <= 1 && !c->egress) {
		cb_count(CB_G_PASS_TTL);
		return CB_ACT_PASS;
	}
	cb_frag_key(&fk, p, &p->saddr, &p->daddr);
	fv = bpf_map_lookup_elem(&cb_frag, &fk);
	if (!fv) {
		if (bpf_map_lookup_elem(&cb_baddr, &bk)) {
			cb_count(CB_G_DROP_FRAG);
			return CB_ACT_DROP;
		}
		cb_count(CB_G_PASS_FRAGMENT);
		return CB_ACT_PASS;
	}
	to = fv->addr;
	dst = fv->dst;
	st = cb_track_stats(fv->svc_id, fv->track);
	if (cb_rewrite_addr(c, p, dst, &to))
		return CB_ACT_DROP;
	cb_count(CB_G_FRAG_NAT);
	return cb_deliver(c, p, st, NULL, c->egress ? 0 : bpf_ktime_get_coarse_ns());
}

CB_SUBPROG(cb_frag_in)

#endif
