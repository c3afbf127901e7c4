// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "dpstate.h"
#include "maglev.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define SVC_BATCH 256

int cb_meta_check(const struct cb_maps *m, uint32_t *found)
{
	struct cb_meta meta;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(m->meta, &zero, &meta))
		return -errno;
	if (found)
		*found = meta.layout_version;
	return meta.layout_version == CB_LAYOUT_VERSION ? 0 : -EPROTO;
}

int cb_meta_init(const struct cb_maps *m)
{
	struct cb_meta meta = { .layout_version = CB_LAYOUT_VERSION };
	uint32_t zero = 0, found = 0;
	int err = cb_meta_check(m, &found);

	if (err != -EPROTO || found != 0)
		return err;
	return bpf_map_update_elem(m->meta, &zero, &meta, BPF_ANY) ? -errno : 0;
}

void cb_svc_key_make(struct cb_svc_key *k, const struct cb_endpoint *vip, uint8_t proto)
{
	memset(k, 0, sizeof(*k));
	k->vip = vip->addr;
	k->port = htons(vip->port);
	k->proto = proto;
	k->family = vip->family;
}

int cb_svc_get(const struct cb_maps *m, const struct cb_svc_key *k, struct cb_service *out)
{
	return bpf_map_lookup_elem(m->services, k, out) ? -errno : 0;
}

/* Mark the ids of all services; one batched walk instead of a syscall per entry. */
static int svc_ids_used(const struct cb_maps *m, uint8_t *used)
{
	struct cb_svc_key keys[SVC_BATCH];
	struct cb_service vals[SVC_BATCH];
	uint32_t in = 0, out = 0;
	void *inp = NULL;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	for (;;) {
		uint32_t count = SVC_BATCH;
		int err = bpf_map_lookup_batch(m->services, inp, &out, keys, vals, &count, &opts);

		if (err && errno != ENOENT)
			return -errno;
		for (uint32_t i = 0; i < count; i++)
			if (vals[i].id < CB_MAX_SERVICES)
				used[vals[i].id] = 1;
		if (err)
			return 0;
		in = out;
		inp = &in;
	}
}

static int percpu_zero(int fd, uint32_t idx, size_t value_size)
{
	int ncpu = libbpf_num_possible_cpus();
	void *buf;
	int err;

	if (ncpu < 0)
		return ncpu;
	buf = calloc((size_t)ncpu, (value_size + 7) & ~(size_t)7);
	if (!buf)
		return -ENOMEM;
	err = bpf_map_update_elem(fd, &idx, buf, BPF_ANY) ? -errno : 0;
	free(buf);
	return err;
}

int cb_svc_add(const struct cb_maps *m, const struct cb_svc_key *k, uint8_t affinity,
	       uint32_t maglev_m, uint32_t *id_out)
{
	struct cb_service svc = { 0 };
	uint8_t *used;
	uint32_t id;
	int err;

	if (affinity != CB_AFFINITY_CONNECTION && affinity != CB_AFFINITY_CLIENT)
		return -EINVAL;
	if (k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP)
		return -EINVAL;
	if (k->family != CB_AF_INET && k->family != CB_AF_INET6)
		return -EINVAL;
	if (!maglev_m)
		maglev_m = CB_MAGLEV_M;
	if (maglev_m > CB_MAGLEV_M_MAX || !cb_maglev_size_ok(maglev_m))
		return -EINVAL;
	if (cb_svc_get(m, k, &svc) == 0)
		return -EEXIST;

	used = calloc(CB_MAX_SERVICES, 1);
	if (!used)
		return -ENOMEM;
	err = svc_ids_used(m, used);
	for (id = 0; !err && id < CB_MAX_SERVICES && used[id]; id++)
		;
	free(used);
	if (err)
		return err;
	if (id == CB_MAX_SERVICES)
		return -ENOSPC;

	/* A reused id must not inherit the counters of the service it belonged to. */
	for (unsigned int t = 0; t < CB_TRACKS; t++) {
		err = percpu_zero(m->stats, id * CB_TRACKS + t, sizeof(struct cb_track_stats));
		if (err)
			return err;
	}
	memset(&svc, 0, sizeof(svc));
	svc.id = id;
	svc.affinity = affinity;
	svc.m[0] = svc.m[1] = maglev_m;
	if (bpf_map_update_elem(m->services, k, &svc, BPF_NOEXIST))
		return -errno;
	if (id_out)
		*id_out = id;
	return 0;
}

