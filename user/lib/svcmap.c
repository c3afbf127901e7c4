// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Services: records, ids, weights, and the layout version of the pinned state. */
#include "dpstate.h"
#include "dpstate_int.h"
#include "maglev.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stddef.h>
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

int cb_meta_get(const struct cb_maps *m, struct cb_meta *out)
{
	uint32_t zero = 0;

	return bpf_map_lookup_elem(m->meta, &zero, out) ? -errno : 0;
}

static uint32_t map_size(int fd)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

/* 16 bytes of seed as the four hash seeds: the track's, the slot's, Maglev's two. */
static void seeds_from(struct cb_meta *meta, const uint8_t seed[CB_SEED_LEN])
{
	memcpy(&meta->seed_track, seed, 4);
	memcpy(&meta->seed_backend, seed + 4, 4);
	meta->maglev_seed[0] = cb_fnv1a(CB_FNV1A_INIT, seed, CB_SEED_LEN);
	meta->maglev_seed[1] = cb_fnv1a(meta->maglev_seed[0], seed, CB_SEED_LEN);
	meta->flags |= CB_META_F_SEEDED;
}

int cb_meta_init(const struct cb_maps *m)
{
	struct cb_meta meta = { .layout_version = CB_LAYOUT_VERSION };
	uint8_t seed[CB_SEED_LEN];
	uint32_t zero = 0, found = 0;
	int err = cb_meta_check(m, &found);

	if (err != -EPROTO || found != 0)
		return err;
	if (getrandom(seed, sizeof(seed), 0) != sizeof(seed))
		return -errno;
	seeds_from(&meta, seed);
	meta.ct_entries = map_size(m->ct);
	meta.pend_entries = map_size(m->pend);
	return bpf_map_update_elem(m->meta, &zero, &meta, BPF_ANY) ? -errno : 0;
}

int cb_meta_set_seed(const struct cb_maps *m, const void *secret, size_t len)
{
	uint8_t seed[CB_SEED_LEN];
	struct cb_meta meta, want;
	uint64_t h[2];
	uint32_t zero = 0;
	int err;

	if (len < CB_SEED_LEN)
		return -EINVAL;
	if ((err = cb_meta_get(m, &meta)))
		return err;
	/* Every byte of the secret matters, and the same secret gives the same seeds on every node. */
	h[0] = cb_fnv1a(CB_FNV1A_INIT, secret, len);
	h[1] = cb_fnv1a(h[0] ^ 0x9e3779b97f4a7c15ULL, secret, len);
	memcpy(seed, h, sizeof(seed));
	want = meta;
	seeds_from(&want, seed);
	want.flags |= CB_META_F_SHARED;
	if (!memcmp(&want, &meta, sizeof(meta)))
		return 0;
	return bpf_map_update_elem(m->meta, &zero, &want, BPF_EXIST) ? -errno : 1;
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
	/*
	 * cb_hist is not preallocated (it would take megabytes per CPU), and its
	 * new elements come from per-CPU caches the kernel refills in the
	 * background: back-to-back service adds can find one empty (ENOMEM, seen
	 * 6 times in 1,000 adds under load). Give the refill a moment.
	 */
	for (int tries = 0; tries < 50; tries++) {
		err = bpf_map_update_elem(fd, &idx, buf, BPF_ANY) ? -errno : 0;
		if (err != -ENOMEM)
			break;
		usleep(1000);
	}
	free(buf);
	return err;
}

static void hists_del(const struct cb_maps *m, uint32_t id)
{
	for (uint32_t t = 0; t < CB_TRACKS; t++)
		for (uint32_t k = 0; k < CB_HISTS; k++) {
			uint32_t key = cb_hist_idx(id, t, k);

			bpf_map_delete_elem(m->hist, &key);
		}
}

int cb_svc_add(const struct cb_maps *m, const struct cb_svc_key *k, uint8_t affinity,
	       uint32_t maglev_m, uint8_t flags, uint32_t *id_out)
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
	if (flags & ~CB_SVC_F_PENDING)
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

	/*
	 * A reused id must not inherit the counters of the service it belonged to;
	 * the histograms exist only while their service does.
	 */
	for (unsigned int t = 0; t < CB_TRACKS; t++) {
		err = percpu_zero(m->stats, cb_stats_idx(id, t), sizeof(struct cb_track_stats));
		for (unsigned int kind = 0; !err && kind < CB_HISTS; kind++)
			err = percpu_zero(m->hist, cb_hist_idx(id, t, kind), sizeof(struct cb_hist));
		if (err) {
			hists_del(m, id);
			return err;
		}
	}
	memset(&svc, 0, sizeof(svc));
	svc.id = id;
	svc.affinity = affinity;
	svc.flags = flags;
	svc.m[0] = svc.m[1] = maglev_m;
	if (bpf_map_update_elem(m->services, k, &svc, BPF_NOEXIST)) {
		err = -errno;
		hists_del(m, id);
		return err;
	}
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
	svc.flags &= (uint8_t)~CB_SVC_F_NO_CANARY;
	return bpf_map_update_elem(m->services, k, &svc, BPF_EXIST) ? -errno : 0;
}

