// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "cli.h"

#include <errno.h>
#include <time.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

int cli_fail(int code, const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "canary-bpf: %s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* The global options go before the verb: say so rather than "unexpected argument". */
static int not_global(const char *a, const void *verb, struct cb_err *err)
{
	if (!strcmp(a, "-j") || !strcmp(a, "--json") || !strcmp(a, "-p") || !strcmp(a, "--pin-path") ||
	    !strcmp(a, "--ct-entries"))
		return cb_err_set(err, -1, "global option '%s' goes before the command (canary-bpf %s "
				  "%s ...)", a, a, (const char *)verb);
	return 0;
}

int cli_args(const char *verb, int argc, char **argv, const struct cb_opt *opts, void *dst,
	     const char **pos, int max_pos)
{
	char hint[64];
	struct cb_err err;
	int n;

	snprintf(hint, sizeof(hint), "see canary-bpf %s --help", verb);
	n = cb_opts_parse(opts, dst, argc, argv, pos, max_pos, not_global, verb, hint, &err);
	if (n < 0)
		cli_fail(CB_EXIT_USAGE, verb, "%s", err.msg);
	return n;
}

int cli_state(const struct cli *c, int flags, struct cb_state *st, const char *service)
{
	struct cb_state_opts opts = { .ct_entries = c->ct_entries };
	struct cb_err err;
	int e = cb_state_open_opts(c->pin, flags, &opts, st, &err);

	if (!e)
		return 0;
	cb_state_close(st);
	if (e == -EEXIST)
		return cli_fail(CB_EXIT_USAGE, "--ct-entries", "%s", err.msg);
	if (e == -ENOENT && service)
		return cli_fail(CB_EXIT_USAGE, "service", "no service named '%s' (nothing is configured "
				"under %s)", service, c->pin);
	return cli_fail(CB_EXIT_RUNTIME, "state", "%s", err.msg);
}

int cli_service(const struct cb_state *st, const char *name, struct cb_svc_key *key,
		struct cb_service *svc)
{
	struct cb_err err;

	if (cb_parse_name(name, &err))
		return cli_fail(CB_EXIT_USAGE, "service", "%s", err.msg);
	if (cb_name_get(&st->maps, name, key) || cb_svc_get(&st->maps, key, svc))
		return cli_fail(CB_EXIT_USAGE, "service", "no service named '%s'", name);
	return 0;
}

/* Open the state locked and find the service; returns an exit code. */
int cli_open_service(const struct cli *c, const char *verb, const char *name, int flags,
		     struct cb_state *st, struct cb_svc_key *key, struct cb_service *svc)
{
	struct cb_err err;
	int e;

	if (cb_parse_name(name, &err))
		return cli_fail(CB_EXIT_USAGE, verb, "%s", err.msg);
	if ((e = cli_state(c, flags, st, name)))
		return e;
	if ((e = cli_service(st, name, key, svc)))
		cb_state_close(st);
	return e;
}

/* An address of the other family than the service's: refuse, naming both. */
int cli_family_mismatch(struct cb_state *st, const char *verb, const char *text, uint8_t family,
			const char *name, const struct cb_svc_key *key)
{
	cb_state_close(st);
	return cli_fail(CB_EXIT_USAGE, verb, "%s is %s, service '%s' is %s", text,
			family == CB_AF_INET ? "IPv4" : "IPv6", name,
			key->family == CB_AF_INET ? "IPv4" : "IPv6");
}

int cli_code(int err)
{
	/* What the state library's own validation returns; anything else came from the kernel. */
	switch (-err) {
	case EEXIST: case EINVAL: case ERANGE: case ENOTUNIQ: case EAFNOSUPPORT:
		return CB_EXIT_USAGE;
	default:
		return CB_EXIT_RUNTIME;
	}
}

void cli_json_print(struct json_object *o)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		    (isatty(STDOUT_FILENO) ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN);

	puts(json_object_to_json_string_ext(o, flags));
	json_object_put(o);
}

struct json_object *cli_json_percent(uint32_t bp)
{
	char buf[16];

	cb_fmt_percent(bp, buf, sizeof(buf));
	return json_object_new_double_s(bp / 100.0, buf);
}

double cli_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
