// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cb_baddr: what the datapath knows of a backend address (include/canary_bpf.h).
 * Its records are counted, and while all of them serve one VIP:port the
 * entry names it: a reply then finds its pending flow without an index
 * entry, so a new flow writes one element. When the last record goes the
 * entry stays, retired, for the replies of the flows still on it; retired
 * entries leave when the map needs their room (oldest after a flow's
 * lifetime first, then any).
 */
#include "dpstate.h"
#include "dpstate_int.h"
#include "canary_params.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CLOCK_MONOTONIC, the datapath's bpf_ktime_get_ns(). */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Delete retired entries retired before cutoff (0: every retired one); the count deleted. */
static int sweep_retired(const struct cb_maps *m, uint64_t cutoff)
{
	struct cb_baddr_key k, next, *gone;
	struct cb_baddr_val v;
	size_t n = 0, cap = 2 * CB_MAX_BACKENDS;
	void *prev = NULL;

	gone = calloc(cap, sizeof(*gone));
	if (!gone)
		return -ENOMEM;
	while (n < cap && bpf_map_get_next_key(m->baddr, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(m->baddr, &k, &v) == 0 && v.users == 0 &&
		    (!cutoff || v.retired_ns < cutoff))
			gone[n++] = k;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(m->baddr, &gone[i]);
	free(gone);
	return (int)n;
}

static int baddr_write(const struct cb_maps *m, const struct cb_baddr_key *k,
		       const struct cb_baddr_val *v)
{
	uint64_t now;

	if (bpf_map_update_elem(m->baddr, k, v, BPF_ANY) == 0)
		return 0;
	if (errno != E2BIG && errno != ENOMEM)
		return -errno;
	now = mono_ns();
	if (sweep_retired(m, now > CB_CT_UDP_LIFETIME ? now - CB_CT_UDP_LIFETIME : 1) <= 0 &&
	    sweep_retired(m, 0) <= 0)
		return -ENOSPC;
	return bpf_map_update_elem(m->baddr, k, v, BPF_ANY) ? -errno : 0;
}

int cb_baddr_ref(const struct cb_maps *m, const struct cb_svc_key *svc, const struct cb_backend *b,
		 int delta)
{
	struct cb_baddr_key k;
	struct cb_baddr_val v;
	int same;

	memset(&k, 0, sizeof(k));
	k.addr = b->addr;
	k.family = b->family;
	if (bpf_map_lookup_elem(m->baddr, &k, &v) || (v.users == 0 && delta > 0)) {
		if (delta < 0)
			return 0;
		memset(&v, 0, sizeof(v));
		v.vip = svc->vip;
		v.vport = svc->port;
	}
	same = !memcmp(&v.vip, &svc->vip, sizeof(v.vip)) && v.vport == svc->port;
	if (delta > 0) {
		v.users++;
		if (same)
			v.vip_users++;
		else
			v.shared = 1;   /* until no record is left: flows placed meanwhile have an index */
	} else if (v.users) {
		v.users--;
		if (same && v.vip_users)
			v.vip_users--;
		if (v.users && !v.vip_users)
			v.shared = 1;   /* the VIP it names serves none of them: replies take the index */
		if (!v.users)
			v.retired_ns = mono_ns();
	}
	return baddr_write(m, &k, &v);
}
