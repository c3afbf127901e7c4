/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The datapath core: one function for every hook. A verified flow costs a
 * fixed handful of map lookups (service, conntrack, backend, counters, and
 * the reverse entry for client data, where the health signals live); only a
 * new flow consults overrides and a Maglev table. No loop runs over backends.
 *
 * Conntrack is two budgets (pend.h): flows that proved their source by a
 * completed handshake, and the rest. A flood of forged packets can churn
 * only the second.
 */
#ifndef CB_BPF_CORE_H
#define CB_BPF_CORE_H

#include "maps.h"
#include "parse.h"
#include "nat.h"
#include "select.h"
#include "fwd.h"
#include "signals.h"
#include "flow.h"
#include "pend.h"
#include "frag.h"
#include "icmp.h"

/*
 * An established flow to its backend, or -1 when that backend is gone
 * (removed from its track): the flow must choose again.
 */
static __always_inline int cb_established(const struct cb_ctx *c, struct cb_pkt *p,
					  const struct cb_service *svc, struct cb_ct_entry *ct,
					  int is_syn, __u64 now)
{
	struct cb_track_stats *st;
	__u8 old;

	if (!cb_flow_backend_ok(ct, svc))
		return -1;
	old = ct->flags;
	cb_ct_flags_from_client(ct, p->tcp_flags);
	if (now - ct->last_seen > CB_CT_REFRESH_NS || old != ct->flags) {
		ct->last_seen = now;
		cb_rev_refresh(p, ct);
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
	return cb_dnat(c, p, ct, st, &ct->nh, now);
}

/* Client -> VIP: keep the verified flow's backend, or go on with an unverified one, then DNAT. */
static __always_inline int cb_service_in(const struct cb_ctx *c, struct cb_pctx *x)
{
	struct cb_pkt *p = &x->p;
	struct cb_ct_key rk = {};
	struct cb_ct_entry *ct;
	enum cb_ct_use use;
	int r;

	/*
	 * A packet about to expire here would make this node answer "time
	 * exceeded" quoting the backend's address: the stack gets it as sent.
	 */
	if (p->ttl <= 1) {
		cb_count(CB_G_PASS_TTL);
		return CB_ACT_PASS;
	}
	cb_fwd_key(&x->key, p);
	x->is_syn = (p->tcp_flags & (CB_TCP_SYN | CB_TCP_ACK)) == CB_TCP_SYN;
	ct = p->proto == IPPROTO_TCP ? bpf_map_lookup_elem(&cb_ct, &x->key) : NULL;
	/*
	 * After the lookup: another CPU may have just refreshed last_seen.
	 * Conntrack ages are seconds: the tick-precise clock costs a tenth of
	 * the precise one's share of an established packet.
	 */
	x->now = bpf_ktime_get_coarse_ns();
	use = cb_ct_classify(ct, &x->svc, x->is_syn, p->proto, x->now);
	if (use != CB_CT_NEW && ct) {
		r = cb_established(c, p, &x->svc, ct, x->is_syn, x->now);
		if (r >= 0)
			return r;
		/* Its backend is gone: choose again, but it is not a new connection. */
		cb_rev_key(&rk, p, &ct->baddr, ct->bport);
		bpf_map_delete_elem(&cb_rev, &rk);
		cb_count(CB_G_CT_RESELECT);
		return cb_flow_place(x, 1, 0);
	}
	if (ct) {
		/*
		 * A new connection on the port of a closed one: the old entries go,
		 * but not for a SYN that is not one (a forgery must not end a flow).
		 */
		if (x->is_syn && !cb_syn_ok(c, p)) {
			cb_count(CB_G_PASS_BAD_CSUM);
			return CB_ACT_PASS;
		}
		cb_rev_key(&rk, p, &ct->baddr, ct->bport);
		bpf_map_delete_elem(&cb_rev, &rk);
		cb_ct_del(&cb_ct, &x->key, CB_G_CT_DELETE);
	}
	return cb_pending(c, x);
}

CB_SUBPROG(cb_service_in)

/* Backend -> client: restore VIP:port as the source (pend: the flow is pending, its entry). */
static __always_inline int cb_reply(const struct cb_ctx *c, struct cb_pctx *x,
				    struct cb_rev_entry *rev, struct cb_pend_entry *pend)
{
	struct cb_pkt *p = &x->p;
	struct cb_track_stats *st = cb_track_stats(rev->svc_id, rev->track);
	union cb_addr vip = rev->vip;
	__be16 vport = rev->vport;
	__u64 now = bpf_ktime_get_coarse_ns();

	if (pend) {
		cb_pend_reply(p, pend, st, now);
	} else {
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
	}
	if (p->frag == CB_FRAG_FIRST)
		cb_frag_note(p, &p->saddr, &p->daddr, &vip, rev->svc_id, rev->track, 0);
	if (cb_rewrite(c, p, 0, &vip, vport))
		return CB_ACT_DROP;
	cb_count(CB_G_REV_NAT);
	return cb_deliver(c, p, st, &rev->nh, c->egress ? 0 : now);
}

/* Not to a service: a reply of one of our flows, or nothing of ours. */
static __always_inline int cb_not_service(const struct cb_ctx *c, struct cb_pctx *x)
{
	struct cb_ct_key rk = {};
	struct cb_pend_entry *pend;
	struct cb_rev_entry *rev;

	cb_fwd_key(&rk, &x->p);
	rev = cb_rev_find(&rk, &pend);
	if (rev)
		return cb_reply(c, x, rev, pend);
	cb_count(x->p.frag ? CB_G_PASS_FRAGMENT : CB_G_PASS_NOT_SERVICE);
	return CB_ACT_PASS;
}

CB_SUBPROG(cb_not_service)

static __always_inline int cb_process(const struct cb_ctx *c)
{
	__u32 zero = 0;
	struct cb_pctx *x = bpf_map_lookup_elem(&cb_pctx, &zero);
	int r;

	if (!x)
		return CB_ACT_PASS;
	__builtin_memset(&x->p, 0, sizeof(x->p));
	x->egress = c->egress;
	x->vlan_hw = c->vlan_hw;
	x->ifindex = c->ifindex;
	x->len = c->len;
	r = cb_parse(c, &x->p);
	if (r == CB_PARSE_FRAG)
		return CB_CALL(cb_frag_in, c, x);
	if (r == CB_PARSE_ICMP)
		return CB_CALL(cb_icmp_in, c, x);
	if (r != CB_PARSE_OK) {
		cb_count(r);
		return CB_ACT_PASS;
	}
	if (!c->egress) {
		struct cb_svc_key sk = {
			.vip = x->p.daddr, .port = x->p.dport, .proto = x->p.proto,
			.family = x->p.family,
		};
		struct cb_service *svc = bpf_map_lookup_elem(&cb_services, &sk);

		if (svc) {
			x->svc = *svc;   /* one consistent snapshot of the record */
			if (!(x->svc.flags & CB_SVC_F_PENDING)) {
				r = CB_CALL(cb_service_in, c, x);
				if (r != CB_ACT_PLACE)
					return r;
				return CB_CALL(cb_flow_new, c, x);
			}
		}
	}
	return CB_CALL(cb_not_service, c, x);
}

#endif
