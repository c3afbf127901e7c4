/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Shared between the dpstate source files; not part of the library's interface. */
#ifndef CB_DPSTATE_INT_H
#define CB_DPSTATE_INT_H

#include "dpstate.h"

/* Members of a track; an absent entry reads as an empty set. */
int cb_members_get(const struct cb_maps *m, uint32_t svc_id, unsigned int track,
		   struct cb_members *out);
/* A backend record of service k in, or out, with its address counted in cb_baddr. */
int cb_backend_put(const struct cb_maps *m, const struct cb_svc_key *k, uint32_t id,
		   const struct cb_backend *b);
void cb_backend_drop(const struct cb_maps *m, const struct cb_svc_key *k, uint32_t id);
/* b's address counted in cb_baddr (delta +1 or -1), as a record of service k (baddr.c). */
int cb_baddr_ref(const struct cb_maps *m, const struct cb_svc_key *k, const struct cb_backend *b,
		 int delta);
/* Delete every override of a service (it is being deleted). */
void cb_overrides_purge(const struct cb_maps *m, uint32_t svc_id);

/* The live table of a track (tk), msize slots, as backend ids. */
int cb_table_read(const struct cb_maps *m, const struct cb_tbl_key *tk, uint32_t msize,
		  uint32_t *ids);
/*
 * Build the table of sorted[] (their ids[] alike, n > 0) and publish it as
 * generation tk->gen. With prev_ids (the slots of the table it replaces),
 * every slot of a backend that stays keeps it: their flows do not move.
 */
int cb_table_publish(const struct cb_maps *m, const struct cb_tbl_key *tk, uint32_t msize,
		     const struct cb_endpoint *sorted, const uint32_t *ids, size_t n,
		     const uint32_t *prev_ids);

/* A name as the by-name maps (cb_names, cb_rollouts, cb_ctl) key it: NUL-padded. */
struct cb_name cb_name_key(const char *name);

#endif
