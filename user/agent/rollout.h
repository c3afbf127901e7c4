/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The rollout state machine of one service, with no I/O: the agent feeds it
 * analysis verdicts, elapsed time and CLI commands, stores the record it
 * keeps (struct cb_rollout, pinned) and carries out the action it returns.
 *
 *   idle -> progressing(step, weight) <-> paused -> promoted | rolled_back
 */
#ifndef CB_ROLLOUT_H
#define CB_ROLLOUT_H

#include <stddef.h>
#include <stdint.h>
#include "analysis.h"
#include "canary_bpf.h"
#include "config.h"

enum cb_ro_action {
	CB_RO_NONE = 0,
	CB_RO_SET_WEIGHT,     /* a new step: set r->weight_bp, start a new analysis window */
	CB_RO_ROLLBACK,       /* canary off at once, run on_rollback */
	CB_RO_PROMOTE,        /* canary becomes stable, run on_promote */
	CB_RO_PAUSE,          /* stopped (on_failure: pause, or a gate): weight stays */
	CB_RO_RESTART_WINDOW, /* same step, but the analysis window starts again */
};

struct cb_ro_input {
	uint64_t dt_ms;                /* time progressing since the previous check */
	enum cb_verdict verdict;       /* over the step's window */
	const char *why;               /* the analysis' reason */
	uint64_t canary_connections;   /* new canary connections in this step */
	int canary_all_down;           /* every canary backend fails its health check */
};

/* A rollout of the canary set with fingerprint fp begins at the first step. */
enum cb_ro_action cb_ro_start(const struct cb_cfg_rollout *cfg, struct cb_rollout *r, uint64_t fp);
/* One analysis check while progressing (other phases: CB_RO_NONE). */
enum cb_ro_action cb_ro_check(const struct cb_cfg_rollout *cfg, struct cb_rollout *r,
			      const struct cb_ro_input *in);
/*
 * A command of the CLI. Returns the action, or -1 with msg saying why the
 * command does not apply in this phase; msg also describes what happened.
 */
int cb_ro_command(const struct cb_cfg_rollout *cfg, struct cb_rollout *r, enum cb_ctl_cmd cmd,
		  char *msg, size_t len);

/* Of a track's endpoints in order (the caller sorts them); never 0. */
uint64_t cb_set_fingerprint(const void *data, size_t len);

#endif
