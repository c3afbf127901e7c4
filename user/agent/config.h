/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The agent's configuration file (SPEC "Agent"), parsed with libyaml and
 * validated as a whole: a file either yields a complete struct cb_config or
 * one error "FILE:LINE:COL: what", and nothing else happens.
 */
#ifndef CB_CONFIG_H
#define CB_CONFIG_H

#include <net/if.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include "attach.h"   /* enum cb_mode */
#include "parse.h"
#include "probe.h"    /* enum cb_check */

#define CB_CFG_ERR_LEN 512

#define CB_CFG_ERRORS_MAX 20     /* --validate: errors reported, the first in msg */
#define CB_CFG_DEPTH_MAX 16       /* nesting of lists and mappings (the schema needs 5) */

/*
 * msg: the first error, "FILE:LINE:COL: what" (what the agent prints);
 * more: the others found (every bad service is checked), one per line.
 */
struct cb_cfg_err {
	char msg[CB_CFG_ERR_LEN];
	char more[CB_CFG_ERRORS_MAX * 160];
	unsigned int count;
};

enum cb_cfg_on_failure { CB_ON_FAILURE_ROLLBACK, CB_ON_FAILURE_PAUSE };

struct cb_cfg_iface {
	char name[IF_NAMESIZE];
	enum cb_mode mode;
};

struct cb_cfg_override {
	struct cb_endpoint net;
	unsigned int len;
	unsigned int track;
};

struct cb_cfg_health {
	enum cb_check type;          /* CB_CHECK_NONE: no health_check key */
	char path[256];                  /* http only */
	uint64_t interval_ms, timeout_ms;
	unsigned int unhealthy_after, healthy_after;
};

/* A step: a canary weight, or a manual gate that waits for resume/promote. */
#define CB_STEP_PAUSE UINT32_MAX

struct cb_cfg_rollout {
	int present;
	uint32_t *steps;                 /* basis points, or CB_STEP_PAUSE */
	size_t nsteps;
	uint64_t step_duration_ms;
	uint64_t min_connections;
	uint64_t progress_deadline_ms;
	uint64_t interval_ms;            /* analysis */
	double max_reset_ratio, max_error_ratio, max_latency_ratio;
	double max_connect_failure_ratio;
	uint64_t min_samples;            /* canary samples a metric needs to pass */
	unsigned int failure_limit;
	int auto_promote;
	int drain_on_rollback;           /* 0: canary connections move to stable at rollback */
	enum cb_cfg_on_failure on_failure;
	char *on_promote, *on_rollback;  /* hook commands ("" or NULL: none) */
	uint64_t hook_timeout_ms;
};

struct cb_cfg_service {
	char name[CB_NAME_LEN];
	struct cb_endpoint vip;          /* with the service port */
	uint8_t proto, affinity;
	struct cb_endpoint *backends[2]; /* [CB_TRACK_STABLE], [CB_TRACK_CANARY] */
	size_t nbackends[2];
	struct cb_cfg_override *overrides;
	size_t noverrides;
	struct cb_cfg_health health;
	struct cb_cfg_rollout rollout;
	char release[CB_NAME_LEN];       /* the canary's release: its rollout's identity; "": the canary set's */
};

/* A seed file holds 16..256 bytes: e.g. `openssl rand -hex 32` in a Secret. */
#define CB_CFG_SEED_MIN 16
#define CB_CFG_SEED_MAX 256

struct cb_config {
	struct cb_cfg_iface *ifaces;
	size_t nifaces;
	struct cb_cfg_service *services;
	size_t nservices;
	uint32_t ct_entries;             /* conntrack: {entries: N}; 0: sized for the node */
	char seed_file[PATH_MAX];        /* hash seeds every node shares; "": the state's own */
	unsigned int seed_line, seed_col;
	unsigned char seed[CB_CFG_SEED_MAX]; /* its bytes, read by cb_config_load */
	size_t seed_len;
};

/* 0, or -1 with err "FILE:LINE:COL: what" (*out untouched). */
int cb_config_load(const char *path, struct cb_config *out, struct cb_cfg_err *err);
/* The same from a string; name stands for the file in messages. */
int cb_config_parse(const char *text, size_t len, const char *name, struct cb_config *out,
		    struct cb_cfg_err *err);
void cb_config_free(struct cb_config *c);


#endif
