/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Conntrack entries: keys, lifetimes, what a client packet may do with its flow's entry. */
#ifndef CB_BPF_FLOW_H
#define CB_BPF_FLOW_H

#include "maps.h"
#include "parse.h"
#include "fwd.h"

static __always_inline int cb_addr_eq(const union cb_addr *a, const union cb_addr *b)
{
	return a->v6[0] == b->v6[0] && a->v6[1] == b->v6[1] &&
	       a->v6[2] == b->v6[2] && a->v6[3] == b->v6[3];
}

static __always_inline int cb_ct_closing(const struct cb_ct_entry *ct)
{
	return (ct->flags & CB_CT_F_RST) ||
	       (ct->flags & (CB_CT_F_FIN_CLIENT | CB_CT_F_FIN_BACKEND)) ==
		       (CB_CT_F_FIN_CLIENT | CB_CT_F_FIN_BACKEND);
}

/* pending: the entry is in cb_pend (an unverified TCP flow lives as long as UDP). */
static __always_inline int cb_ct_expired(const struct cb_ct_entry *ct, __u8 proto, int pending,
					 __u64 now)
{
	__u64 life = CB_CT_TCP_LIFETIME;

	if (proto == IPPROTO_UDP || pending)
		life = CB_CT_UDP_LIFETIME;
	if (proto == IPPROTO_TCP && cb_ct_closing(ct))
		life = CB_CT_CLOSE_LIFETIME;
	return now > ct->last_seen && now - ct->last_seen > life;
}

static __always_inline void cb_rev_key(struct cb_ct_key *rk, const struct cb_pkt *p,
				       const union cb_addr *baddr, __be16 bport)
{
	rk->saddr = *baddr;
	rk->daddr = p->saddr;
	rk->sport = bport;
	rk->dport = p->sport;
	rk->proto = p->proto;
	rk->family = p->family;
}

/* One packet on its way through the core: what the parse and the service lookup found. */
struct cb_pctx {
	struct cb_pkt p;
	struct cb_ct_key key;       /* client -> VIP, as the client sent it (service packets) */
	struct cb_service svc;      /* one consistent snapshot of the record */
	__u64 now;                  /* coarse clock */
	__u32 ifindex, len;         /* of the hook's context (struct cb_ctx) */
	__u8 egress;                /* tc: the hook is egress */
	__u8 vlan_hw;
	__u8 is_syn;
	__u8 verified;              /* cb_flow_new: in cb_ct (a verified flow re-placed), or cb_pend */
	__u8 new_flow;              /* cb_flow_new: counted now as a connection */
};

/*
 * Per CPU, as the scratch entries: the 512-byte stack holds only the frames
 * of the calls. (A map value may hold no pointer: map entries found on the
 * way are arguments of inlined functions, never fields here.)
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cb_pctx);
} cb_pctx SEC(".maps");

/* What a service packet's call returns when its flow must be placed afresh (cb_flow_new). */
#define CB_ACT_PLACE 100

/*
 * A conntrack entry written: a new element is counted (ins), an existing
 * one (an expired or re-placed flow of the same key) overwritten. The
 * counts let user space tell the LRU's silent evictions.
 */
static __always_inline int cb_ct_put(void *map, const struct cb_ct_key *k, const void *v,
				     __u32 ins)
{
	if (!bpf_map_update_elem(map, k, v, BPF_NOEXIST)) {
		cb_count(ins);
		return 0;
	}
	return bpf_map_update_elem(map, k, v, BPF_ANY);
}

static __always_inline void cb_ct_del(void *map, const struct cb_ct_key *k, __u32 del)
{
	if (!bpf_map_delete_elem(map, k))
		cb_count(del);
}

/* The client -> VIP key of a packet as the client sent it. */
static __always_inline void cb_fwd_key(struct cb_ct_key *k, const struct cb_pkt *p)
{
	k->saddr = p->saddr;
	k->daddr = p->daddr;
	k->sport = p->sport;
	k->dport = p->dport;
	k->proto = p->proto;
	k->family = p->family;
}

/* A fresh reply-direction entry for flow ct of packet p (a SYN starts the connect clock). */
static __always_inline void cb_rev_fill(struct cb_rev_entry *rv, const struct cb_pkt *p,
					const struct cb_ct_entry *ct)
{
	__builtin_memset(rv, 0, sizeof(*rv));
	rv->vip = p->daddr;
	rv->vport = p->dport;
	rv->track = ct->track;
	rv->svc_id = ct->svc_id;
	if ((p->tcp_flags & (CB_TCP_SYN | CB_TCP_ACK)) == CB_TCP_SYN) {
		rv->syn_ts = bpf_ktime_get_ns();   /* the signals need the precise clock */
		rv->client_nxt = p->tcp_seq + 1;
		rv->client_isn = p->tcp_seq;
	}
}

/*
 * A verified flow's reply entry, put back if the LRU evicted it: a refresh
 * never resets the signal state of a live connection.
 */
static __always_inline void cb_rev_refresh(const struct cb_pkt *p, const struct cb_ct_entry *ct)
{
	struct cb_pend_entry *sc = cb_scratch_get();
	struct cb_ct_key rk = {};

	if (!sc)
		return;
	cb_rev_fill(&sc->rev, p, ct);
	sc->rev.syn_ts = 0;
	sc->rev.flags = CB_REV_F_COUNTED;
	cb_rev_key(&rk, p, &ct->baddr, ct->bport);
	bpf_map_update_elem(&cb_rev, &rk, &sc->rev, BPF_NOEXIST);
}

