// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What the verdicts of a batch imply for the counters, and the check.
 * Every run of the datapath increments exactly one of the classifying
 * global counters, and the per service/track counters move with it:
 *
 *   untouched passes  = d(malformed + fragment + unknown + not-service + ct-miss +
 *                       bad-csum + ttl), not-service >= those the oracle says
 *                       were for no service, the parse counters >= those it
 *                       says could not be parsed; ct-miss, bad-csum and ttl
 *                       exactly the service packets it says must pass for
 *                       those reasons
 *   redirects         = d(fwd-redirect)      NATed to the stack = d(fwd-stack)
 *   reverse NATs      = d(rev-nat)           drops = d(no-backend + frag dropped)
 *   ICMP, fragments   = d(icmp-nat), d(frag-nat)
 *   d(ct-reselect)    = 0 (the configuration never changes)
 *   per service/track: packets and bytes of every rewritten packet (both
 *   directions, frame length), drops; RSTs counted only as evidence is:
 *   client and backend RSTs of verified flows, a backend RST refusing a
 *   pending SYN; connections as the model's flows reached their outcome
 *   (UDP: when new to the model), give or take those at a timeout's edge.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_fuzz.h"

/* Write the reason of a violation into why; returns -1 for "return fz_failf(...)". */
int fz_failf(char *why, size_t wlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, wlen, fmt, ap);
	va_end(ap);
	return -1;
}

int fz_tally_init(struct fz_tally *t, int nsvc)
{
	uint64_t **f[] = { &t->packets, &t->bytes, &t->rst_client, &t->rst_backend, &t->conn_lo,
			   &t->conn_hi, &t->drops, &t->rst_backend_hi };

	memset(t, 0, sizeof(*t));
	t->n = nsvc * CB_TRACKS;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		*f[i] = calloc((size_t)t->n, sizeof(uint64_t));
		if (!*f[i])
			return -ENOMEM;
	}
	return 0;
}

void fz_tally_reset(struct fz_tally *t)
{
	uint64_t *f[] = { t->packets, t->bytes, t->rst_client, t->rst_backend, t->conn_lo,
			  t->conn_hi, t->drops, t->rst_backend_hi };
	int n = t->n;

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		memset(f[i], 0, (size_t)n * sizeof(uint64_t));
	t->runs = t->untouched = t->untouched_ns = t->untouched_parse = t->redirect = 0;
	t->nat_stack = t->rev_nat = t->drop = t->refused = 0;
	t->miss = t->bad_syn = t->ttl = t->frag_nat = t->icmp_nat = t->drop_frag = 0;
}

void fz_tally_free(struct fz_tally *t)
{
	free(t->packets);
	free(t->bytes);
	free(t->rst_client);
	free(t->rst_backend);
	free(t->conn_lo);
	free(t->conn_hi);
	free(t->drops);
	free(t->rst_backend_hi);
}

#define DG(i) (b->g[i] - a->g[i])
#define DT(k, f) (b->t[k].f - a->t[k].f)