int cb_weight_set(const struct cb_maps *m, const struct cb_svc_key *k, uint32_t weight_bp)
{
	struct cb_service svc;
	int err;

	if (weight_bp > CB_WEIGHT_MAX)
		return -ERANGE;
	err = cb_svc_get(m, k, &svc);
	if (err)
		return err;
	svc.weight_bp = (uint16_t)weight_bp;
	return bpf_map_update_elem(m->services, k, &svc, BPF_EXIST) ? -errno : 0;
}

static int members_get(const struct cb_maps *m, uint32_t svc_id, unsigned int track,
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

static int endpoint_cmp(const void *a, const void *b)
{
	const struct cb_endpoint *x = a, *y = b;
	int c = memcmp(x->addr.b, y->addr.b, sizeof(x->addr.b));

	if (c)
		return c;
	return (int)x->port - (int)y->port;
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
	struct cb_maglev_item *items = calloc(n, sizeof(*items));
	uint32_t *slots = calloc(msize, sizeof(*slots));
	uint32_t *keys = calloc(msize, sizeof(*keys));
	uint32_t *prev = prev_ids ? calloc(msize, sizeof(*prev)) : NULL;
	LIBBPF_OPTS(bpf_map_create_opts, copts, .map_flags = BPF_F_INNER_MAP);
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	int err = -ENOMEM, fd = -1;
	uint32_t count = msize;

	if (!items || !slots || !keys || (prev_ids && !prev))
		goto out;
	for (size_t i = 0; i < n; i++) {
		items[i].key = &sorted[i];
		items[i].key_len = sizeof(sorted[i]);
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
		keys[s] = s;
		slots[s] = ids[slots[s]];
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "cb_maglev_t", sizeof(uint32_t),
			    sizeof(uint32_t), msize, &copts);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	/* Updating a map-in-map also waits until no program still uses the old inner map. */
	if (bpf_map_update_batch(fd, keys, slots, &count, &bopts) ||
	    bpf_map_update_elem(m->maglev, tk, &fd, BPF_ANY))
		err = -errno;
	else
		err = 0;
out:
	if (fd >= 0)
		close(fd);
	free(items);
	free(slots);
	free(keys);
	free(prev);
	return err;
}

int cb_track_set(const struct cb_maps *m, const struct cb_svc_key *k, unsigned int track,
		 const struct cb_endpoint *backends, size_t n)
{
	struct cb_members *old = NULL, *nw = NULL;
	struct cb_backend *oldb = NULL;
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
	oldb = calloc(CB_MAX_TRACK_BACKENDS, sizeof(*oldb));
	sorted = calloc(n ? n : 1, sizeof(*sorted));
	inserted = calloc(n ? n : 1, 1);
	err = -ENOMEM;
	if (!old || !nw || !oldb || !sorted || !inserted)
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
	qsort(sorted, n, sizeof(*sorted), endpoint_cmp);
	for (size_t i = 1; i < n; i++) {
		if (!endpoint_cmp(&sorted[i - 1], &sorted[i])) {
			err = -ENOTUNIQ;
			goto out;
		}
	}
	err = members_get(m, svc.id, track, old);
	if (err)
		goto out;
	for (uint32_t i = 0; i < old->n && i < CB_MAX_TRACK_BACKENDS; i++) {
		if (bpf_map_lookup_elem(m->backends, &old->ids[i], &oldb[i])) {
			err = -errno;
			goto out;
		}
	}

	/* Backends that stay keep their id: their connections must not move. */
	nw->n = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		uint32_t j;

		for (j = 0; j < old->n; j++)
			if (endpoint_is_backend(&sorted[i], &oldb[j]))
				break;
		if (j < old->n) {
			nw->ids[i] = old->ids[j];
			continue;
		}
		struct cb_backend b = {
			.addr = sorted[i].addr, .port = htons(sorted[i].port),
			.family = sorted[i].family, .track = (uint8_t)track, .svc_id = svc.id,
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
		if (i == n)
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
	free(oldb);
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
	err = members_get(m, svc.id, track, mem);
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

union cb_ovr_key {
	struct cb_ovr4_key v4;
	struct cb_ovr6_key v6;
};

/* Fill an LPM key for svc + net/len (host bits cleared); returns the map fd. */
static int ovr_key(const struct cb_maps *m, uint32_t svc_id, const struct cb_endpoint *net,
		   unsigned int len, union cb_ovr_key *key)
{
	unsigned int bits = net->family == CB_AF_INET ? 32 : 128;
	uint8_t *a;

	if (len > bits)
		return -EINVAL;
	memset(key, 0, sizeof(*key));
	if (net->family == CB_AF_INET) {
		key->v4.prefixlen = 32 + len;
		key->v4.svc_id = htonl(svc_id);
		memcpy(key->v4.addr, net->addr.b, 4);
		a = key->v4.addr;
	} else {
		key->v6.prefixlen = 32 + len;
		key->v6.svc_id = htonl(svc_id);
		memcpy(key->v6.addr, net->addr.b, 16);
		a = key->v6.addr;
	}
	for (unsigned int bit = len; bit < bits; bit++)
		a[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	return net->family == CB_AF_INET ? m->ovr4 : m->ovr6;
}

int cb_override_add(const struct cb_maps *m, const struct cb_svc_key *k,
		    const struct cb_endpoint *net, unsigned int prefix_len, unsigned int track)
{
	union cb_ovr_key key;
	struct cb_ovr_val v = { .track = (uint8_t)track };
	struct cb_service svc;
	int fd, err;

	if (track >= CB_TRACKS)
		return -EINVAL;
	err = cb_svc_get(m, k, &svc);
	if (err)
		return err;
	if (net->family != k->family)
		return -EAFNOSUPPORT;
	fd = ovr_key(m, svc.id, net, prefix_len, &key);
	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(fd, &key, &v, BPF_ANY))
		return -errno;
	if (svc.flags & CB_SVC_F_OVERRIDES)
		return 0;
	svc.flags |= CB_SVC_F_OVERRIDES;
	if (bpf_map_update_elem(m->services, k, &svc, BPF_EXIST)) {
		err = -errno;
		bpf_map_delete_elem(fd, &key);
		return err;
	}
	return 0;
}

/* Whether any override of svc_id is left in the trie behind fd. */
static int ovr_any(int fd, size_t key_size, uint32_t svc_id)
{
	uint8_t cur[sizeof(struct cb_ovr6_key)], next[sizeof(struct cb_ovr6_key)];
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		uint32_t id;

		memcpy(&id, next + 4, 4);
		if (ntohl(id) == svc_id)
			return 1;
		memcpy(cur, next, key_size);
		prev = cur;
	}
	return 0;
}

int cb_override_del(const struct cb_maps *m, const struct cb_svc_key *k,
		    const struct cb_endpoint *net, unsigned int prefix_len)
{
	union cb_ovr_key key;
	struct cb_service svc;
	int fd, err;

	err = cb_svc_get(m, k, &svc);
	if (err)
		return err;
	if (net->family != k->family)
		return -EAFNOSUPPORT;
	fd = ovr_key(m, svc.id, net, prefix_len, &key);
	if (fd < 0)
		return fd;
	if (bpf_map_delete_elem(fd, &key))
		return -errno;
	if (ovr_any(fd, fd == m->ovr4 ? sizeof(key.v4) : sizeof(key.v6), svc.id))
		return 0;
	svc.flags &= (uint8_t)~CB_SVC_F_OVERRIDES;
	return bpf_map_update_elem(m->services, k, &svc, BPF_EXIST) ? -errno : 0;
}

/* Delete every override of svc_id from one trie. */
static void ovr_purge(int fd, size_t key_size, uint32_t svc_id)
{
	uint8_t key[sizeof(struct cb_ovr6_key)];

	while (ovr_any(fd, key_size, svc_id)) {
		uint8_t next[sizeof(struct cb_ovr6_key)];
		void *prev = NULL;

		while (bpf_map_get_next_key(fd, prev, next) == 0) {
			uint32_t id;

			memcpy(&id, next + 4, 4);
			if (ntohl(id) == svc_id)
				break;
			memcpy(key, next, key_size);
			prev = key;
		}
		if (bpf_map_delete_elem(fd, next))
			return;
	}
}

int cb_svc_del(const struct cb_maps *m, const struct cb_svc_key *k)
{
	struct cb_members *mem;
	struct cb_service svc;
	int err = cb_svc_get(m, k, &svc);

	if (err)
		return err;
	mem = calloc(1, sizeof(*mem));
	if (!mem)
		return -ENOMEM;
	/* The switch first: from here on the VIP is plain traffic again. */
	if (bpf_map_delete_elem(m->services, k)) {
		err = -errno;
		free(mem);
		return err;
	}
	for (unsigned int t = 0; t < CB_TRACKS; t++) {
		struct cb_members_key mk = { .svc_id = svc.id, .track = t };

		for (uint8_t g = 0; g < 2; g++) {
			struct cb_tbl_key tk = { .svc_id = svc.id, .track = (uint8_t)t, .gen = g };

			bpf_map_delete_elem(m->maglev, &tk);
		}
		if (members_get(m, svc.id, t, mem) == 0)
			for (uint32_t i = 0; i < mem->n; i++)
				bpf_map_delete_elem(m->backends, &mem->ids[i]);
		bpf_map_delete_elem(m->members, &mk);
	}
	ovr_purge(m->ovr4, sizeof(struct cb_ovr4_key), svc.id);
	ovr_purge(m->ovr6, sizeof(struct cb_ovr6_key), svc.id);
	free(mem);
	return 0;
}

int cb_stats_read(const struct cb_maps *m, uint32_t svc_id, unsigned int track,
		  struct cb_track_stats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint32_t idx = svc_id * CB_TRACKS + track;
	struct cb_track_stats *per;

	if (ncpu < 0)
		return ncpu;
	if (track >= CB_TRACKS || svc_id >= CB_MAX_SERVICES)
		return -EINVAL;
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(m->stats, &idx, per)) {
		int err = -errno;

		free(per);
		return err;
	}
	memset(out, 0, sizeof(*out));
	for (int c = 0; c < ncpu; c++) {
		out->packets += per[c].packets;
		out->bytes += per[c].bytes;
		out->connections += per[c].connections;
		out->resets_from_backend += per[c].resets_from_backend;
		out->resets_from_client += per[c].resets_from_client;
		out->drops += per[c].drops;
	}
	free(per);
	return 0;
}

int cb_global_read(const struct cb_maps *m, uint64_t out[CB_G_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *per;

	if (ncpu < 0)
		return ncpu;
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	for (uint32_t i = 0; i < CB_G_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(m->global, &i, per)) {
			int err = -errno;

			free(per);
			return err;
		}
		for (int c = 0; c < ncpu; c++)
			out[i] += per[c];
	}
	free(per);
	return 0;
}

int cb_tx_port_add(const struct cb_maps *m, uint32_t ifindex)
{
	return bpf_map_update_elem(m->tx_ports, &ifindex, &ifindex, BPF_ANY) ? -errno : 0;
}