int cb_svc_publish(const struct cb_maps *m, const struct cb_svc_key *k)
{
	struct cb_service svc;
	int err = cb_svc_get(m, k, &svc);

	if (err || !(svc.flags & CB_SVC_F_PENDING))
		return err;
	svc.flags &= (uint8_t)~CB_SVC_F_PENDING;
	return bpf_map_update_elem(m->services, k, &svc, BPF_EXIST) ? -errno : 0;
}

int cb_svc_set_affinity(const struct cb_maps *m, const struct cb_svc_key *k, uint8_t affinity)
{
	struct cb_service svc;
	int err = cb_svc_get(m, k, &svc);

	if (err)
		return err;
	if (affinity > CB_AFFINITY_CLIENT)
		return -EINVAL;
	svc.affinity = affinity;
	return bpf_map_update_elem(m->services, k, &svc, BPF_EXIST) ? -errno : 0;
}

int cb_canary_off(const struct cb_maps *m, const struct cb_svc_key *k)
{
	struct cb_service svc;
	int err = cb_svc_get(m, k, &svc);

	if (err)
		return err;
	svc.weight_bp = 0;
	svc.flags |= CB_SVC_F_NO_CANARY;
	return bpf_map_update_elem(m->services, k, &svc, BPF_EXIST) ? -errno : 0;
}

/*
 * Forget the flows of a deleted service: its id will be handed out again,
 * and a late reply of an old connection must not count for the new owner.
 */
static uint64_t flows_purge(int fd, size_t ksz, size_t vsz, size_t id_off, uint32_t svc_id)
{
	uint64_t deleted = 0;
	enum { BATCH = 1024 };
	uint8_t *keys = calloc(BATCH, ksz), *vals = calloc(BATCH, vsz), *gone = calloc(BATCH, ksz);
	uint32_t in = 0, out = 0;
	void *inp = NULL;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	while (keys && vals && gone) {
		uint32_t count = BATCH, ngone = 0;
		int err = bpf_map_lookup_batch(fd, inp, &out, keys, vals, &count, &opts);

		if (err && errno != ENOENT)
			break;
		for (uint32_t i = 0; i < count; i++) {
			uint32_t id;

			memcpy(&id, vals + (size_t)i * vsz + id_off, sizeof(id));
			if (id == svc_id)
				memcpy(gone + (size_t)ngone++ * ksz, keys + (size_t)i * ksz, ksz);
		}
		for (uint32_t i = 0; i < ngone; i++)
			deleted += bpf_map_delete_elem(fd, gone + (size_t)i * ksz) == 0;
		if (err)
			break;
		in = out;
		inp = &in;
	}
	free(keys);
	free(vals);
	free(gone);
	return deleted;
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
		if (cb_members_get(m, svc.id, t, mem) == 0)
			for (uint32_t i = 0; i < mem->n; i++)
				cb_backend_drop(m, k, mem->ids[i]);
		bpf_map_delete_elem(m->members, &mk);
	}
	cb_overrides_purge(m, svc.id);
	hists_del(m, svc.id);
	cb_global_add_user(m, CB_G_CT_DELETE_USER,
			   flows_purge(m->ct, sizeof(struct cb_ct_key), sizeof(struct cb_ct_entry),
				       offsetof(struct cb_ct_entry, svc_id), svc.id));
	flows_purge(m->rev, sizeof(struct cb_ct_key), sizeof(struct cb_rev_entry),
		    offsetof(struct cb_rev_entry, svc_id), svc.id);
	cb_global_add_user(m, CB_G_PEND_DELETE_USER,
			   flows_purge(m->pend, sizeof(struct cb_ct_key), sizeof(struct cb_pend_entry),
				       offsetof(struct cb_pend_entry, ct.svc_id), svc.id));
	/* cb_pend_rev names flows by key: an entry of a purged flow leads nowhere and ages out. */
	flows_purge(m->frag, sizeof(struct cb_frag_key), sizeof(struct cb_frag_val),
		    offsetof(struct cb_frag_val, svc_id), svc.id);
	free(mem);
	return 0;
}

int cb_tx_port_add(const struct cb_maps *m, uint32_t ifindex)
{
	return bpf_map_update_elem(m->tx_ports, &ifindex, &ifindex, BPF_ANY) ? -errno : 0;
}

int cb_tx_port_del(const struct cb_maps *m, uint32_t ifindex)
{
	return bpf_map_delete_elem(m->tx_ports, &ifindex) && errno != ENOENT ? -errno : 0;
}
