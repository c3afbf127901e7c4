/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What every verb of the command line shares. */
#ifndef CB_CLI_H
#define CB_CLI_H

#include <json-c/json.h>
#include <stdio.h>
#include "parse.h"
#include "pinned.h"

struct cli {
	int json;
	const char *pin;
};

/* "canary-bpf: WHAT: WHY" on stderr; returns code. */
int cli_fail(int code, const char *what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Options of a verb: "--name value" or "--name=value"; positional words in order. */
struct cli_opt {
	const char *name;      /* without "--" */
	const char **value;    /* set when given */
	int flag;              /* 1: takes no value, *value becomes "1" */
};
/* Returns the number of positionals, or -1 after printing a usage error. */
int cli_args(const char *verb, int argc, char **argv, struct cli_opt *opts,
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
/* Exit code for a negative errno from dpstate: bad input 2, anything else 1. */
int cli_code(int err);

/* Print a JSON value (pretty on a terminal) and free it. */
void cli_json_print(struct json_object *o);
struct json_object *cli_json_percent(uint32_t bp);

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

/* Manual-page style help; NULL: the overview. Returns 0 if the verb is known. */
int cli_help(FILE *f, const char *verb);

#endif
