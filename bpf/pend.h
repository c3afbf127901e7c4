/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Flows that have not proved their source: TCP from its SYN until the
 * client acknowledges the backend's SYN-ACK (whose sequence number a spoofer
 * never saw), and UDP. They live in cb_pend/cb_pend_rev, apart from the
 * verified flows of cb_ct/cb_rev, and they feed no evidence until their
 * outcome is known: established, refused (the backend answered the SYN with
 * RST) or failed (the same SYN again after CB_SYN_TIMEOUT_NS, unanswered).
 * A pending flow is one element of cb_pend (both halves, struct
 * cb_pend_entry): its replies find it by its backend address (flow.h).
 */
#ifndef CB_BPF_PEND_H
#define CB_BPF_PEND_H

#include "flow.h"
#include "nat.h"
#include "select.h"
#include "signals.h"
#include "verify.h"
#include "frag.h"

enum cb_rev_use {
	CB_REV_FREE,          /* no other flow has the reply tuple; the address is one VIP:port's */
	CB_REV_FREE_SHARED,   /* ... but services share the address: the flow needs an index entry */
	CB_REV_TAKEN,
};

/*
 * The backend sees client:port -> backend:port: a flow of another service
 * (a shared backend) may hold that reply tuple already. Its replies must
 * stay its own; a new flow on it could not be told apart. An address whose
 * records all serve one VIP:port is no other service's: the small cb_baddr
 * answers for the lookups of big tables a new flow would pay otherwise.
 */
static __always_inline enum cb_rev_use cb_rev_check(const struct cb_ct_key *rk,
						    const struct cb_pkt *p,
						    const struct cb_service *svc,
						    const struct cb_backend *be)
{
	struct cb_baddr_key bk = { .addr = be->addr, .family = be->family };
	struct cb_baddr_val *bv = bpf_map_lookup_elem(&cb_baddr, &bk);
	struct cb_pend_entry *pe;
	struct cb_rev_entry *old;

	if (bv && !bv->shared)
		return CB_REV_FREE;
	old = bpf_map_lookup_elem(&cb_rev, rk);
	if (!old) {
		pe = cb_pend_of_reply(rk);
		old = pe ? &pe->rev : NULL;
	}
	if (old && (old->svc_id != svc->id || old->vport != p->dport ||
		    !cb_addr_eq(&old->vip, &p->daddr)))
		return CB_REV_TAKEN;
	return CB_REV_FREE_SHARED;
}

/*
 * A flow with no usable entry: track and backend by weight and Maglev, a
 * fresh entry (verified: a flow of cb_ct that lost its backend), DNAT.
 * new_flow: counted now as a connection (UDP: it has no handshake).
 */
