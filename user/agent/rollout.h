/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The rollout of one service, with no I/O: the state machine the agent feeds
 * with analysis verdicts, elapsed time and CLI commands (it stores the
 * record, struct cb_rollout, pinned), where a rollout starts from the file,
 * and what each phase means for the maps (cb_ro_plan), which the reconcile
 * pass applies. The driver decides and records; nothing else here.
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

/* What a decision asks of the driver beyond the record (the maps follow cb_ro_plan). */
enum cb_ro_action {
	CB_RO_NONE = 0,
	CB_RO_SET_WEIGHT,     /* a new step (r->weight_bp): a new analysis window */
	CB_RO_ROLLBACK,       /* canary off at once: run on_rollback */
	CB_RO_PROMOTE,        /* canary becomes stable: run on_promote */
	CB_RO_PAUSE,          /* stopped (on_failure: pause, or a gate): weight stays */
	CB_RO_RESTART_WINDOW, /* same step, but the analysis window starts again */
};

struct cb_ro_input {
	uint64_t dt_ms;                /* time progressing since the previous check */
	enum cb_verdict verdict;       /* over the step's window */
	const char *why;               /* the analysis' reason */
	uint64_t canary_connections;   /* new canary connections in this step */
	uint64_t canary_requests;      /* canary HTTP responses counted in this step */
	int canary_all_down;           /* every canary backend fails its health check */
	int total_failure;             /* half or more of the canary's connections or requests fail */
	int no_canary_backends;        /* the file lists none (a release between pods) */
};

/* A rollout of the canary set with fingerprint fp begins at the first step. */
enum cb_ro_action cb_ro_start(const struct cb_cfg_rollout *cfg, struct cb_rollout *r, uint64_t fp);
/* One analysis check while progressing or paused with canary traffic (other phases: CB_RO_NONE). */
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

/* What cb_ro_from_config did to the record. */
enum cb_ro_origin {
	CB_RO_KEPT = 0,       /* the record goes on as it was */
	CB_RO_STARTED,        /* a canary set not rolled out yet: a rollout at its first step */
	CB_RO_IDLED,          /* no rollout configured, or no canary: idle */
};

/*
 * The record for what the file says now. A canary set this service has
 * not rolled out yet (by fingerprint) starts a rollout at now_ms; a
 * service without a rollout or without canary backends is idle.
 */
enum cb_ro_origin cb_ro_from_config(const struct cb_cfg_service *svc, struct cb_rollout *r,
				    uint64_t now_ms);

/* How a track picks its backends from the file's sets (struct cb_ro_plan). */
enum cb_ro_serve {
	CB_SERVE_HEALTHY = 0, /* the healthy backends of the set */
	CB_SERVE_DRAIN,       /* those of the set the track serves now, healthy or not: none is added */
	CB_SERVE_NONE,        /* nothing */
};

/*
 * What the maps must hold for a service in the phase of its record: the
 * one place that says what promoted, rolled back or progressing means.
 */
struct cb_ro_plan {
	int owns_weight;               /* 0: no rollout; weight and flags are the operator's */
	uint32_t weight_bp;            /* with owns_weight */
	int no_canary;                 /* CB_SVC_F_NO_CANARY: not even an override reaches canary */
	int swap;                      /* promoted, not swapped yet (CB_RO_F_SWAPPED): the canary
					* track's backends become the stable set in one update
					* (cb_track_promote) before the rest */
	struct {
		unsigned int from;     /* which set of the file (CB_TRACK_*) */
		enum cb_ro_serve serve;
	} track[CB_TRACKS];
};

void cb_ro_plan(const struct cb_cfg_service *svc, const struct cb_rollout *r, struct cb_ro_plan *p);

#endif
