// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* canary-bpf: global options, then one verb. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "skel.h"
#include "cli.h"

static int version(void)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	const char *sep = "";
	struct cb_err err;

	if (cb_dp_open(&obj, &err))
		return cli_fail(CB_EXIT_RUNTIME, "version", "%s", err.msg);
	printf("canary-bpf %s (layout %d, libbpf %s, programs: ", CB_VERSION, CB_LAYOUT_VERSION,
	       libbpf_version_string());
	bpf_object__for_each_program(prog, obj) {
		printf("%s%s", sep, bpf_program__name(prog));
		sep = " ";
	}
	printf(")\n");
	bpf_object__close(obj);
	return 0;
}

/* libbpf's own messages would be a second line on stderr: each error says what failed. */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !getenv("CANARY_BPF_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int ct_entries(const char *v, struct cli *c)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (!*v || *end || errno || v[0] == '-' || n < CB_CT_ENTRIES_MIN || n > CB_CT_ENTRIES_MAX)
		return cli_fail(CB_EXIT_USAGE, "--ct-entries", "'%s' is not a number of entries "
				"from %d to %d", v, CB_CT_ENTRIES_MIN, CB_CT_ENTRIES_MAX);
	c->ct_entries = (uint32_t)n;
	return 0;
}

int main(int argc, char **argv)
{
	struct cli c = { .pin = getenv("CANARY_BPF_PIN_PATH") };
	int i;

	if (!c.pin || !*c.pin)
		c.pin = CB_PIN_DEFAULT;
	libbpf_set_print(quiet);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			c.json = 1;
		} else if (!strcmp(a, "-p") || !strcmp(a, "--pin-path")) {
			if (++i == argc)
				return cli_fail(CB_EXIT_USAGE, a, "needs a directory");
			c.pin = argv[i];
		} else if (!strncmp(a, "--pin-path=", 11)) {
			c.pin = a + 11;
		} else if (!strcmp(a, "--ct-entries")) {
			if (++i == argc)
				return cli_fail(CB_EXIT_USAGE, a, "needs a number of entries");
			if (ct_entries(argv[i], &c))
				return CB_EXIT_USAGE;
		} else if (!strncmp(a, "--ct-entries=", 13)) {
			if (ct_entries(a + 13, &c))
				return CB_EXIT_USAGE;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			if (cli_help(stdout, i + 1 < argc ? argv[i + 1] : NULL))
				return cli_fail(CB_EXIT_USAGE, "help", "no command '%s'", argv[i + 1]);
			return 0;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			return version();
		} else {
			return cli_fail(CB_EXIT_USAGE, a, "unknown option (see canary-bpf --help)");
		}
	}
	if (i == argc) {
		cli_help(stderr, NULL);
		return CB_EXIT_USAGE;
	}
	if (!*c.pin || c.pin[0] != '/')
		return cli_fail(CB_EXIT_USAGE, "pin path", "'%s' is not an absolute path", c.pin);
	for (const struct cli_verb *v = cli_verbs; v->name; v++) {
		if (strcmp(argv[i], v->name))
			continue;
		for (int k = i + 1; k < argc; k++)
			if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
				cli_help(stdout, v->name);
				return 0;
			}
		return v->run(&c, argc - i, argv + i);
	}
	return cli_fail(CB_EXIT_USAGE, argv[i], "unknown command (see canary-bpf --help)");
}
