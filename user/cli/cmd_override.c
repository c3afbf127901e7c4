// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* override add NAME CIDR stable|canary | override del NAME CIDR */
#include <errno.h>
#include <string.h>

#include "cli.h"

int cmd_override(const struct cli *c, int argc, char **argv)
{
	const char *pos[3], *verb;
	struct cb_endpoint net;
	struct cb_svc_key key;
	struct cb_service svc;
	struct cb_state st;
	struct cb_err err;
	unsigned int len, track = 0;
	int add, n, e, force = 0;

	if (argc < 2 || (strcmp(argv[1], "add") && strcmp(argv[1], "del")))
		return cli_fail(CB_EXIT_USAGE, "override", "expected add or del (see canary-bpf override --help)");
	add = !strcmp(argv[1], "add");
	verb = add ? "override add" : "override del";
	n = cli_args(verb, argc - 1, argv + 1, cli_force_opts, &force, pos, add ? 3 : 2);
	if (n < 0)
		return CB_EXIT_USAGE;
	if (n < (add ? 3 : 2))
		return cli_fail(CB_EXIT_USAGE, verb, add ? "expected NAME CIDR stable|canary" : "expected NAME CIDR");
	if (cb_parse_name(pos[0], &err) || cb_parse_cidr(pos[1], &net, &len, &err) ||
	    (add && cb_parse_track(pos[2], &track, &err)))
		return cli_fail(CB_EXIT_USAGE, verb, "%s", err.msg);
	if ((e = cli_open_service(c, verb, pos[0], CB_STATE_LOCK, &st, &key, &svc)))
		return e;
	if (net.family != key.family)
		return cli_family_mismatch(&st, verb, pos[1], net.family, pos[0], &key);
	if ((e = cli_agent_guard(c, &st, verb, pos[0], force))) {
		cb_state_close(&st);
		return e;
	}
	e = add ? cb_override_add(&st.maps, &key, &net, len, track)
		: cb_override_del(&st.maps, &key, &net, len);
	cb_state_close(&st);
	if (e == -ENOENT)
		return cli_fail(CB_EXIT_USAGE, verb, "'%s' has no override for %s", pos[0], pos[1]);
	if (e)
		return cli_fail(cli_code(e), verb, "%s: %s", pos[1], strerror(-e));
	return 0;
}