/* Does pending flow pe have the backend and client of reply tuple rk? */
static __always_inline int cb_pend_owns(const struct cb_pend_entry *pe, const struct cb_ct_key *rk)
{
	return pe->ct.bport == rk->sport && cb_addr_eq(&pe->ct.baddr, &rk->saddr);
}

/* The client -> vip:vport key of the flow whose reply tuple is rk. */
static __always_inline void cb_fwd_of_reply(struct cb_ct_key *fk, const struct cb_ct_key *rk,
					    const union cb_addr *vip, __be16 vport)
{
	fk->saddr = rk->daddr;
	fk->daddr = *vip;
	fk->sport = rk->dport;
	fk->dport = vport;
	fk->proto = rk->proto;
	fk->family = rk->family;
}

/*
 * The pending flow of reply tuple rk (backend -> client). Its backend
 * address names the one VIP:port it serves; an address that services share
 * has an index entry (cb_pend_rev) for flows placed while it was shared,
 * and its first service's VIP for those placed before.
 */
static __always_inline struct cb_pend_entry *cb_pend_of_reply(const struct cb_ct_key *rk)
{
	struct cb_baddr_key bk = { .addr = rk->saddr, .family = rk->family };
	struct cb_pend_entry *pe;
	struct cb_baddr_val *bv;
	struct cb_ct_key fk = {};
	struct cb_ct_key *ik;

	bv = bpf_map_lookup_elem(&cb_baddr, &bk);
	if (!bv)
		return NULL;
	if (bv->shared) {
		ik = bpf_map_lookup_elem(&cb_pend_rev, rk);
		if (ik) {
			pe = bpf_map_lookup_elem(&cb_pend, ik);
			if (pe && cb_pend_owns(pe, rk))
				return pe;
		}
	}
	cb_fwd_of_reply(&fk, rk, &bv->vip, bv->vport);
	pe = bpf_map_lookup_elem(&cb_pend, &fk);
	return pe && cb_pend_owns(pe, rk) ? pe : NULL;
}

/* A reply: of a verified flow, else of a pending one (*pend: its entry, else NULL). */
static __always_inline struct cb_rev_entry *cb_rev_find(const struct cb_ct_key *rk,
							struct cb_pend_entry **pend)
{
	struct cb_rev_entry *rev = bpf_map_lookup_elem(&cb_rev, rk);

	*pend = NULL;
	if (rev)
		return rev;
	*pend = cb_pend_of_reply(rk);
	return *pend ? &(*pend)->rev : NULL;
}

/* The backend a flow was given, if it still serves its service as it did. */
static __always_inline int cb_flow_backend_ok(const struct cb_ct_entry *ct,
					      const struct cb_service *svc)
{
	struct cb_backend *be = bpf_map_lookup_elem(&cb_backends, &ct->backend_id);

	return be && be->svc_id == svc->id && be->port == ct->bport &&
	       cb_addr_eq(&be->addr, &ct->baddr);
}

static __always_inline void cb_ct_flags_from_client(struct cb_ct_entry *ct, __u8 tcp_flags)
{
	if ((tcp_flags & (CB_TCP_ACK | CB_TCP_SYN | CB_TCP_RST)) == CB_TCP_ACK)
		ct->flags |= CB_CT_F_ACKED;
	if (tcp_flags & CB_TCP_RST)
		ct->flags |= CB_CT_F_RST;
	if (tcp_flags & CB_TCP_FIN)
		ct->flags |= CB_CT_F_FIN_CLIENT;
}

static __always_inline int cb_deliver(const struct cb_ctx *c, struct cb_pkt *p,
				      struct cb_track_stats *st, struct cb_nexthop *nh, __u64 now)
{
	if (st) {
		st->packets++;
		st->bytes += c->len;
	}
	if (c->egress)
		return CB_ACT_PASS;
	return cb_forward(c, p, nh, now);
}

/* What a client packet may do with the conntrack entry of its flow. */
enum cb_ct_use {
	CB_CT_NEW,      /* none that may be kept: choose a backend */
	CB_CT_KEEP,     /* established: the same backend */
	CB_CT_RETRY,    /* the same connect tried again: the same backend, its signals start over */
};


/*
 * A SYN on a closed entry is a new connection if the old one had completed
 * its handshake (port reuse). If it never had, this is the same connect
 * tried again (e.g. the client reset a stale peer's reply): it keeps its
 * backend and counts once; unless the canary it went to was rolled back
 * since: no connection attempt goes there any more, retried or on a reused
 * port (a refusing canary would go on refusing).
 */
static __always_inline enum cb_ct_use cb_ct_classify(const struct cb_ct_entry *ct,
						     const struct cb_service *svc, int is_syn,
						     __u8 proto, __u64 now)
{
	if (!ct || ct->svc_id != svc->id || cb_ct_expired(ct, proto, 0, now))
		return CB_CT_NEW;
	if (is_syn && cb_ct_closing(ct) && (ct->flags & CB_CT_F_ACKED))
		return CB_CT_NEW;
	if (is_syn && !(ct->flags & CB_CT_F_ACKED) && ct->track == CB_TRACK_CANARY &&
	    (svc->flags & CB_SVC_F_NO_CANARY))
		return CB_CT_NEW;
	return is_syn && cb_ct_closing(ct) ? CB_CT_RETRY : CB_CT_KEEP;
}

#endif
