/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* New connections: which track (override, else weight), then which backend (Maglev). */
#ifndef CB_BPF_SELECT_H
#define CB_BPF_SELECT_H

#include "maps.h"
#include "hash.h"
#include "parse.h"

/*
 * Independent seeds (the track decision must not correlate with the backend
 * slot), random per installation and kept in cb_meta: a client cannot aim
 * at a track by choosing its ports. An array lookup is inlined: a few
 * instructions per new flow.
 */
static __always_inline const struct cb_meta *cb_meta_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cb_meta, &zero);
}

/* Affinity hash: the client address alone, or the whole 5-tuple. */
static __always_inline __u32 cb_affinity_hash(const struct cb_pkt *p, __u8 affinity, __u32 seed)
{
	if (affinity == CB_AFFINITY_CLIENT)
		return cb_hash_addr(p->saddr.v6, seed);
	return cb_hash_flow(p->saddr.v6, p->daddr.v6,
			    ((__u32)p->sport << 16) | p->dport, p->proto, seed);
}

/* Returns the override's track, or -1 when no override matches. */
static __always_inline int cb_override_track(const struct cb_pkt *p, const struct cb_service *svc)
{
	struct cb_ovr_val *v;

	if (!(svc->flags & CB_SVC_F_OVERRIDES))
		return -1;
	if (p->family == CB_AF_INET) {
		struct cb_ovr4_key k = { .prefixlen = 64, .svc_id = bpf_htonl(svc->id) };

		__builtin_memcpy(k.addr, &p->saddr.v4, 4);
		v = bpf_map_lookup_elem(&cb_ovr4, &k);
	} else {
		struct cb_ovr6_key k = { .prefixlen = 160, .svc_id = bpf_htonl(svc->id) };

		__builtin_memcpy(k.addr, p->saddr.b, 16);
		v = bpf_map_lookup_elem(&cb_ovr6, &k);
	}
	return v ? (v->track & 1) : -1;
}

/*
 * Track for a new connection. A bucket in 0..9999 below the weight goes to
 * canary; with client affinity the bucket depends on the client only, so a
 * higher weight only ever adds clients to canary.
 */
static __always_inline __u32 cb_pick_track(const struct cb_pkt *p, const struct cb_service *svc,
					    __u32 seed)
{
	__u32 bucket;
	int t;

	if (svc->flags & CB_SVC_F_NO_CANARY)
		return CB_TRACK_STABLE;
	t = cb_override_track(p, svc);
	if (t >= 0)
		return t;
	bucket = cb_affinity_hash(p, svc->affinity, seed) % CB_WEIGHT_MAX;
	return bucket < svc->weight_bp ? CB_TRACK_CANARY : CB_TRACK_STABLE;
}

/*
 * Per-track fields, read without a variable array index: clang turns
 * "base + (t & 1) * 4" on an aligned stack pointer into an OR, which the
 * verifier refuses.
 */
#define cb_trk(svc, field, t) ((t) ? (svc)->field[1] : (svc)->field[0])

enum cb_pick_res {
	CB_PICK_OK = 0,
	CB_PICK_EMPTY,    /* the track has no backend: its share goes elsewhere */
	CB_PICK_STALE,    /* a table or backend vanished: the record read is outdated */
};

/* Maglev lookup in the live table of a track. */
static __always_inline int cb_pick_backend(const struct cb_pkt *p, const struct cb_service *svc,
					   __u32 track, __u32 seed, __u32 *id_out,
					   struct cb_backend **be)
{
	struct cb_tbl_key tk = { .svc_id = svc->id, .track = track };
	__u32 m = cb_trk(svc, m, track), slot, *id;
	void *tbl;

	if (!cb_trk(svc, nb, track) || !m)
		return CB_PICK_EMPTY;
	tk.gen = cb_trk(svc, gen, track) & 1;
	tbl = bpf_map_lookup_elem(&cb_maglev, &tk);
	if (!tbl)
		return CB_PICK_STALE;
	slot = cb_affinity_hash(p, svc->affinity, seed) % m;
	id = bpf_map_lookup_elem(tbl, &slot);
	if (!id)
		return CB_PICK_STALE;
	*id_out = *id;
	*be = bpf_map_lookup_elem(&cb_backends, id);
	return *be ? CB_PICK_OK : CB_PICK_STALE;
}

/* Track, then backend; a track without a backend passes its share to the other. */
static __always_inline int cb_pick(const struct cb_pkt *p, const struct cb_service *svc,
				   __u32 *track, __u32 *bid, struct cb_backend **be)
{
	const struct cb_meta *meta = cb_meta_get();
	__u32 st = meta ? meta->seed_track : 0, sb = meta ? meta->seed_backend : 0;
	int r;

	*track = cb_pick_track(p, svc, st);
	r = cb_pick_backend(p, svc, *track, sb, bid, be);
	if (r != CB_PICK_EMPTY)
		return r;
	*track ^= 1;
	r = cb_pick_backend(p, svc, *track, sb, bid, be);
	if (r == CB_PICK_EMPTY)
		*track ^= 1;   /* drops are counted on the track the weight chose */
	return r;
}

#endif
