/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The datapath core: one function for every hook. Established flows cost a
 * fixed handful of map lookups (service, conntrack, backend, counters, and
 * the reverse entry for client data, where the health signals live); only a
 * new flow consults overrides and a Maglev table. No loop runs over backends.
 */
#ifndef CB_BPF_CORE_H
#define CB_BPF_CORE_H

#include "maps.h"
#include "parse.h"
#include "nat.h"
#include "select.h"
#include "fwd.h"
#include "signals.h"

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

static __always_inline int cb_ct_expired(const struct cb_ct_entry *ct, __u8 proto, __u64 now)
{
	__u64 life = CB_CT_TCP_LIFETIME;

	if (proto == IPPROTO_UDP)
		life = CB_CT_UDP_LIFETIME;
	else if (cb_ct_closing(ct))
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

/*
 * The reply direction of a flow. A new flow writes it afresh (a SYN starts
 * the connect clock); a refresh only puts it back if the LRU evicted it, so
 * the signal state of a live connection is never reset.
 */
static __always_inline void cb_rev_put(const struct cb_pkt *p, const struct cb_ct_entry *ct,
				       int fresh)
{
	struct cb_scratch *sc = cb_scratch_get();
	struct cb_ct_key rk = {};
	struct cb_rev_entry *rv;

	if (!sc)
		return;
	rv = &sc->rev;
	__builtin_memset(rv, 0, sizeof(*rv));
	rv->vip = p->daddr;
	rv->vport = p->dport;
	rv->track = ct->track;
	rv->svc_id = ct->svc_id;
	if (fresh && (p->tcp_flags & (CB_TCP_SYN | CB_TCP_ACK)) == CB_TCP_SYN) {
		rv->syn_ts = bpf_ktime_get_ns();   /* the signals need the precise clock */
		rv->client_nxt = p->tcp_seq + 1;
	}
	cb_rev_key(&rk, p, &ct->baddr, ct->bport);
	bpf_map_update_elem(&cb_rev, &rk, rv, fresh ? BPF_ANY : BPF_NOEXIST);
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
	if (!ct || ct->svc_id != svc->id || cb_ct_expired(ct, proto, now))
		return CB_CT_NEW;
	if (is_syn && cb_ct_closing(ct) && (ct->flags & CB_CT_F_ACKED))
		return CB_CT_NEW;
	if (is_syn && !(ct->flags & CB_CT_F_ACKED) && ct->track == CB_TRACK_CANARY &&
	    (svc->flags & CB_SVC_F_NO_CANARY))
		return CB_CT_NEW;
	return is_syn && cb_ct_closing(ct) ? CB_CT_RETRY : CB_CT_KEEP;
}

/*
 * An established flow to its backend, or -1 when that backend is gone
 * (removed from its track): the flow must choose again.
 */
static __always_inline int cb_established(const struct cb_ctx *c, struct cb_pkt *p,
					  const struct cb_service *svc, struct cb_ct_entry *ct,
					  int is_syn, __u64 now)
{
	struct cb_backend *be = bpf_map_lookup_elem(&cb_backends, &ct->backend_id);
	struct cb_track_stats *st;
	__u8 old;

	if (!be || be->svc_id != svc->id || be->port != ct->bport || !cb_addr_eq(&be->addr, &ct->baddr))
		return -1;
	old = ct->flags;
	cb_ct_flags_from_client(ct, p->tcp_flags);
	if (now - ct->last_seen > CB_CT_REFRESH_NS || old != ct->flags) {
		ct->last_seen = now;
		cb_rev_put(p, ct, 0);
	}
	st = cb_track_stats(svc->id, ct->track);
	if (p->proto == IPPROTO_TCP && (p->payload_len || is_syn)) {
		struct cb_ct_key rk = {};
		struct cb_rev_entry *rev;

		cb_rev_key(&rk, p, &ct->baddr, ct->bport);
		rev = bpf_map_lookup_elem(&cb_rev, &rk);
		if (rev)
			cb_signal_request(p, rev, st, is_syn, bpf_ktime_get_ns());
	}
	if (st && (p->tcp_flags & CB_TCP_RST))
		st->resets_from_client++;
	if (cb_rewrite(c, p, 1, &ct->baddr, ct->bport))
		return CB_ACT_DROP;
	return cb_deliver(c, p, st, &ct->nh, now);
}

/*
 * A flow without a usable entry: track and backend by weight and Maglev,
 * a fresh entry, DNAT. new_flow 0: a flow that lost its backend, which is
 * not a new connection for the counters.
 */
static __always_inline int cb_new_flow(const struct cb_ctx *c, struct cb_pkt *p,
				       const struct cb_service *svc, const struct cb_ct_key *key,
				       int new_flow, __u64 now)
{
	struct cb_backend *be = NULL;
	struct cb_track_stats *st;
	struct cb_ct_entry *e;
	struct cb_scratch *sc;
	__u32 track, bid = 0;
	int r;

	r = cb_pick(p, svc, &track, &bid, &be);
	if (r == CB_PICK_STALE) {
		/*
		 * This packet read the record just before an update switched it and
		 * retired what it points to: read the new one rather than act on
		 * half of an update.
		 */
		struct cb_svc_key sk = {
			.vip = p->daddr, .port = p->dport, .proto = p->proto, .family = p->family,
		};

		svc = bpf_map_lookup_elem(&cb_services, &sk);
		if (!svc)
			return CB_ACT_PASS;   /* the service was deleted meanwhile */
		r = cb_pick(p, svc, &track, &bid, &be);
	}
	st = cb_track_stats(svc->id, track);
	if (r != CB_PICK_OK || be->family != p->family) {
		if (st)
			st->drops++;
		cb_count(CB_G_DROP_NO_BACKEND);
		return CB_ACT_DROP;
	}

	sc = cb_scratch_get();
	if (!sc)
		return CB_ACT_DROP;
	e = &sc->ct;
	__builtin_memset(e, 0, sizeof(*e));
	e->last_seen = now;
	e->baddr = be->addr;
	e->bport = be->port;
	e->track = track;
	e->backend_id = bid;
	e->svc_id = svc->id;
	cb_ct_flags_from_client(e, p->tcp_flags);
	if (bpf_map_update_elem(&cb_ct, key, e, BPF_ANY))
		return CB_ACT_DROP;
	cb_rev_put(p, e, 1);
	if (st) {
		if (new_flow)
			st->connections++;
		if (p->tcp_flags & CB_TCP_RST)
			st->resets_from_client++;
	}
	if (cb_rewrite(c, p, 1, &e->baddr, e->bport))
		return CB_ACT_DROP;
	return cb_deliver(c, p, st, NULL, now);
}

/* Client -> VIP: keep the established backend, or choose one, then DNAT. */
static __always_inline int cb_service_in(const struct cb_ctx *c, struct cb_pkt *p,
					 const struct cb_service *svc)
{
	struct cb_ct_key key = {
		.saddr = p->saddr, .daddr = p->daddr, .sport = p->sport, .dport = p->dport,
		.proto = p->proto, .family = p->family,
	};
	int is_syn = (p->tcp_flags & (CB_TCP_SYN | CB_TCP_ACK)) == CB_TCP_SYN;
	struct cb_ct_entry *ct = bpf_map_lookup_elem(&cb_ct, &key);
	/*
	 * After the lookup: another CPU may have just refreshed last_seen.
	 * Conntrack ages are seconds: the tick-precise clock costs a tenth of
	 * the precise one's share of an established packet.
	 */
	__u64 now = bpf_ktime_get_coarse_ns();
	enum cb_ct_use use = cb_ct_classify(ct, svc, is_syn, p->proto, now);
	int new_flow = 1, r;

	if (use != CB_CT_NEW && ct) {
		struct cb_ct_key rk = {};

		if (use == CB_CT_RETRY) {
			ct->flags = 0;
			cb_rev_put(p, ct, 1);
		}
		r = cb_established(c, p, svc, ct, is_syn, now);
		if (r >= 0)
			return r;
		/* Its backend is gone: choose again, but it is not a new connection. */
		cb_rev_key(&rk, p, &ct->baddr, ct->bport);
		bpf_map_delete_elem(&cb_rev, &rk);
		cb_count(CB_G_CT_RESELECT);
		new_flow = 0;
	}
	return cb_new_flow(c, p, svc, &key, new_flow, now);
}

/* Backend -> client: restore VIP:port as the source. */
static __always_inline int cb_reply(const struct cb_ctx *c, struct cb_pkt *p,
				    struct cb_rev_entry *rev)
{
	struct cb_track_stats *st = cb_track_stats(rev->svc_id, rev->track);
	union cb_addr vip = rev->vip;
	__be16 vport = rev->vport;

	cb_signal_reply(c, p, rev, st);

	if (p->tcp_flags & (CB_TCP_FIN | CB_TCP_RST)) {
		struct cb_ct_key fk = {
			.saddr = p->daddr, .daddr = vip, .sport = p->dport,
			.dport = vport, .proto = p->proto, .family = p->family,
		};
		struct cb_ct_entry *ct = bpf_map_lookup_elem(&cb_ct, &fk);

		if (ct && ct->bport == p->sport && cb_addr_eq(&ct->baddr, &p->saddr))
			ct->flags |= (p->tcp_flags & CB_TCP_RST) ? CB_CT_F_RST : CB_CT_F_FIN_BACKEND;
		if (st && (p->tcp_flags & CB_TCP_RST))
			st->resets_from_backend++;
	}
	if (cb_rewrite(c, p, 0, &vip, vport))
		return CB_ACT_DROP;
	cb_count(CB_G_REV_NAT);
	return cb_deliver(c, p, st, &rev->nh, c->egress ? 0 : bpf_ktime_get_coarse_ns());
}

static __always_inline int cb_process(const struct cb_ctx *c)
{
	struct cb_pkt p = {};
	struct cb_ct_key rk = {};
	struct cb_rev_entry *rev;
	int r = cb_parse(c, &p);

	if (r != CB_PARSE_OK) {
		cb_count(r);
		return CB_ACT_PASS;
	}
	if (!c->egress) {
		struct cb_svc_key sk = {
			.vip = p.daddr, .port = p.dport, .proto = p.proto, .family = p.family,
		};
		struct cb_service *svc = bpf_map_lookup_elem(&cb_services, &sk);

		if (svc) {
			struct cb_service s = *svc;   /* one consistent snapshot of the record */

			if (!(s.flags & CB_SVC_F_PENDING))
				return cb_service_in(c, &p, &s);
		}
	}
	rk.saddr = p.saddr;
	rk.daddr = p.daddr;
	rk.sport = p.sport;
	rk.dport = p.dport;
	rk.proto = p.proto;
	rk.family = p.family;
	rev = bpf_map_lookup_elem(&cb_rev, &rk);
	if (rev)
		return cb_reply(c, &p, rev);
	cb_count(CB_G_PASS_NOT_SERVICE);
	return CB_ACT_PASS;
}

#endif