static __always_inline int cb_flow_new(const struct cb_ctx *c, struct cb_pctx *x)
{
	int verified = x->verified, new_flow = x->new_flow;
	struct cb_pkt *p = &x->p;
	const struct cb_ct_key *key = &x->key;
	struct cb_service *svc = &x->svc;
	__u64 now = x->now;
	struct cb_backend *be = NULL;
	struct cb_ct_key rk = {};
	struct cb_track_stats *st;
	struct cb_pend_entry *sc;
	enum cb_rev_use use;
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
		struct cb_service *fresh = bpf_map_lookup_elem(&cb_services, &sk);

		if (!fresh)
			return CB_ACT_PASS;   /* the service was deleted meanwhile */
		*svc = *fresh;
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
	cb_rev_key(&rk, p, &be->addr, be->port);
	use = cb_rev_check(&rk, p, svc, be);
	if (use == CB_REV_TAKEN) {
		if (st)
			st->drops++;
		cb_count(CB_G_DROP_REV_COLLISION);
		return CB_ACT_DROP;
	}
	__builtin_memset(&sc->ct, 0, sizeof(sc->ct));
	sc->ct.last_seen = now;
	sc->ct.baddr = be->addr;
	sc->ct.bport = be->port;
	sc->ct.track = track;
	sc->ct.backend_id = bid;
	sc->ct.svc_id = svc->id;
	cb_ct_flags_from_client(&sc->ct, p->tcp_flags);
	cb_rev_fill(&sc->rev, p, &sc->ct);
	if (verified) {
		sc->ct.flags |= CB_CT_F_ACKED;
		sc->rev.flags = CB_REV_F_COUNTED;
		sc->rev.syn_ts = 0;
		if (cb_ct_put(&cb_ct, key, &sc->ct, CB_G_CT_INSERT) ||
		    bpf_map_update_elem(&cb_rev, &rk, &sc->rev, BPF_ANY))
			return CB_ACT_DROP;
	} else {
		if (new_flow)
			sc->rev.flags = CB_REV_F_COUNTED;
		if (use == CB_REV_FREE_SHARED)
			sc->rev.flags |= CB_REV_F_INDEXED;
		if (cb_ct_put(&cb_pend, key, sc, CB_G_PEND_INSERT) ||
		    (use == CB_REV_FREE_SHARED &&
		     bpf_map_update_elem(&cb_pend_rev, &rk, key, BPF_ANY)))
			return CB_ACT_DROP;
		cb_count(CB_G_PEND_NEW);
	}
	if (st && new_flow)
		st->connections++;
	return cb_dnat(c, p, &sc->ct, st, NULL, now);
}

CB_SUBPROG(cb_flow_new)

/*
 * The flow is to be placed afresh, in cb_ct (verified) or cb_pend, counted
 * now (new_flow) or not: cb_process calls cb_flow_new next, beside this
 * call rather than under it, so that their stack frames do not add up.
 */
static __always_inline int cb_flow_place(struct cb_pctx *x, int verified, int new_flow)
{
	x->verified = verified;
	x->new_flow = new_flow;
	return CB_ACT_PLACE;
}

/* A client packet of a pending flow (or its SYN again) to the backend it was given. */
static __always_inline int cb_pend_forward(const struct cb_ctx *c, struct cb_pkt *p,
					   struct cb_ct_entry *pe, __u64 now)
{
	struct cb_track_stats *st = cb_track_stats(pe->svc_id, pe->track);

	cb_ct_flags_from_client(pe, p->tcp_flags & (CB_TCP_RST | CB_TCP_FIN));
	if (now - pe->last_seen > CB_CT_REFRESH_NS)
		pe->last_seen = now;
	return cb_dnat(c, p, pe, st, &pe->nh, now);
}

/*
 * The same SYN (same initial sequence number) on a pending flow. Still
 * unanswered after CB_SYN_TIMEOUT_NS: the connect failed, counted once.
 * Answered before (by a RST, or a SYN-ACK that got lost on the way): the
 * connect starts over and is judged afresh.
 */
static __always_inline void cb_syn_again(struct cb_rev_entry *rv, struct cb_track_stats *st)
{
	__u64 now = bpf_ktime_get_ns();

	if (!rv->syn_ts) {
		rv->syn_ts = now;
		__sync_fetch_and_and(&rv->flags, ~(CB_REV_F_SYN_FAILED | CB_REV_F_SYNACK));
		return;
	}
	if (now - rv->syn_ts < CB_SYN_TIMEOUT_NS ||
	    (__sync_fetch_and_or(&rv->flags, CB_REV_F_SYN_FAILED) & CB_REV_F_SYN_FAILED))
		return;
	if (!(__sync_fetch_and_or(&rv->flags, CB_REV_F_COUNTED) & CB_REV_F_COUNTED) && st)
		st->connections++;
	if (st)
		st->connect_failures++;
}

/*
 * The client acknowledged the backend's SYN-ACK: the flow moves to cb_ct
 * and cb_rev, is counted once, and its connect latency is recorded.
 */
