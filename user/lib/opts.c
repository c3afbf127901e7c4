// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "opts.h"

#include <string.h>

#include "parse.h"

static const struct cb_opt *find_long(const struct cb_opt *opts, const char *name, size_t len)
{
	for (const struct cb_opt *o = opts; o && o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return o;
	return NULL;
}

static const struct cb_opt *find_short(const struct cb_opt *opts, char c)
{
	for (const struct cb_opt *o = opts; o && o->name; o++)
		if (o->short_name && o->short_name == c)
			return o;
	return NULL;
}

static int store(const struct cb_opt *o, void *dst, const char *value, struct cb_err *err)
{
	void *at = (char *)dst + o->off;
	struct cb_err why;

	if (o->set) {
		if (o->set(value, at, &why))
			return cb_err_set(err, -1, "--%s: %s", o->name, why.msg);
		return 0;
	}
	if (o->arg)
		*(const char **)at = value;
	else
		*(int *)at = 1;
	return 0;
}

/* One option at argv[*i] (already known to be one); its value may be argv[*i + 1]. */
static int take(const struct cb_opt *o, const char *inline_value, int *i, int argc, char **argv,
		void *dst, struct cb_err *err)
{
	if (!o->arg) {
		if (inline_value)
			return cb_err_set(err, -1, "option --%s takes no value", o->name);
		return store(o, dst, NULL, err);
	}
	if (inline_value)
		return store(o, dst, inline_value, err);
	if (*i + 1 >= argc)
		return cb_err_set(err, -1, "option --%s needs a value", o->name);
	return store(o, dst, argv[++*i], err);
}

int cb_opts_parse(const struct cb_opt *opts, void *dst, int argc, char **argv, const char **pos,
		  int max_pos, cb_opts_pos_fn pos_ok, const void *ctx, const char *hint,
		  struct cb_err *err)
{
	int npos = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct cb_opt *o = NULL;

		if (a[0] == '-' && a[1] == '-' && a[2]) {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);

			if (!(o = find_long(opts, a + 2, len)))
				return cb_err_set(err, -1, "unknown option '%s' (%s)", a, hint);
			if (take(o, eq ? eq + 1 : NULL, &i, argc, argv, dst, err))
				return -1;
			continue;
		}
		if (a[0] == '-' && a[1] && !a[2] && (o = find_short(opts, a[1]))) {
			if (take(o, NULL, &i, argc, argv, dst, err))
				return -1;
			continue;
		}
		if (pos_ok && pos_ok(a, ctx, err))
			return -1;
		if (npos == max_pos)
			return cb_err_set(err, -1, "unexpected argument '%s' (%s)", a, hint);
		pos[npos++] = a;
	}
	return npos;
}

void cb_opts_help(FILE *f, const struct cb_opt *opts)
{
	for (const struct cb_opt *o = opts; o && o->name; o++) {
		char head[96];
		const char *h = o->help;
		int n;

		if (o->short_name)
			n = snprintf(head, sizeof(head), "    -%c, --%s%s%s", o->short_name, o->name,
				     o->arg ? " " : "", o->arg ? o->arg : "");
		else
			n = snprintf(head, sizeof(head), "    --%s%s%s", o->name, o->arg ? " " : "",
				     o->arg ? o->arg : "");
		/* The help starts in column 24, or on the next line after a long head. */
		fputs(head, f);
		if (n < 23)
			fprintf(f, "%*s", 24 - n, "");
		else
			fprintf(f, "\n%24s", "");
		while (h && *h) {
			size_t len = strcspn(h, "\n");

			fprintf(f, "%.*s\n", (int)len, h);
			h += len;
			if (*h == '\n' && *++h)
				fprintf(f, "%24s", "");
		}
	}
}

int cb_opt_duration(const char *value, void *dst, struct cb_err *err)
{
	if (cb_parse_duration(value, dst))
		return cb_err_set(err, -1, "'%s' is not a duration (e.g. 500ms, 30s, 5m, 1h)", value);
	return 0;
}
