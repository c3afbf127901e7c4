// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "ctstat.h"
#include "dpstate.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 1024

const char *cb_ct_table_name(enum cb_ct_table t)
{
	return t == CB_CT_VERIFIED ? "established" : "half_open";
}

static int table_fd(const struct cb_maps *m, unsigned int t)
{
	return t == CB_CT_VERIFIED ? m->ct : m->pend;
}

/* One batch of the table being walked; 1 when the table is done. */
/* (A batch returns whole hash buckets: a count smaller than a bucket fails with ENOSPC.) */
static int batch(const struct cb_maps *m, struct cb_ct_scan *s, struct cb_ct_key *keys,
		 void *vals, uint32_t max, uint32_t *got)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t out = 0, count = max;
	int err = bpf_map_lookup_batch(table_fd(m, s->table), s->resume ? &s->cursor : NULL, &out,
				       keys, vals, &count, &opts);

	if (err && errno != ENOENT)
		return -errno;
	*got = count;
	s->partial += count;
	s->cursor = out;
	s->resume = 1;
	return err ? 1 : 0;
}

int cb_ct_scan_step(const struct cb_maps *m, struct cb_ct_scan *s, uint32_t budget)
{
	struct cb_ct_key *keys = calloc(BATCH, sizeof(*keys));
	/* Room for the larger value: a pending flow's element holds both halves. */
	void *vals = calloc(BATCH, sizeof(struct cb_pend_entry));
	uint32_t done = 0, got = 0;
	int r = keys && vals ? 0 : -ENOMEM;

	while (!r && done < budget) {
		r = batch(m, s, keys, vals, BATCH, &got);
		done += got + 1;        /* an empty batch still costs a step */
		if (r != 1)
			continue;
		s->entries[s->table] = s->partial;
		s->counted[s->table] = 1;
		s->partial = 0;
		s->resume = 0;
		if (++s->table < CB_CT_TABLES) {
			r = 0;
			continue;
		}
		s->table = 0;
	}
	free(keys);
	free(vals);
	return r;
}

static uint32_t capacity(int fd)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

int cb_ct_usage(const struct cb_maps *m, const struct cb_ct_scan *s, enum cb_ct_table t,
		struct cb_ct_usage *u)
{
	uint64_t g[CB_G_MAX];
	int v = t == CB_CT_VERIFIED, err = cb_global_read(m, g);
	uint64_t gone;

	if (err)
		return err;
	memset(u, 0, sizeof(*u));
	u->entries = s->entries[t];
	u->capacity = capacity(table_fd(m, t));
	u->inserts = g[v ? CB_G_CT_INSERT : CB_G_PEND_INSERT];
	u->deletes = g[v ? CB_G_CT_DELETE : CB_G_PEND_DELETE] +
		     g[v ? CB_G_CT_DELETE_USER : CB_G_PEND_DELETE_USER];
	gone = u->deletes + u->entries;
	/* A walk under churn is a little off either way: never below zero. */
	u->evictions = s->counted[t] && u->inserts > gone ? u->inserts - gone : 0;
	return 0;
}
