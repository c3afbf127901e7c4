// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "cli.h"

#include <errno.h>
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

int cli_args(const char *verb, int argc, char **argv, struct cli_opt *opts,
	     const char **pos, int max_pos)
{
	int npos = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] == '-' && a[1] == '-' && a[2]) {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			struct cli_opt *o = opts;

			for (; o && o->name; o++)
				if (strlen(o->name) == len && !strncmp(o->name, a + 2, len))
					break;
			if (!o || !o->name) {
				cli_fail(CB_EXIT_USAGE, verb, "unknown option '%s' (see canary-bpf %s --help)",
					 a, verb);
				return -1;
			}
			if (o->flag) {
				*o->value = "1";
			} else if (eq) {
				*o->value = eq + 1;
			} else if (i + 1 < argc) {
				*o->value = argv[++i];
			} else {
				cli_fail(CB_EXIT_USAGE, verb, "option --%s needs a value", o->name);
				return -1;
			}
			continue;
		}
		if (!strcmp(a, "-j") || !strcmp(a, "--json") || !strcmp(a, "-p") ||
		    !strcmp(a, "--pin-path")) {
			cli_fail(CB_EXIT_USAGE, verb, "global option '%s' goes before the command "
				 "(canary-bpf %s %s ...)", a, a, verb);
			return -1;
		}
		if (npos == max_pos) {
			cli_fail(CB_EXIT_USAGE, verb, "unexpected argument '%s' (see canary-bpf %s --help)",
				 a, verb);
			return -1;
		}
		pos[npos++] = a;
	}
	return npos;
}

int cli_state(const struct cli *c, int flags, struct cb_state *st, const char *service)
{
	struct cb_err err;
	int e = cb_state_open(c->pin, flags, st, &err);

	if (!e)
		return 0;
	cb_state_close(st);
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
