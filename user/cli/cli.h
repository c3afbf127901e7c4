/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What every verb of the command line shares. */
#ifndef CB_CLI_H
#define CB_CLI_H

#include <stdint.h>
#include <json-c/json.h>
#include <stdio.h>
#include "opts.h"
#include "parse.h"
#include "pinned.h"

struct cli {
	int json;
	const char *pin;
	uint32_t ct_entries;   /* --ct-entries: the conntrack size of a state created now */
};

/* "canary-bpf: WHAT: WHY" on stderr; returns code. */
int cli_fail(int code, const char *what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The arguments of a verb (argv[0] is the verb): options by the verb's
 * table (opts, into the struct at dst; NULL: none), positionals into pos.
 * Returns their number, or -1 after printing the usage error.
 */
int cli_args(const char *verb, int argc, char **argv, const struct cb_opt *opts, void *dst,
	     const char **pos, int max_pos);

/*
 * Open the state (flags: CB_STATE_*); prints the error and returns an exit
 * code on failure. With no state at all, a verb about an existing service
 * (service != NULL) reports that service as unknown.
 */
int cli_state(const struct cli *c, int flags, struct cb_state *st, const char *service);
/* Look a service up by name; prints "service NAME: no such service" (exit 2). */
int cli_service(const struct cb_state *st, const char *name, struct cb_svc_key *key,
		struct cb_service *svc);
/* The state locked (flags) and the service called name; returns an exit code. */
/* agentctl.c: a request to the agent and its answer (0, or the exit code after the error line). */
int cli_ctl_ask(struct cb_state *st, const char *what, const char *name, enum cb_ctl_cmd cmd,
		struct cb_ctl *ans);
/*
 * Before a change to service name (state open and locked): refused (exit 2)
 * when a running agent manages it, unless force, which tells the agent first.
 */
int cli_agent_guard(const struct cli *c, struct cb_state *st, const char *verb, const char *name,
		    int force);
extern const struct cb_opt cli_force_opts[];   /* --force, into an int */

int cli_open_service(const struct cli *c, const char *verb, const char *name, int flags,
		     struct cb_state *st, struct cb_svc_key *key, struct cb_service *svc);
/* An address of the other family than the service's: refused naming both (closes st). */
int cli_family_mismatch(struct cb_state *st, const char *verb, const char *text, uint8_t family,
			const char *name, const struct cb_svc_key *key);
/* Exit code for a negative errno from dpstate: bad input 2, anything else 1. */
int cli_code(int err);

/* CLOCK_MONOTONIC in seconds. */
double cli_now_s(void);

/* Print a JSON value (pretty on a terminal) and free it. */
void cli_json_print(struct json_object *o);
struct json_object *cli_json_percent(uint32_t bp);

/* The verbs (verbs.c), in the order of the overview; a NULL name ends it. */
struct cli_verb {
	const char *name;
	int (*run)(const struct cli *c, int argc, char **argv);
};
extern const struct cli_verb cli_verbs[];

/* The verbs. argv[0] is the verb itself. */
int cmd_attach(const struct cli *c, int argc, char **argv);
int cmd_detach(const struct cli *c, int argc, char **argv);
int cmd_service(const struct cli *c, int argc, char **argv);
int cmd_backend(const struct cli *c, int argc, char **argv);
int cmd_weight(const struct cli *c, int argc, char **argv);
int cmd_override(const struct cli *c, int argc, char **argv);
int cmd_stats(const struct cli *c, int argc, char **argv);
int cmd_top(const struct cli *c, int argc, char **argv);
int cmd_rollout(const struct cli *c, int argc, char **argv);

/* The option tables of the verbs that have options (their help pages print them). */
extern const struct cb_opt cli_attach_opts[], cli_service_add_opts[], cli_top_opts[],
	cli_rollout_status_opts[];

/* Manual-page style help; NULL: the overview. Returns 0 if the verb is known. */
int cli_help(FILE *f, const char *verb);

#endif
