// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What the oracle remembers: every flow it saw NATed (client tuple ->
 * backend), looked up by its client tuple and by its reply tuple, and per
 * client-affinity service the backend each client went to. It is filled
 * from observed outputs only after the oracle accepted them.
 */
#include <stdlib.h>
#include <string.h>

#include "dp_fuzz.h"

#define FZ_FLOWS_MAX (1u << 17)
#define FZ_SLOTS (1u << 19)   /* power of two, > 2 * FZ_FLOWS_MAX: short probes */

struct client_key {
	int svc;
	union cb_addr addr;
};

struct client_ent {
	struct client_key k;
	int be;
	int used;
};

struct fz_model {
	struct fz_flow *flows;
	size_t n;
	uint32_t *by_client;   /* slot -> flow index + 1 (0: empty) */
	uint32_t *by_reply;
	struct client_ent *cl;
	size_t ncl;
};

static uint64_t hash_bytes(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

static struct fz_tuple norm(const struct fz_tuple *t)
{
	struct fz_tuple n;

	memset(&n, 0, sizeof(n));
	n.family = t->family;
	n.proto = t->proto;
	n.sport = t->sport;
	n.dport = t->dport;
	memcpy(n.saddr.b, t->saddr.b, t->family == 4 ? 4 : 16);
	memcpy(n.daddr.b, t->daddr.b, t->family == 4 ? 4 : 16);
	return n;
}

static struct fz_tuple reply_of(const struct fz_lab *lab, const struct fz_flow *f)
{
	const struct fz_backend *be = &lab->svc[f->svc].be[f->be];
	struct fz_tuple r = f->t;

	r.saddr = be->addr;
	r.sport = be->port;
	r.daddr = f->t.saddr;
	r.dport = f->t.sport;
	return norm(&r);
}

struct fz_model *fz_model_new(void)
{
	struct fz_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->flows = calloc(FZ_FLOWS_MAX, sizeof(*m->flows));
	m->by_client = calloc(FZ_SLOTS, sizeof(*m->by_client));
	m->by_reply = calloc(FZ_SLOTS, sizeof(*m->by_reply));
	m->cl = calloc(FZ_SLOTS, sizeof(*m->cl));
	if (!m->flows || !m->by_client || !m->by_reply || !m->cl) {
		fz_model_free(m);
		return NULL;
	}
	return m;
}

void fz_model_free(struct fz_model *m)
{
	if (!m)
		return;
	free(m->flows);
	free(m->by_client);
	free(m->by_reply);
	free(m->cl);
	free(m);
}

/* Client-affinity memory survives: it depends on the configuration only. */
void fz_model_clear(struct fz_model *m)
{
	memset(m->by_client, 0, FZ_SLOTS * sizeof(*m->by_client));
	memset(m->by_reply, 0, FZ_SLOTS * sizeof(*m->by_reply));
	m->n = 0;
}

size_t fz_model_flows(const struct fz_model *m)
{
	return m->n;
}

const struct fz_flow *fz_model_flow(const struct fz_model *m, size_t i)
{
	return i < m->n ? &m->flows[i] : NULL;
}

/* Slot holding key k in tab (keys computed by key_of), or the empty slot to put it. */
static uint32_t *find_slot(const struct fz_model *m, uint32_t *tab, const struct fz_tuple *k,
			   const struct fz_lab *lab, int reply)
{
	uint64_t h = hash_bytes(k, sizeof(*k));

	for (uint32_t i = 0;; i++) {
		uint32_t *s = &tab[(h + i) & (FZ_SLOTS - 1)];
		struct fz_tuple have;

		if (!*s)
			return s;
		have = reply ? reply_of(lab, &m->flows[*s - 1]) : norm(&m->flows[*s - 1].t);
		if (!memcmp(&have, k, sizeof(have)))
			return s;
	}
}

struct fz_flow *fz_model_find(struct fz_model *m, const struct fz_tuple *t)
{
	struct fz_tuple k = norm(t);
	uint32_t *s = find_slot(m, m->by_client, &k, NULL, 0);

	return *s ? &m->flows[*s - 1] : NULL;
}

struct fz_flow *fz_model_find_reply(struct fz_model *m, const struct fz_lab *lab,
				    const struct fz_tuple *t)
{
	struct fz_tuple k = norm(t);
	uint32_t *s = find_slot(m, m->by_reply, &k, lab, 1);

	return *s ? &m->flows[*s - 1] : NULL;
}

struct fz_flow *fz_model_add(struct fz_model *m, const struct fz_lab *lab,
			     const struct fz_tuple *t, int svc, int be)
{
	struct fz_tuple k = norm(t);
	uint32_t *s = find_slot(m, m->by_client, &k, NULL, 0), *r;
	struct fz_flow *f;

	if (*s)
		return &m->flows[*s - 1];
	if (m->n >= FZ_FLOWS_MAX)
		return NULL;
	f = &m->flows[m->n];
	memset(f, 0, sizeof(*f));
	f->t = k;
	f->svc = svc;
	f->be = be;
	*s = (uint32_t)++m->n;
	k = reply_of(lab, f);
	r = find_slot(m, m->by_reply, &k, lab, 1);
	*r = *s;   /* a newer flow with the same reply tuple takes it over, as in the datapath */
	return f;
}

int fz_model_client_be(struct fz_model *m, const struct fz_tuple *t, int svc, int be)
{
	struct client_key k;
	uint64_t h;

	memset(&k, 0, sizeof(k));
	k.svc = svc;
	memcpy(k.addr.b, t->saddr.b, t->family == 4 ? 4 : 16);
	h = hash_bytes(&k, sizeof(k));
	for (uint32_t i = 0;; i++) {
		struct client_ent *e = &m->cl[(h + i) & (FZ_SLOTS - 1)];

		if (!e->used) {
			if (m->ncl >= FZ_SLOTS / 2)
				return -1;   /* full: stop checking rather than probe forever */
			e->used = 1;
			e->k = k;
			e->be = be;
			m->ncl++;
			return -1;
		}
		if (!memcmp(&e->k, &k, sizeof(k)))
			return e->be;
	}
}
