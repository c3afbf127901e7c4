// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What makes a figure of `bench_prog prog` mean something: every output
 * packet is what the case's path produces (checksums recomputed from
 * scratch), and the counters moved by exactly the number of runs.
 */
#include <netinet/in.h>
#include <string.h>

#include "prog_cases.h"

static int view_of(const struct meas *m, const struct tr *o, struct pkt_view *v)
{
	int r = pkt_check(o->out, o->out_len, v);

	if (r == -2 || v->proto != IPPROTO_TCP)
		return fail(m->name, "output is not a TCP packet");
	if (r)
		return fail(m->name, "output checksums are wrong");
	return 0;
}

/*
 * XDP forwards by fib + redirect: the TTL one hop lower per run, the
 * neighbour's MAC. tc egress leaves forwarding to the stack: TTL untouched.
 */
static int hops_ok(const struct meas *m, const struct pkt_view *v, uint8_t ttl)
{
	if (v->ttl != ttl || (!m->tc && memcmp(v->dmac, NEIGH_MAC, 6)))
		return fail(m->name, "output not forwarded as expected (TTL %u, want %u)", v->ttl,
			    ttl);
	return 0;
}

int check_untouched(struct meas *m, const struct tr *o)
{
	struct cctx *c = m->ctx;

	if (o->out_len != c->len || memcmp(o->out, c->pkt, c->len))
		return fail(m->name, "a packet not for a service was changed");
	return 0;
}

int check_dnat_flow(struct meas *m, const struct tr *o)
{
	struct cctx *c = m->ctx;
	struct pkt_view v;

	if (view_of(m, o, &v) || hops_ok(m, &v, c->ttl_out))
		return -1;
	if (!pkt_addr_eq(&v.daddr, &c->fl.be) || v.dport != c->fl.bport)
		return fail(m->name, "established packet not sent to its backend");
	return 0;
}

int check_dnat_any(struct meas *m, const struct tr *o)
{
	struct cctx *c = m->ctx;
	struct pkt_view v;

	if (view_of(m, o, &v) || hops_ok(m, &v, c->ttl_out))
		return -1;
	if (svc_backend(c->s, &v.daddr, v.dport) < 0)
		return fail(m->name, "new connection not sent to a backend of the service");
	return 0;
}

int check_snat(struct meas *m, const struct tr *o)
{
	struct cctx *c = m->ctx;
	struct pkt_view v;

	if (view_of(m, o, &v) || hops_ok(m, &v, c->ttl_out))
		return -1;
	if (!pkt_addr_eq(&v.saddr, &c->s->vip) || v.sport != 80 ||
	    !pkt_addr_eq(&v.daddr, &c->fl.client) || v.dport != c->fl.sport)
		return fail(m->name, "reply not restored to VIP:80");
	return 0;
}

static uint64_t dg(const struct counters *a, const struct counters *b, int i)
{
	return b->g[i] - a->g[i];
}

#define DT(a, b, trk, field) ((b)->t[trk].field - (a)->t[trk].field)

int v_not_service(struct meas *m, const struct counters *a, const struct counters *b,
			 uint64_t runs)
{
	if (dg(a, b, CB_G_PASS_NOT_SERVICE) != runs)
		return fail(m->name, "%llu of %llu runs counted as not for a service",
			    (unsigned long long)dg(a, b, CB_G_PASS_NOT_SERVICE),
			    (unsigned long long)runs);
	return 0;
}

int v_established(struct meas *m, const struct counters *a, const struct counters *b,
			 uint64_t runs)
{
	int t = ((struct cctx *)m->ctx)->fl.be_idx == 4;

	if (DT(a, b, t, packets) != runs || dg(a, b, CB_G_FWD_REDIRECT) != runs ||
	    DT(a, b, 0, connections) || DT(a, b, 1, connections))
		return fail(m->name, "counters: %llu packets, %llu redirects, for %llu runs",
			    (unsigned long long)DT(a, b, t, packets),
			    (unsigned long long)dg(a, b, CB_G_FWD_REDIRECT), (unsigned long long)runs);
	return 0;
}

/*
 * A SYN makes a pending flow (its connection counts once its outcome is
 * known): one per run, forwarded, split by the weight (its packet's track).
 */
int v_new(struct meas *m, const struct counters *a, const struct counters *b, uint64_t runs)
{
	uint64_t canary = DT(a, b, 1, packets), all = DT(a, b, 0, packets) + canary;

	if (all != runs || dg(a, b, CB_G_FWD_REDIRECT) != runs || dg(a, b, CB_G_PEND_INSERT) != runs)
		return fail(m->name, "counters: %llu packets, %llu redirects, %llu pending flows, "
			    "for %llu runs", (unsigned long long)all,
			    (unsigned long long)dg(a, b, CB_G_FWD_REDIRECT),
			    (unsigned long long)dg(a, b, CB_G_PEND_INSERT), (unsigned long long)runs);
	/* The weight must have split them (10 %: far outside 5..15 % is not chance). */
	if (runs >= 1000 && (canary * 20 < runs || canary * 20 > runs * 3))
		return fail(m->name, "%llu of %llu new connections on canary at 10 %%",
			    (unsigned long long)canary, (unsigned long long)runs);
	return 0;
}

int v_reply(struct meas *m, const struct counters *a, const struct counters *b,
		   uint64_t runs)
{
	int t = ((struct cctx *)m->ctx)->fl.be_idx == 4;

	/* Each run: one request and its response, both counted; the response's status too. */
	if (dg(a, b, CB_G_REV_NAT) != runs || DT(a, b, t, http[0]) != runs ||
	    DT(a, b, t, packets) != 2 * runs)
		return fail(m->name, "counters: %llu reverse NATs, %llu 2xx, %llu packets for %llu runs",
			    (unsigned long long)dg(a, b, CB_G_REV_NAT),
			    (unsigned long long)DT(a, b, t, http[0]),
			    (unsigned long long)DT(a, b, t, packets), (unsigned long long)runs);
	return 0;
}

