// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Backend sets of a track and their Maglev tables. */
#include "dpstate.h"
#include "dpstate_int.h"
#include "maglev.h"

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

/* Slots of the live table of a track, as backend ids. */
static int table_read(const struct cb_maps *m, const struct cb_tbl_key *tk, uint32_t msize,
		      uint32_t *ids)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	uint32_t inner_id, count = msize, out = 0;
	uint32_t *keys;
	int fd, err = 0;

	if (bpf_map_lookup_elem(m->maglev, tk, &inner_id))
		return -errno;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -errno;
	keys = calloc(msize, sizeof(*keys));
	if (!keys)
		err = -ENOMEM;
	else if (bpf_map_lookup_batch(fd, NULL, &out, keys, ids, &count, &bopts) && errno != ENOENT)
		err = -errno;
	else if (count != msize)
		err = -EIO;
	free(keys);
	close(fd);
	return err;
}

/*
 * Build the table for sorted[] (ids[] alike) and publish it as generation
 * tk->gen. The previous table, when given, keeps every slot it can: the
 * backends that stay keep their flows.
 */
static int table_publish(const struct cb_maps *m, const struct cb_tbl_key *tk, uint32_t msize,
			 const struct cb_endpoint *sorted, const uint32_t *ids, size_t n,
			 const uint32_t *prev_ids)
{
	struct backend_key {
		uint8_t addr[16];
		uint8_t port[2];
		uint8_t family;
	} *keys_b = calloc(n, sizeof(*keys_b)), *keys;
	struct cb_maglev_item *items = calloc(n, sizeof(*items));
	uint32_t *slots = calloc(msize, sizeof(*slots));
	uint32_t *slot_keys = calloc(msize, sizeof(*slot_keys));
	uint32_t *prev = prev_ids ? calloc(msize, sizeof(*prev)) : NULL;
	LIBBPF_OPTS(bpf_map_create_opts, copts, .map_flags = BPF_F_INNER_MAP);
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	int err = -ENOMEM, fd = -1;
	uint32_t count = msize;

	keys = keys_b;
	if (!keys || !items || !slots || !slot_keys || (prev_ids && !prev))
		goto out;
	/* A backend's identity is its bytes, never a struct's padding: nodes must agree. */
	for (size_t i = 0; i < n; i++) {
		keys[i].family = sorted[i].family;
		keys[i].port[0] = (uint8_t)(sorted[i].port >> 8);
		keys[i].port[1] = (uint8_t)sorted[i].port;
		memcpy(keys[i].addr, sorted[i].addr.b, sizeof(keys[i].addr));
		items[i].key = &keys[i];
		items[i].key_len = sizeof(keys[i]);
	}
	for (uint32_t s = 0; prev && s < msize; s++) {
		prev[s] = UINT32_MAX;
		for (size_t i = 0; i < n; i++)
			if (ids[i] == prev_ids[s]) {
				prev[s] = (uint32_t)i;
				break;
			}
	}
	err = cb_maglev_rebuild(items, n, msize, prev, slots);
	if (err)
		goto out;
	for (uint32_t s = 0; s < msize; s++) {
		slot_keys[s] = s;
		slots[s] = ids[slots[s]];
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "cb_maglev_t", sizeof(uint32_t),
			    sizeof(uint32_t), msize, &copts);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	/* Updating a map-in-map also waits until no program still uses the old inner map. */
	if (bpf_map_update_batch(fd, slot_keys, slots, &count, &bopts) ||
	    bpf_map_update_elem(m->maglev, tk, &fd, BPF_ANY))
		err = -errno;
	else
		err = 0;
out:
	if (fd >= 0)
		close(fd);
	free(keys_b);
	free(items);
	free(slots);
	free(slot_keys);
	free(prev);
	return err;
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

int cb_track_set(const struct cb_maps *m, const struct cb_svc_key *k, unsigned int track,
		 const struct cb_endpoint *backends, size_t n)
{
	struct cb_members *old = NULL, *nw = NULL, *other = NULL;
	struct cb_backend *oldb = NULL, *otherb = NULL;
	struct cb_endpoint *sorted = NULL;
	uint8_t *inserted = NULL;
	struct cb_service svc;
	int err;

	if (track >= CB_TRACKS || n > CB_MAX_TRACK_BACKENDS)
		return -EINVAL;
	err = cb_svc_get(m, k, &svc);
	if (err)
		return err;
	if (n > svc.m[track])
		return -E2BIG;

	old = calloc(1, sizeof(*old));
	nw = calloc(1, sizeof(*nw));
	other = calloc(1, sizeof(*other));
	oldb = calloc(CB_MAX_TRACK_BACKENDS, sizeof(*oldb));
	otherb = calloc(CB_MAX_TRACK_BACKENDS, sizeof(*otherb));
	sorted = calloc(n ? n : 1, sizeof(*sorted));
	inserted = calloc(n ? n : 1, 1);
	err = -ENOMEM;
	if (!old || !nw || !other || !oldb || !otherb || !sorted || !inserted)
		goto out;

	/* Validate the whole request before touching a map. */
	for (size_t i = 0; i < n; i++) {
		sorted[i] = backends[i];
		if (sorted[i].family != k->family) {
			err = -EAFNOSUPPORT;
			goto out;
		}
		if (!sorted[i].port)
			sorted[i].port = ntohs(k->port);
	}
	qsort(sorted, n, sizeof(*sorted), cb_endpoint_cmp);
	for (size_t i = 1; i < n; i++) {
		if (!cb_endpoint_cmp(&sorted[i - 1], &sorted[i])) {
			err = -ENOTUNIQ;
			goto out;
		}
	}
	if ((err = members_load(m, svc.id, track, old, oldb)) ||
	    (err = members_load(m, svc.id, track ^ 1, other, otherb)))
		goto out;

	/*
	 * Backends that stay keep their id, and so do backends that come from the
	 * other track (a promotion): their connections must not move.
	 */
	nw->n = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		int id = find_id(&sorted[i], old, oldb);

		if (id < 0)
			id = find_id(&sorted[i], other, otherb);
		if (id >= 0) {
			nw->ids[i] = (uint32_t)id;
			continue;
		}
		struct cb_backend b = {
			.addr = sorted[i].addr, .port = htons(sorted[i].port),
			.family = sorted[i].family, .svc_id = svc.id,
		};
		err = new_backend_id(m, &nw->ids[i]);
		if (!err && bpf_map_update_elem(m->backends, &nw->ids[i], &b, BPF_NOEXIST))
			err = -errno;
		if (err)
			goto rollback;
		inserted[i] = 1;
	}

	struct cb_members_key mk = { .svc_id = svc.id, .track = track };
	struct cb_tbl_key live = { .svc_id = svc.id, .track = (uint8_t)track,
				   .gen = svc.gen[track] };
	int had_table = svc.nb[track] > 0;

	if (n) {
		struct cb_tbl_key next = live;
		uint32_t *prev = NULL;

		next.gen ^= 1;
		if (had_table) {
			prev = calloc(svc.m[track], sizeof(*prev));
			err = prev ? table_read(m, &live, svc.m[track], prev) : -ENOMEM;
			if (err) {
				free(prev);
				goto rollback;
			}
		}
		err = table_publish(m, &next, svc.m[track], sorted, nw->ids, n, prev);
		free(prev);
		if (err)
			goto rollback;
		if (bpf_map_update_elem(m->members, &mk, nw, BPF_ANY)) {
			err = -errno;
			bpf_map_delete_elem(m->maglev, &next);
			goto rollback;
		}
		svc.gen[track] = next.gen;
	} else if (bpf_map_delete_elem(m->members, &mk) && errno != ENOENT) {
		err = -errno;
		goto rollback;
	}
	/* The switch: one element update makes the new set live. */
	svc.nb[track] = (uint32_t)n;
	if (bpf_map_update_elem(m->services, k, &svc, BPF_EXIST)) {
		err = -errno;
		if (old->n)
			bpf_map_update_elem(m->members, &mk, old, BPF_ANY);
		else
			bpf_map_delete_elem(m->members, &mk);
		if (n) {
			struct cb_tbl_key next = live;

			next.gen ^= 1;
			bpf_map_delete_elem(m->maglev, &next);
		}
		goto rollback;
	}
	/*
	 * Retire the old table. Deleting from a map-in-map returns only once no
	 * program can still be using what the old record pointed to, so the
	 * removed backends can go after it; their flows re-select.
	 */
	if (had_table)
		bpf_map_delete_elem(m->maglev, &live);
	for (uint32_t j = 0; j < old->n; j++) {
		size_t i;

		for (i = 0; i < n; i++)
			if (nw->ids[i] == old->ids[j])
				break;
		/* Still serving the other track: keep it. */
		if (i == n && !has_id(other, old->ids[j]))
			bpf_map_delete_elem(m->backends, &old->ids[j]);
	}
	err = 0;
	goto out;
rollback:
	for (size_t i = 0; i < n; i++)
		if (inserted[i])
			bpf_map_delete_elem(m->backends, &nw->ids[i]);
out:
	free(old);
	free(nw);
	free(other);
	free(oldb);
	free(otherb);
	free(sorted);
	free(inserted);
	return err;
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
	struct cb_members *stable = calloc(1, sizeof(*stable)), *canary = calloc(1, sizeof(*canary));
	struct cb_backend *recs = calloc(CB_MAX_TRACK_BACKENDS, sizeof(*recs));
	struct cb_endpoint *eps = calloc(CB_MAX_TRACK_BACKENDS, sizeof(*eps));
	struct cb_members_key smk = { .track = CB_TRACK_STABLE }, cmk = { .track = CB_TRACK_CANARY };
	struct cb_tbl_key old_s, live_c, next_s, next_c;
	struct cb_service svc, nsvc;
	uint32_t *prev = NULL;
	int err = -ENOMEM, have_c = 0;

	if (!stable || !canary || !recs || !eps)
		goto out;
	if ((err = cb_svc_get(m, k, &svc)) ||
	    (err = members_load(m, svc.id, CB_TRACK_CANARY, canary, recs)) ||
	    (err = cb_members_get(m, svc.id, CB_TRACK_STABLE, stable)))
		goto out;
	err = -ENOENT;
	if (!canary->n || !svc.nb[CB_TRACK_CANARY])
		goto out;
	err = -E2BIG;
	if (canary->n > svc.m[CB_TRACK_STABLE] || stable->n > svc.m[CB_TRACK_CANARY])
		goto out;
	/* Members are kept in endpoint order, which table_publish expects. */
	for (uint32_t i = 0; i < canary->n; i++) {
		eps[i].addr = recs[i].addr;
		eps[i].port = ntohs(recs[i].port);
		eps[i].family = recs[i].family;
	}
	smk.svc_id = cmk.svc_id = svc.id;
	old_s = (struct cb_tbl_key){ .svc_id = svc.id, .track = CB_TRACK_STABLE,
				     .gen = svc.gen[CB_TRACK_STABLE] };
	live_c = (struct cb_tbl_key){ .svc_id = svc.id, .track = CB_TRACK_CANARY,
				      .gen = svc.gen[CB_TRACK_CANARY] };
	next_s = old_s;
	next_s.gen ^= 1;
	next_c = live_c;
	next_c.gen ^= 1;
	/* Start from the canary's own table: new connections land where they did. */
	if (svc.m[CB_TRACK_STABLE] == svc.m[CB_TRACK_CANARY]) {
		prev = calloc(svc.m[CB_TRACK_CANARY], sizeof(*prev));
		err = prev ? table_read(m, &live_c, svc.m[CB_TRACK_CANARY], prev) : -ENOMEM;
		if (err)
			goto out;
	}
	err = table_publish(m, &next_s, svc.m[CB_TRACK_STABLE], eps, canary->ids, canary->n, prev);
	if (err)
		goto out;
	/*
	 * The old stable set becomes the canary track, which takes no new
	 * connection (CB_SVC_F_NO_CANARY) but keeps its backends' connections.
	 */
	if (stable->n) {
		if ((err = members_load(m, svc.id, CB_TRACK_STABLE, stable, recs)))
			goto undo_s;
		for (uint32_t i = 0; i < stable->n; i++) {
			eps[i].addr = recs[i].addr;
			eps[i].port = ntohs(recs[i].port);
			eps[i].family = recs[i].family;
		}
		err = table_publish(m, &next_c, svc.m[CB_TRACK_CANARY], eps, stable->ids, stable->n,
				    NULL);
		if (err)
			goto undo_s;
		have_c = 1;
	}
	if (bpf_map_update_elem(m->members, &smk, canary, BPF_ANY) ||
	    (stable->n ? bpf_map_update_elem(m->members, &cmk, stable, BPF_ANY) :
	     bpf_map_delete_elem(m->members, &cmk))) {
		err = -errno;
		goto undo_members;
	}
	nsvc = svc;
	nsvc.nb[CB_TRACK_STABLE] = canary->n;
	nsvc.gen[CB_TRACK_STABLE] = next_s.gen;
	nsvc.nb[CB_TRACK_CANARY] = stable->n;
	nsvc.gen[CB_TRACK_CANARY] = next_c.gen;
	nsvc.weight_bp = 0;
	nsvc.flags |= CB_SVC_F_NO_CANARY;
	/* The switch. */
	if (bpf_map_update_elem(m->services, k, &nsvc, BPF_EXIST)) {
		err = -errno;
		goto undo_members;
	}
	/* As in cb_track_set: these deletes wait until no program uses the old tables. */
	if (svc.nb[CB_TRACK_STABLE])
		bpf_map_delete_elem(m->maglev, &old_s);
	bpf_map_delete_elem(m->maglev, &live_c);
	err = 0;
	goto out;
undo_members:
	if (stable->n)
		bpf_map_update_elem(m->members, &smk, stable, BPF_ANY);
	else
		bpf_map_delete_elem(m->members, &smk);
	bpf_map_update_elem(m->members, &cmk, canary, BPF_ANY);
	if (have_c)
		bpf_map_delete_elem(m->maglev, &next_c);
undo_s:
	bpf_map_delete_elem(m->maglev, &next_s);
out:
	free(stable);
	free(canary);
	free(recs);
	free(eps);
	free(prev);
	return err;
}