static __always_inline int cb_verify(const struct cb_ctx *c, struct cb_pctx *x,
				     const struct cb_pend_entry *pe, const struct cb_ct_key *rk)
{
	struct cb_pkt *p = &x->p;
	const struct cb_ct_key *key = &x->key;
	__u64 now = x->now;
	struct cb_pend_entry *sc = cb_scratch_get();
	struct cb_track_stats *st;
	int first;

	if (!sc)
		return CB_ACT_DROP;
	sc->ct = pe->ct;
	sc->ct.last_seen = now;
	cb_ct_flags_from_client(&sc->ct, p->tcp_flags);
	sc->rev = pe->rev;
	first = !(sc->rev.flags & CB_REV_F_COUNTED);
	sc->rev.flags = (sc->rev.flags & ~(CB_REV_F_SYNACK | CB_REV_F_INDEXED)) | CB_REV_F_COUNTED;
	sc->rev.syn_ts = 0;
	st = cb_track_stats(pe->ct.svc_id, pe->ct.track);
	if (p->payload_len)
		cb_signal_request(p, &sc->rev, st, 0, bpf_ktime_get_ns());
	if (bpf_map_update_elem(&cb_rev, rk, &sc->rev, BPF_ANY) ||
	    cb_ct_put(&cb_ct, key, &sc->ct, CB_G_CT_INSERT))
		return CB_ACT_DROP;
	/* pe is the element deleted next: nothing of it is read after. */
	if (pe->rev.flags & CB_REV_F_INDEXED)
		bpf_map_delete_elem(&cb_pend_rev, rk);
	cb_ct_del(&cb_pend, key, CB_G_PEND_DELETE);
	cb_count(CB_G_CT_VERIFIED);
	if (first && st)
		st->connections++;
	/* The connect that succeeded, also after a refusal of the same one was counted. */
	if (sc->rev.connect_ns)
		cb_hist_add(sc->rev.svc_id, sc->rev.track, CB_HIST_CONNECT, sc->rev.connect_ns);
	return cb_dnat(c, p, &sc->ct, st, NULL, now);
}

/* The pending flow of key, if it may carry this packet to its backend. */
static __always_inline struct cb_pend_entry *cb_pend_get(const struct cb_ct_key *key,
							 const struct cb_service *svc, __u8 proto,
							 __u64 now)
{
	struct cb_pend_entry *pe = bpf_map_lookup_elem(&cb_pend, key);

	if (!pe || pe->ct.svc_id != svc->id || cb_ct_expired(&pe->ct, proto, 1, now) ||
	    !cb_flow_backend_ok(&pe->ct, svc))
		return NULL;
	return pe;
}

/* A TCP SYN without a verified flow: its pending flow again, or a new one. */
static __always_inline int cb_pend_syn(const struct cb_ctx *c, struct cb_pctx *x)
{
	struct cb_pkt *p = &x->p;
	const struct cb_service *svc = &x->svc;
	__u64 now = x->now;
	struct cb_pend_entry *pe;

	if (!cb_syn_ok(c, p)) {
		cb_count(CB_G_PASS_BAD_CSUM);
		return CB_ACT_PASS;
	}
	pe = cb_pend_get(&x->key, svc, p->proto, now);
	/* A rolled-back canary takes no connect attempt, retried or not. */
	if (pe && !(pe->ct.track == CB_TRACK_CANARY && (svc->flags & CB_SVC_F_NO_CANARY)) &&
	    pe->rev.client_isn == p->tcp_seq) {
		cb_syn_again(&pe->rev, cb_track_stats(pe->ct.svc_id, pe->ct.track));
		return cb_pend_forward(c, p, &pe->ct, now);
	}
	return cb_flow_place(x, 0, 0);
}

/*
 * A client packet without a verified flow. TCP: a SYN starts or repeats a
 * pending flow; the ACK of the handshake verifies it; anything else of a
 * pending flow goes to its backend; a segment of no known flow is passed
 * and counted as a miss, never made into a flow. UDP lives here all along.
 */
