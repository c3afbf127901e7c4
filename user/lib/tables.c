// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The Maglev tables of a track: an inner array map per (service, track,
 * generation) in cb_maglev, built here from a sorted backend set and
 * published into the generation the datapath does not read yet.
 */
#include "dpstate_int.h"
#include "maglev.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Slots of the live table of a track, as backend ids. */
int cb_table_read(const struct cb_maps *m, const struct cb_tbl_key *tk, uint32_t msize,
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
 * backends that stay keep their flows. Not with seeds shared by a fleet
 * (CB_META_F_SHARED): there every node must build the same table from the
 * same set, whatever sets it saw before, so the table is classic Maglev.
 */
int cb_table_publish(const struct cb_maps *m, const struct cb_tbl_key *tk, uint32_t msize,
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
	struct cb_meta meta;

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
	err = cb_meta_get(m, &meta);
	if (!err)
		err = cb_maglev_rebuild_seeded(items, n, msize,
					       (meta.flags & CB_META_F_SHARED) ? NULL : prev,
					       (const uint64_t *)meta.maglev_seed, slots);
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
