/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Datapath state: every change user space makes to the maps goes through
 * here. Each call validates first and then makes the change visible to the
 * datapath with one final map update, so no packet sees half of it.
 * All functions return 0 or a negative errno.
 */
#ifndef CB_DPSTATE_H
#define CB_DPSTATE_H

#include <stddef.h>
#include <stdint.h>
#include "base.h"
#include "canary_bpf.h"
#include "maps.h"
#include "records.h"

/*
 * A fresh cb_meta: the layout version, random hash seeds, the conntrack
 * sizes the maps were created with. Or check the version of the one there.
 */
int cb_meta_init(const struct cb_maps *m);
int cb_meta_check(const struct cb_maps *m, uint32_t *found);
int cb_meta_get(const struct cb_maps *m, struct cb_meta *out);
/*
 * Seeds derived from a secret every node of a fleet shares (the agent's
 * seed_file, at least CB_SEED_LEN bytes): the nodes hash flows alike, and
 * their Maglev tables become pure functions of the backend set
 * (CB_META_F_SHARED). 0 when they are already those, 1 when they were
 * changed (rebuild every table: cb_tables_rebuild), or -errno.
 */
#define CB_SEED_LEN 16
int cb_meta_set_seed(const struct cb_maps *m, const void *secret, size_t len);

void cb_svc_key_make(struct cb_svc_key *k, const struct cb_endpoint *vip, uint8_t proto);

/* flags: 0, or CB_SVC_F_PENDING to fill the tracks before cb_svc_publish() serves it. */
int cb_svc_add(const struct cb_maps *m, const struct cb_svc_key *k, uint8_t affinity,
	       uint32_t maglev_m, uint8_t flags, uint32_t *id_out);
/* Serve a CB_SVC_F_PENDING service (no-op for one already served). */
int cb_svc_publish(const struct cb_maps *m, const struct cb_svc_key *k);
int cb_svc_del(const struct cb_maps *m, const struct cb_svc_key *k);
int cb_svc_get(const struct cb_maps *m, const struct cb_svc_key *k, struct cb_service *out);
/* Setting a weight also lifts a rollback's CB_SVC_F_NO_CANARY: it is an explicit decision. */
int cb_weight_set(const struct cb_maps *m, const struct cb_svc_key *k, uint32_t weight_bp);
/* Rollback: weight 0 and no canary for overrides either, in one record update. */
int cb_canary_off(const struct cb_maps *m, const struct cb_svc_key *k);

/* Replace the whole backend set of a track (n == 0 empties it). */
int cb_track_set(const struct cb_maps *m, const struct cb_svc_key *k, unsigned int track,
		 const struct cb_endpoint *backends, size_t n);
/*
 * Promotion: the canary backends become the stable set and the old stable
 * backends the canary set, the weight returns to 0 and CB_SVC_F_NO_CANARY
 * keeps new connections off the old set, all in one service record update.
 * Backend ids stay, so no established connection moves: the old stable
 * backends drain until they are removed from the (canary) track.
 */
int cb_track_promote(const struct cb_maps *m, const struct cb_svc_key *k);
/* Current backends of a track; *n is capacity in, count out. */
int cb_track_get(const struct cb_maps *m, const struct cb_svc_key *k, unsigned int track,
		 struct cb_endpoint *out, size_t *n);
/* Both tracks' tables built afresh from their members (after a seed change); nothing moves in cb_ct. */
int cb_tables_rebuild(const struct cb_maps *m, const struct cb_svc_key *k);

int cb_override_add(const struct cb_maps *m, const struct cb_svc_key *k,
		    const struct cb_endpoint *net, unsigned int prefix_len, unsigned int track);
int cb_override_del(const struct cb_maps *m, const struct cb_svc_key *k,
		    const struct cb_endpoint *net, unsigned int prefix_len);

/* Sum of the per-CPU counters of one track. */
int cb_stats_read(const struct cb_maps *m, uint32_t svc_id, unsigned int track,
		  struct cb_track_stats *out);
int cb_global_read(const struct cb_maps *m, uint64_t out[CB_G_MAX]);
/* Add n to a counter user space keeps in cb_global (CB_G_*_DELETE_USER only). */
int cb_global_add_user(const struct cb_maps *m, unsigned int i, uint64_t n);
/* The metric label of a global counter ("ct_miss", ...); every one has a name. */
const char *cb_global_name(unsigned int i);
/* Sum of the per-CPU latency histogram of one track (enum cb_hist_kind). */
int cb_hist_read(const struct cb_maps *m, uint32_t svc_id, unsigned int track, unsigned int kind,
		 struct cb_hist *out);

/* Service names (cb_names). cb_names_list returns them sorted; free(*names). */
int cb_name_get(const struct cb_maps *m, const char *name, struct cb_svc_key *out);
int cb_name_put(const struct cb_maps *m, const char *name, const struct cb_svc_key *key);
int cb_name_del(const struct cb_maps *m, const char *name);
int cb_name_of(const struct cb_maps *m, const struct cb_svc_key *key, char *name, size_t len);
int cb_names_list(const struct cb_maps *m, char (**names)[CB_NAME_LEN], size_t *n);

/* Overrides of a service, for listing: *out is malloc'd (free it), *n its length. */
struct cb_override {
	struct cb_endpoint net;
	unsigned int len;
	unsigned int track;
};
int cb_overrides_list(const struct cb_maps *m, uint32_t svc_id, uint8_t family,
		      struct cb_override **out, size_t *n);

int cb_svc_set_affinity(const struct cb_maps *m, const struct cb_svc_key *k, uint8_t affinity);

/* Allow XDP_REDIRECT to ifindex (the device must run an XDP program). */
int cb_tx_port_add(const struct cb_maps *m, uint32_t ifindex);
int cb_tx_port_del(const struct cb_maps *m, uint32_t ifindex);

#endif
