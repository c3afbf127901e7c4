/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The agent's pinned memory (cb_rollouts: one rollout record per service
 * name) and its mailbox (cb_ctl: the CLI's last rollout command), with the
 * words status readers print for them. All return 0 or a negative errno.
 */
#ifndef CB_RECORDS_H
#define CB_RECORDS_H

#include <stdint.h>
#include "canary_bpf.h"
#include "maps.h"

int cb_rollout_get(const struct cb_maps *m, const char *name, struct cb_rollout *out);
int cb_rollout_put(const struct cb_maps *m, const char *name, const struct cb_rollout *r);
int cb_rollout_del(const struct cb_maps *m, const char *name);
int cb_ctl_get(const struct cb_maps *m, const char *name, struct cb_ctl *out);
int cb_ctl_put(const struct cb_maps *m, const char *name, const struct cb_ctl *c);
int cb_ctl_del(const struct cb_maps *m, const char *name);
/* Calls fn for each request still pending; stops at the first nonzero return. */
int cb_ctl_each_pending(const struct cb_maps *m,
			int (*fn)(const char *name, struct cb_ctl *c, void *arg), void *arg);
/* "idle", "progressing", ... (SPEC phases) and "pause", "resume", ...: the record's words. */
const char *cb_phase_name(uint32_t phase);
const char *cb_ctl_name(uint32_t cmd);

#endif
