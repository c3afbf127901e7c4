// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* weight set NAME PERCENT | weight get NAME */
#include <string.h>

#include "cli.h"
#include "view.h"

static void print_weight(const struct cli *c, const char *name, uint32_t bp)
{
	if (c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "weight_percent", cli_json_percent(bp));
		cli_json_print(o);
	} else {
		char w[16], sw[16], bar[160];

		cb_fmt_percent(bp, w, sizeof(w));
		cb_fmt_percent(CB_WEIGHT_MAX - bp, sw, sizeof(sw));
		view_bar(bp, 40, bar, sizeof(bar));
		printf("%s: canary %s %%\n  stable %s %% %s canary %s %%\n", name, w, sw, bar, w);
	}
}

int cmd_weight(const struct cli *c, int argc, char **argv)
{
	const char *pos[3];
	struct cb_svc_key key;
	struct cb_service svc;
	struct cb_state st;
	struct cb_err err;
	uint32_t bp = 0;
	int set, n, e, force = 0;

	if (argc < 2 || (strcmp(argv[1], "set") && strcmp(argv[1], "get")))
		return cli_fail(CB_EXIT_USAGE, "weight", "expected set or get (see canary-bpf weight --help)");
	set = !strcmp(argv[1], "set");
	n = cli_args(set ? "weight set" : "weight get", argc - 1, argv + 1, set ? cli_force_opts : NULL,
		     &force, pos, set ? 2 : 1);
	if (n < 0)
		return CB_EXIT_USAGE;
	if (n < (set ? 2 : 1))
		return cli_fail(CB_EXIT_USAGE, set ? "weight set" : "weight get",
				set ? "expected NAME PERCENT" : "expected NAME");
	if (set && cb_parse_percent(pos[1], &bp, &err))
		return cli_fail(CB_EXIT_USAGE, "weight set", "%s", err.msg);
	if ((e = cli_open_service(c, set ? "weight set" : "weight get", pos[0], set ? CB_STATE_LOCK : 0,
			      &st, &key, &svc)))
		return e;
	if (set && (e = cli_agent_guard(c, &st, "weight set", pos[0], force))) {
		cb_state_close(&st);
		return e;
	}
	if (set)
		e = cb_weight_set(&st.maps, &key, bp);
	else
		bp = svc.weight_bp;
	cb_state_close(&st);
	if (e)
		return cli_fail(cli_code(e), "weight set", "%s: %s", pos[0], strerror(-e));
	if (!set || c->json)
		print_weight(c, pos[0], bp);
	return 0;
}