int fz_check_counters(const struct fz_lab *lab, const struct fz_counters *a,
		      const struct fz_counters *b, const struct fz_tally *t, char *why,
		      size_t wlen)
{
	uint64_t parse = DG(CB_G_PASS_MALFORMED) + DG(CB_G_PASS_FRAGMENT) + DG(CB_G_PASS_UNKNOWN);
	uint64_t ns = DG(CB_G_PASS_NOT_SERVICE);
	uint64_t svc_pass = DG(CB_G_CT_MISS) + DG(CB_G_PASS_BAD_CSUM) + DG(CB_G_PASS_TTL);

	if (DG(CB_G_CT_MISS) < t->miss || DG(CB_G_PASS_BAD_CSUM) < t->bad_syn ||
	    DG(CB_G_PASS_TTL) < t->ttl || DG(CB_G_ICMP_NAT) != t->icmp_nat ||
	    DG(CB_G_FRAG_NAT) != t->frag_nat || DG(CB_G_DROP_FRAG) != t->drop_frag)
		return fz_failf(why, wlen, "service passes: %llu misses, %llu bad SYNs, %llu TTL; "
			     "%llu ICMP and %llu fragments translated, %llu fragments dropped; "
			     "counters: %llu, %llu, %llu; %llu, %llu, %llu",
			     (unsigned long long)t->miss, (unsigned long long)t->bad_syn,
			     (unsigned long long)t->ttl, (unsigned long long)t->icmp_nat,
			     (unsigned long long)t->frag_nat, (unsigned long long)t->drop_frag,
			     (unsigned long long)DG(CB_G_CT_MISS),
			     (unsigned long long)DG(CB_G_PASS_BAD_CSUM),
			     (unsigned long long)DG(CB_G_PASS_TTL), (unsigned long long)DG(CB_G_ICMP_NAT),
			     (unsigned long long)DG(CB_G_FRAG_NAT), (unsigned long long)DG(CB_G_DROP_FRAG));
	if (parse + ns + svc_pass != t->untouched || ns < t->untouched_ns ||
	    parse < t->untouched_parse)
		return fz_failf(why, wlen, "untouched passes: %llu (%llu for no service, %llu not "
			     "parsed), counters: %llu not-service + %llu parse failures",
			     (unsigned long long)t->untouched, (unsigned long long)t->untouched_ns,
			     (unsigned long long)t->untouched_parse, (unsigned long long)ns,
			     (unsigned long long)parse);
	if (DG(CB_G_FWD_REDIRECT) != t->redirect || DG(CB_G_FWD_STACK) != t->nat_stack ||
	    DG(CB_G_REV_NAT) != t->rev_nat ||
	    DG(CB_G_DROP_NO_BACKEND) + DG(CB_G_DROP_FRAG) != t->drop || DG(CB_G_CT_RESELECT) ||
	    DG(CB_G_DROP_REV_COLLISION))
		return fz_failf(why, wlen, "verdicts: %llu redirects, %llu to the stack, %llu reverse "
			     "NATs, %llu drops; counters: %llu, %llu, %llu, %llu (reselect %llu)",
			     (unsigned long long)t->redirect, (unsigned long long)t->nat_stack,
			     (unsigned long long)t->rev_nat, (unsigned long long)t->drop,
			     (unsigned long long)DG(CB_G_FWD_REDIRECT),
			     (unsigned long long)DG(CB_G_FWD_STACK),
			     (unsigned long long)DG(CB_G_REV_NAT),
			     (unsigned long long)DG(CB_G_DROP_NO_BACKEND),
			     (unsigned long long)DG(CB_G_CT_RESELECT));
	for (int s = 0; s < lab->nsvc; s++) {
		int k0 = s * CB_TRACKS;

		if (DT(k0, drops) + DT(k0 + 1, drops) != t->drops[k0])
			return fz_failf(why, wlen, "service %d: %llu drops counted, %llu seen", s,
				     (unsigned long long)(DT(k0, drops) + DT(k0 + 1, drops)),
				     (unsigned long long)t->drops[k0]);
		for (int k = k0; k < k0 + CB_TRACKS; k++) {
			if (DT(k, packets) != t->packets[k] || DT(k, bytes) != t->bytes[k] ||
			    DT(k, resets_from_client) != t->rst_client[k] ||
			    DT(k, resets_from_backend) < t->rst_backend[k] ||
			    DT(k, resets_from_backend) > t->rst_backend_hi[k] ||
			    DT(k, connections) < t->conn_lo[k] ||
			    DT(k, connections) > t->conn_hi[k])
				return fz_failf(why, wlen, "service %d track %d: counted packets "
					     "%llu bytes %llu rst %llu/%llu conns %llu; seen %llu, "
					     "%llu, %llu/%llu, %llu..%llu", s, k - k0,
					     (unsigned long long)DT(k, packets),
					     (unsigned long long)DT(k, bytes),
					     (unsigned long long)DT(k, resets_from_client),
					     (unsigned long long)DT(k, resets_from_backend),
					     (unsigned long long)DT(k, connections),
					     (unsigned long long)t->packets[k],
					     (unsigned long long)t->bytes[k],
					     (unsigned long long)t->rst_client[k],
					     (unsigned long long)t->rst_backend[k],
					     (unsigned long long)t->conn_lo[k],
					     (unsigned long long)t->conn_hi[k]);
		}
	}
	return 0;
}
