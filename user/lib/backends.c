// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Backend sets of a track. Every change is one transaction over the
 * service's double-buffered tables (tables.c), in small steps:
 *
 *   begin    read the live record and both tracks' members
 *   stage    a track's next members, and its table published into the
 *            generation the datapath does not read
 *   commit   the members (user space's record of truth), then the service
 *            record: the one update that makes every staged track live
 *   retire   the tables the switch left behind, and the backends no track
 *            serves any more (their flows re-select)
 *   abort    before a successful commit: what stage published and created
 *
 * cb_track_set and cb_track_promote differ only in what they stage.
 */
#include "dpstate.h"
#include "dpstate_int.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

int cb_members_get(const struct cb_maps *m, uint32_t svc_id, unsigned int track,
		       struct cb_members *out)
{
	struct cb_members_key mk = { .svc_id = svc_id, .track = track };

	if (bpf_map_lookup_elem(m->members, &mk, out)) {
		if (errno != ENOENT)
			return -errno;
		out->n = 0;
	}
	return 0;
}

static int endpoint_is_backend(const struct cb_endpoint *e, const struct cb_backend *b)
{
	return e->family == b->family && htons(e->port) == b->port &&
	       !memcmp(e->addr.b, b->addr.b, sizeof(e->addr.b));
}

static int new_backend_id(const struct cb_maps *m, uint32_t *id)
{
	struct cb_backend tmp;

	for (int tries = 0; tries < 64; tries++) {
		if (getrandom(id, sizeof(*id), 0) != sizeof(*id))
			return -errno;
		*id &= 0x7fffffff;
		if (*id == 0)
			continue;
		if (bpf_map_lookup_elem(m->backends, id, &tmp) && errno == ENOENT)
			return 0;
	}
	return -ENOSPC;
}

/* Members of a track and their records (records[i] for ids[i]). */
static int members_load(const struct cb_maps *m, uint32_t svc_id, unsigned int track,
			struct cb_members *mem, struct cb_backend *records)
{
	int err = cb_members_get(m, svc_id, track, mem);

	for (uint32_t i = 0; !err && i < mem->n && i < CB_MAX_TRACK_BACKENDS; i++)
		if (bpf_map_lookup_elem(m->backends, &mem->ids[i], &records[i]))
			err = -errno;
	return err;
}

static int find_id(const struct cb_endpoint *e, const struct cb_members *mem,
		   const struct cb_backend *records)
{
	for (uint32_t j = 0; j < mem->n; j++)
		if (endpoint_is_backend(e, &records[j]))
			return (int)mem->ids[j];
	return -1;
}

static int has_id(const struct cb_members *mem, uint32_t id)
{
	for (uint32_t j = 0; j < mem->n; j++)
		if (mem->ids[j] == id)
			return 1;
	return 0;
}

int cb_backend_put(const struct cb_maps *m, const struct cb_svc_key *k, uint32_t id,
		   const struct cb_backend *b)
{
	int e;

	if (bpf_map_update_elem(m->backends, &id, b, BPF_NOEXIST))
		return -errno;
	e = cb_baddr_ref(m, k, b, 1);
	if (e)
		bpf_map_delete_elem(m->backends, &id);
	return e;
}

void cb_backend_drop(const struct cb_maps *m, const struct cb_svc_key *k, uint32_t id)
{
	struct cb_backend b;

	if (bpf_map_lookup_elem(m->backends, &id, &b) == 0 && bpf_map_delete_elem(m->backends, &id) == 0)
		cb_baddr_ref(m, k, &b, -1);
}

struct txn {
	const struct cb_maps *m;
	const struct cb_svc_key *k;
	struct cb_service svc;                 /* the live record */
	struct cb_service next;                /* what commit writes */
	struct cb_members *cur[CB_TRACKS];     /* members now */
	struct cb_backend *rec[CB_TRACKS];     /* their records: rec[t][i] for cur[t]->ids[i] */
	struct cb_members *nw[CB_TRACKS];      /* members after commit; NULL: the track stays */
	int staged[CB_TRACKS];                 /* a next table of the track is published */
	uint32_t *fresh;                       /* backend ids this change created */
	size_t nfresh;
};

static void txn_free(struct txn *t)
{
	for (unsigned int tr = 0; tr < CB_TRACKS; tr++) {
		free(t->cur[tr]);
		free(t->rec[tr]);
		free(t->nw[tr]);
	}
	free(t->fresh);
}

/* The live record: a request is validated against it before anything else is read. */
static int txn_begin(struct txn *t, const struct cb_maps *m, const struct cb_svc_key *k)
{
	int e;

	memset(t, 0, sizeof(*t));
	t->m = m;
	t->k = k;
	e = cb_svc_get(m, k, &t->svc);
	t->next = t->svc;
	return e;
}

/* Both tracks' members and their backend records. */
static int txn_load(struct txn *t)
{
	int e;

	t->fresh = calloc(CB_MAX_TRACK_BACKENDS, sizeof(*t->fresh));
	for (unsigned int tr = 0; tr < CB_TRACKS; tr++) {
		t->cur[tr] = calloc(1, sizeof(*t->cur[tr]));
		t->rec[tr] = calloc(CB_MAX_TRACK_BACKENDS, sizeof(*t->rec[tr]));
		if (!t->cur[tr] || !t->rec[tr] || !t->fresh)
			return -ENOMEM;
		if ((e = members_load(t->m, t->svc.id, tr, t->cur[tr], t->rec[tr])))
			return e;
	}
	return 0;
}

/*
 * The next contents of track tr: sorted[] with ids[] (n of them). The new
 * table starts from the live table of track prev (-1: from scratch), whose
 * size must be the same, so that backends that stay keep their slots.
 */
static int txn_stage(struct txn *t, unsigned int tr, const struct cb_endpoint *sorted,
		     const uint32_t *ids, size_t n, int prev)
{
	struct cb_tbl_key next = { .svc_id = t->svc.id, .track = (uint8_t)tr,
				   .gen = (uint8_t)(t->svc.gen[tr] ^ 1) };
	uint32_t *slots = NULL;
	int e = 0;

	if (n > t->svc.m[tr])
		return -E2BIG;
	t->nw[tr] = calloc(1, sizeof(*t->nw[tr]));
	if (!t->nw[tr])
		return -ENOMEM;
	t->nw[tr]->n = (uint32_t)n;
	memcpy(t->nw[tr]->ids, ids, n * sizeof(*ids));
	t->next.nb[tr] = (uint32_t)n;
	if (!n)
		return 0;
	if (prev >= 0) {
		struct cb_tbl_key live = { .svc_id = t->svc.id, .track = (uint8_t)prev,
					   .gen = t->svc.gen[prev] };

		slots = calloc(t->svc.m[prev], sizeof(*slots));
		e = slots ? cb_table_read(t->m, &live, t->svc.m[prev], slots) : -ENOMEM;
	}
	if (!e)
		e = cb_table_publish(t->m, &next, t->svc.m[tr], sorted, ids, n, slots);
	free(slots);
	if (e)
		return e;
	t->staged[tr] = 1;
	t->next.gen[tr] = next.gen;
	return 0;
}

static int members_write(const struct txn *t, unsigned int tr, const struct cb_members *mem)
{
	struct cb_members_key mk = { .svc_id = t->svc.id, .track = tr };

	if (mem->n)
		return bpf_map_update_elem(t->m->members, &mk, mem, BPF_ANY) ? -errno : 0;
	return bpf_map_delete_elem(t->m->members, &mk) && errno != ENOENT ? -errno : 0;
}

/* The members, then the switch; on failure the members are as they were. */
static int txn_commit(struct txn *t)
{
	int e = 0;

	for (unsigned int tr = 0; tr < CB_TRACKS && !e; tr++)
		if (t->nw[tr])
			e = members_write(t, tr, t->nw[tr]);
	if (!e && bpf_map_update_elem(t->m->services, t->k, &t->next, BPF_EXIST))
		e = -errno;
	if (e)
		for (unsigned int tr = 0; tr < CB_TRACKS; tr++)
			if (t->nw[tr])
				members_write(t, tr, t->cur[tr]);
	return e;
}

/*
 * Deleting from a map-in-map returns only once no program can still be
 * using what the old record pointed to, so the removed backends can go
 * after the tables.
 */
static void txn_retire(struct txn *t)
{
	for (unsigned int tr = 0; tr < CB_TRACKS; tr++) {
		struct cb_tbl_key live = { .svc_id = t->svc.id, .track = (uint8_t)tr,
					   .gen = t->svc.gen[tr] };

		if (t->nw[tr] && t->svc.nb[tr])
			bpf_map_delete_elem(t->m->maglev, &live);
	}
	for (unsigned int tr = 0; tr < CB_TRACKS; tr++) {
		for (uint32_t i = 0; t->nw[tr] && i < t->cur[tr]->n; i++) {
			uint32_t id = t->cur[tr]->ids[i];
			int kept = 0;

			for (unsigned int u = 0; u < CB_TRACKS; u++)
				kept |= has_id(t->nw[u] ? t->nw[u] : t->cur[u], id);
			if (!kept)
				cb_backend_drop(t->m, t->k, id);
		}
	}
}

static void txn_abort(struct txn *t)
{
	for (unsigned int tr = 0; tr < CB_TRACKS; tr++) {
		struct cb_tbl_key next = { .svc_id = t->svc.id, .track = (uint8_t)tr,
					   .gen = t->next.gen[tr] };

		if (t->staged[tr])
			bpf_map_delete_elem(t->m->maglev, &next);
	}
	for (size_t i = 0; i < t->nfresh; i++)
		cb_backend_drop(t->m, t->k, t->fresh[i]);
}

/* Commit, then retire; or abort. Frees the transaction either way. */
static int txn_end(struct txn *t, int e)
{
	if (!e)
		e = txn_commit(t);
	if (e)
		txn_abort(t);
	else
		txn_retire(t);
	txn_free(t);
	return e;
}

/* The request in endpoint order, with the service port filled in; refused whole if invalid. */
static int request_sorted(const struct cb_svc_key *k, const struct cb_endpoint *backends, size_t n,
			  struct cb_endpoint *sorted)
{
	for (size_t i = 0; i < n; i++) {
		sorted[i] = backends[i];
		if (sorted[i].family != k->family)
			return -EAFNOSUPPORT;
		if (!sorted[i].port)
			sorted[i].port = ntohs(k->port);
	}
	qsort(sorted, n, sizeof(*sorted), cb_endpoint_cmp);
	for (size_t i = 1; i < n; i++)
		if (!cb_endpoint_cmp(&sorted[i - 1], &sorted[i]))
			return -ENOTUNIQ;
	return 0;
}

/* Endpoints of a track's members, in members order (which is endpoint order). */
static void endpoints_of(const struct cb_members *mem, const struct cb_backend *rec,
			 struct cb_endpoint *eps)
{
	for (uint32_t i = 0; i < mem->n; i++) {
		eps[i].addr = rec[i].addr;
		eps[i].port = ntohs(rec[i].port);
		eps[i].family = rec[i].family;
	}
}

/*
 * Backends that stay keep their id, and so do backends that come from the
 * other track (a promotion by hand): their connections must not move. The
 * others get a new id and record, which abort deletes.
 */
static int resolve_ids(struct txn *t, unsigned int tr, const struct cb_endpoint *sorted, size_t n,
		       uint32_t *ids)
{
	for (size_t i = 0; i < n; i++) {
		int id = find_id(&sorted[i], t->cur[tr], t->rec[tr]);
		struct cb_backend b = {
			.addr = sorted[i].addr, .port = htons(sorted[i].port),
			.family = sorted[i].family, .svc_id = t->svc.id,
		};
		int e;

		if (id < 0)
			id = find_id(&sorted[i], t->cur[tr ^ 1], t->rec[tr ^ 1]);
		if (id >= 0) {
			ids[i] = (uint32_t)id;
			continue;
		}
		if ((e = new_backend_id(t->m, &ids[i])))
			return e;
		if ((e = cb_backend_put(t->m, t->k, ids[i], &b)))
			return e;
		t->fresh[t->nfresh++] = ids[i];
	}
	return 0;
}

int cb_track_set(const struct cb_maps *m, const struct cb_svc_key *k, unsigned int track,
		 const struct cb_endpoint *backends, size_t n)
{
	struct cb_endpoint *sorted = NULL;
	uint32_t *ids = NULL;
	struct txn t;
	int e;

	if (track >= CB_TRACKS || n > CB_MAX_TRACK_BACKENDS)
		return -EINVAL;
	if ((e = txn_begin(&t, m, k))) {
		txn_free(&t);
		return e;
	}
	/* Validate the whole request before touching a map. */
	if (n > t.svc.m[track])
		e = -E2BIG;
	sorted = calloc(n ? n : 1, sizeof(*sorted));
	ids = calloc(n ? n : 1, sizeof(*ids));
	if (!e && (!sorted || !ids))
		e = -ENOMEM;
	if (!e)
		e = request_sorted(k, backends, n, sorted);
	if (!e)
		e = txn_load(&t);
	if (!e)
		e = resolve_ids(&t, track, sorted, n, ids);
	if (!e)
		e = txn_stage(&t, track, sorted, ids, n, t.svc.nb[track] ? (int)track : -1);
	e = txn_end(&t, e);
	free(sorted);
	free(ids);
	return e;
}

int cb_tables_rebuild(const struct cb_maps *m, const struct cb_svc_key *k)
{
	struct cb_endpoint *eps = calloc(CB_MAX_TRACK_BACKENDS, sizeof(*eps));
	struct txn t;
	int e = txn_begin(&t, m, k);

	if (!e)
		e = eps ? txn_load(&t) : -ENOMEM;
	for (unsigned int tr = 0; tr < CB_TRACKS && !e; tr++) {
		if (!t.cur[tr]->n)
			continue;
		endpoints_of(t.cur[tr], t.rec[tr], eps);
		e = txn_stage(&t, tr, eps, t.cur[tr]->ids, t.cur[tr]->n, -1);
	}
	free(eps);
	return txn_end(&t, e);
}

int cb_track_get(const struct cb_maps *m, const struct cb_svc_key *k, unsigned int track,
		 struct cb_endpoint *out, size_t *n)
{
	struct cb_members *mem;
	struct cb_service svc;
	int err;

	if (track >= CB_TRACKS)
		return -EINVAL;
	err = cb_svc_get(m, k, &svc);
	if (err)
		return err;
	mem = calloc(1, sizeof(*mem));
	if (!mem)
		return -ENOMEM;
	err = cb_members_get(m, svc.id, track, mem);
	if (!err && mem->n > *n)
		err = -ENOSPC;
	for (uint32_t i = 0; !err && i < mem->n; i++) {
		struct cb_backend b;

		if (bpf_map_lookup_elem(m->backends, &mem->ids[i], &b)) {
			err = -errno;
			break;
		}
		out[i].addr = b.addr;
		out[i].port = ntohs(b.port);
		out[i].family = b.family;
	}
	if (!err)
		*n = mem->n;
	free(mem);
	return err;
}


int cb_track_promote(const struct cb_maps *m, const struct cb_svc_key *k)
{
	struct cb_endpoint *eps = calloc(CB_MAX_TRACK_BACKENDS, sizeof(*eps));
	const struct cb_members *stable, *canary;
	struct txn t;
	int e = txn_begin(&t, m, k);

	if (!e)
		e = eps ? txn_load(&t) : -ENOMEM;
	if (e)
		goto out;
	stable = t.cur[CB_TRACK_STABLE];
	canary = t.cur[CB_TRACK_CANARY];
	if (!canary->n || !t.svc.nb[CB_TRACK_CANARY])
		e = -ENOENT;
	else if (canary->n > t.svc.m[CB_TRACK_STABLE] || stable->n > t.svc.m[CB_TRACK_CANARY])
		e = -E2BIG;
	if (e)
		goto out;
	/* Start from the canary's own table: new connections land where they did. */
	endpoints_of(canary, t.rec[CB_TRACK_CANARY], eps);
	e = txn_stage(&t, CB_TRACK_STABLE, eps, canary->ids, canary->n,
		      t.svc.m[CB_TRACK_STABLE] == t.svc.m[CB_TRACK_CANARY] ? CB_TRACK_CANARY : -1);
	/*
	 * The old stable set becomes the canary track, which takes no new
	 * connection (CB_SVC_F_NO_CANARY) but keeps its backends' connections.
	 */
	if (!e) {
		endpoints_of(stable, t.rec[CB_TRACK_STABLE], eps);
		e = txn_stage(&t, CB_TRACK_CANARY, eps, stable->ids, stable->n, -1);
	}
	/* An empty set publishes no table, but the record moves to the next generation all the same. */
	if (!e && !stable->n)
		t.next.gen[CB_TRACK_CANARY] ^= 1;
	t.next.weight_bp = 0;
	t.next.flags |= CB_SVC_F_NO_CANARY;
	free(eps);
	return txn_end(&t, e);
out:
	free(eps);
	txn_free(&t);
	return e;
}