static __always_inline int cb_pending(const struct cb_ctx *c, struct cb_pctx *x)
{
	struct cb_pkt *p = &x->p;
	const struct cb_service *svc = &x->svc;
	const struct cb_ct_key *key = &x->key;
	__u64 now = x->now;
	struct cb_ct_key rk = {};
	struct cb_pend_entry *pe;
	struct cb_rev_entry *rv;

	if (p->proto == IPPROTO_UDP) {
		pe = bpf_map_lookup_elem(&cb_pend, key);
		if (pe && pe->ct.svc_id == svc->id && !cb_ct_expired(&pe->ct, p->proto, 1, now)) {
			if (cb_flow_backend_ok(&pe->ct, svc))
				return cb_pend_forward(c, p, &pe->ct, now);
			/* Its backend is gone: choose again, but it is not a new connection. */
			cb_count(CB_G_CT_RESELECT);
			return cb_flow_place(x, 0, 0);
		}
		return cb_flow_place(x, 0, 1);
	}
	if (x->is_syn)
		return cb_pend_syn(c, x);
	pe = cb_pend_get(key, svc, p->proto, now);
	if (!pe) {
		cb_count(CB_G_CT_MISS);
		return CB_ACT_PASS;
	}
	rv = &pe->rev;
	if ((p->tcp_flags & (CB_TCP_ACK | CB_TCP_SYN | CB_TCP_RST)) == CB_TCP_ACK &&
	    (rv->flags & CB_REV_F_SYNACK) && p->tcp_ack == rv->server_isn + 1) {
		cb_rev_key(&rk, p, &pe->ct.baddr, pe->ct.bport);
		return cb_verify(c, x, pe, &rk);
	}
	return cb_pend_forward(c, p, &pe->ct, now);
}

/*
 * A reply of a pending flow: the SYN-ACK (its sequence number is what the
 * client must acknowledge), a RST refusing the SYN (a refused connect:
 * counted now), a UDP reply (it keeps the flow alive).
 */
static __always_inline void cb_pend_reply(const struct cb_pkt *p, struct cb_pend_entry *pe,
					  struct cb_track_stats *st, __u64 now)
{
	struct cb_rev_entry *rv = &pe->rev;
	__u64 syn_ts;

	if (p->proto == IPPROTO_UDP) {
		if (now - pe->ct.last_seen > CB_CT_REFRESH_NS)
			pe->ct.last_seen = now;
		return;
	}
	if (!rv->syn_ts)
		return;
	/*
	 * Whoever takes the timestamp records the answer: once, on any CPU. A
	 * bare ACK answers too: the backend still holds the tuple's last
	 * connection (TIME_WAIT), the client resets it and sends its SYN again,
	 * and that SYN starts the connect afresh (cb_syn_again).
	 */
	syn_ts = __sync_lock_test_and_set(&rv->syn_ts, 0);
	if (!syn_ts || !(p->tcp_flags & (CB_TCP_SYN | CB_TCP_RST)))
		return;
	if ((p->tcp_flags & (CB_TCP_SYN | CB_TCP_ACK)) == (CB_TCP_SYN | CB_TCP_ACK)) {
		rv->server_isn = p->tcp_seq;
		rv->connect_ns = bpf_ktime_get_ns() - syn_ts;
		__sync_fetch_and_or(&rv->flags, CB_REV_F_SYNACK);
		return;
	}
	if (!(p->tcp_flags & CB_TCP_RST) ||
	    (__sync_fetch_and_or(&rv->flags, CB_REV_F_SYN_FAILED) & CB_REV_F_SYN_FAILED) || !st)
		return;
	if (!(__sync_fetch_and_or(&rv->flags, CB_REV_F_COUNTED) & CB_REV_F_COUNTED))
		st->connections++;
	st->connect_failures++;
	st->resets_from_backend++;
}

#endif
