/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Replacing the running programs of the pinned state by this build's, in place. */
#ifndef CB_UPGRADE_H
#define CB_UPGRADE_H

#include "pinned.h"

/*
 * When the pinned programs are another build's (same layout): this build's
 * run on every hook that ran them (*hooks: how many were switched), and are
 * pinned. 0: nothing to do; 1: upgraded; -errno with err (every hook as it
 * was). Needs the state lock.
 */
int cb_state_upgrade(struct cb_state *st, unsigned int *hooks, struct cb_err *err);
/* Record this build as the pinned programs' (a state just created). */
int cb_meta_set_build(const struct cb_maps *m, struct cb_err *err);

#endif
