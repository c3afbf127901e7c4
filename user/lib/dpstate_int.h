/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Shared between the dpstate source files; not part of the library's interface. */
#ifndef CB_DPSTATE_INT_H
#define CB_DPSTATE_INT_H

#include "dpstate.h"

/* Members of a track; an absent entry reads as an empty set. */
int cb_members_get(const struct cb_maps *m, uint32_t svc_id, unsigned int track,
		   struct cb_members *out);
/* Delete every override of a service (it is being deleted). */
void cb_overrides_purge(const struct cb_maps *m, uint32_t svc_id);

/* A name as the by-name maps (cb_names, cb_rollouts, cb_ctl) key it: NUL-padded. */
struct cb_name cb_name_key(const char *name);

#endif
