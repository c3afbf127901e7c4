/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Declarative options: one table per command (name, argument, help,
 * validation), from which the command's parsing, the OPTIONS section of its
 * help page and its error lines are all made. Shared by the CLI's verbs and
 * the agent.
 *
 * "--name value", "--name=value" and, with a short name, "-n value"; a flag
 * takes no value. Anything else is a positional argument, in order.
 */
#ifndef CB_OPTS_H
#define CB_OPTS_H

#include <stddef.h>
#include <stdio.h>
#include "base.h"

struct cb_opt {
	const char *name;        /* long name, without "--"; NULL ends the table */
	char short_name;         /* 'w' for -w, or 0 */
	const char *arg;         /* what the value is ("xdp|xdp-generic|tc"); NULL: a flag */
	const char *help;        /* for --help; '\n' starts another line */
	/*
	 * Check the value and store it at dst (the command's options struct
	 * plus off): 0, or -1 with err saying why (the option's name is added).
	 * NULL: a flag stores int 1, an option its text as const char *.
	 */
	int (*set)(const char *value, void *dst, struct cb_err *err);
	size_t off;
};

/* Called for each positional argument with the caller's ctx; nonzero (with err set) refuses it. */
typedef int (*cb_opts_pos_fn)(const char *arg, const void *ctx, struct cb_err *err);

/*
 * Parse argv[1..argc-1] against opts into the struct at dst, positionals
 * into pos[0..max_pos-1]. Returns their number, or -1 with err a complete
 * "why" line: "unknown option '--x' (HINT)", "option --mode needs a value",
 * "--mode: 'y' is not xdp, xdp-generic or tc", "unexpected argument 'z' (HINT)".
 */
int cb_opts_parse(const struct cb_opt *opts, void *dst, int argc, char **argv, const char **pos,
		  int max_pos, cb_opts_pos_fn pos_ok, const void *ctx, const char *hint,
		  struct cb_err *err);

/* The OPTIONS lines of a table, as a help page shows them. */
void cb_opts_help(FILE *f, const struct cb_opt *opts);

/* Setters for the common kinds. */
int cb_opt_duration(const char *value, void *dst, struct cb_err *err);   /* uint64_t ms */

#endif
