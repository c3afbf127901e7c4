// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Reading the per-CPU counters. */
#include "dpstate.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cb_stats_read(const struct cb_maps *m, uint32_t svc_id, unsigned int track,
		  struct cb_track_stats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint32_t idx = cb_stats_idx(svc_id, track);
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
		for (int k = 0; k < 4; k++)
			out->http[k] += per[c].http[k];
		out->connect_failures += per[c].connect_failures;
	}
	free(per);
	return 0;
}

static const char *const global_names[CB_G_MAX] = {
	[CB_G_PASS_MALFORMED] = "malformed", [CB_G_PASS_FRAGMENT] = "fragment",
	[CB_G_PASS_UNKNOWN] = "unknown", [CB_G_PASS_NOT_SERVICE] = "not_service",
	[CB_G_CT_RESELECT] = "ct_reselect", [CB_G_FWD_REDIRECT] = "redirect",
	[CB_G_FWD_STACK] = "stack", [CB_G_DROP_NO_BACKEND] = "no_backend",
	[CB_G_REV_NAT] = "rev_nat", [CB_G_CT_MISS] = "ct_miss", [CB_G_PASS_BAD_CSUM] = "bad_csum",
	[CB_G_PEND_NEW] = "pending_new", [CB_G_CT_VERIFIED] = "verified",
	[CB_G_DROP_REV_COLLISION] = "rev_collision", [CB_G_ICMP_NAT] = "icmp_nat",
	[CB_G_FRAG_NAT] = "frag_nat", [CB_G_DROP_FRAG] = "frag_dropped", [CB_G_PASS_TTL] = "ttl_expiring",
	[CB_G_CT_INSERT] = "ct_insert", [CB_G_CT_DELETE] = "ct_delete",
	[CB_G_PEND_INSERT] = "pending_insert", [CB_G_PEND_DELETE] = "pending_delete",
	[CB_G_CT_DELETE_USER] = "ct_delete_user", [CB_G_PEND_DELETE_USER] = "pending_delete_user",
};

int cb_global_add_user(const struct cb_maps *m, unsigned int i, uint64_t n)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *per;
	int err = 0;

	if (i != CB_G_CT_DELETE_USER && i != CB_G_PEND_DELETE_USER)
		return -EINVAL;
	if (ncpu < 0)
		return ncpu;
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	/* No program writes these: CPU 0's slot is user space's, under the state lock. */
	if (bpf_map_lookup_elem(m->global, &i, per))
		err = -errno;
	per[0] += n;
	if (!err && bpf_map_update_elem(m->global, &i, per, BPF_EXIST))
		err = -errno;
	free(per);
	return err;
}

const char *cb_global_name(unsigned int i)
{
	return i < CB_G_MAX && global_names[i] ? global_names[i] : "unnamed";
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

int cb_hist_read(const struct cb_maps *m, uint32_t svc_id, unsigned int track, unsigned int kind,
		 struct cb_hist *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint32_t key = cb_hist_idx(svc_id, track, kind);
	struct cb_hist *per;

	if (ncpu < 0)
		return ncpu;
	if (track >= CB_TRACKS || kind >= CB_HISTS)
		return -EINVAL;
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(m->hist, &key, per)) {
		int err = -errno;

		free(per);
		return err;
	}
	for (int c = 0; c < ncpu; c++) {
		out->count += per[c].count;
		out->sum_us += per[c].sum_us;
		for (int b = 0; b < CB_HIST_BUCKETS; b++)
			out->bucket[b] += per[c].bucket[b];
	}
	free(per);
	return 0;
}
