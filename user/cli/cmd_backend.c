// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* backend add|del NAME stable|canary IP[:PORT] */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "cli.h"

static int backend_change(const struct cli *c, int argc, char **argv, int add)
{
	const char *verb = add ? "backend add" : "backend del", *pos[3];
	static struct cb_endpoint cur[CB_TRACKS][CB_MAX_TRACK_BACKENDS];
	size_t ncur[CB_TRACKS];
	struct cb_endpoint ep;
	struct cb_svc_key key;
	struct cb_service svc;
	struct cb_state st;
	struct cb_err err;
	unsigned int track;
	char text[64];
	int force = 0, n = cli_args(verb, argc, argv, cli_force_opts, &force, pos, 3), e, at = -1;

	if (n < 0)
		return CB_EXIT_USAGE;
	if (n < 3)
		return cli_fail(CB_EXIT_USAGE, verb, "expected NAME stable|canary IP[:PORT]");
	if (cb_parse_name(pos[0], &err) || cb_parse_track(pos[1], &track, &err) ||
	    cb_parse_endpoint(pos[2], &ep, &err))
		return cli_fail(CB_EXIT_USAGE, verb, "%s", err.msg);
	if ((e = cli_open_service(c, verb, pos[0], CB_STATE_LOCK, &st, &key, &svc)))
		return e;
	if (ep.family != key.family)
		return cli_family_mismatch(&st, verb, pos[2], ep.family, pos[0], &key);
	if ((e = cli_agent_guard(c, &st, verb, pos[0], force))) {
		cb_state_close(&st);
		return e;
	}
	if (!ep.port)
		ep.port = ntohs(key.port);
	cb_fmt_endpoint(&ep, text, sizeof(text));
	for (unsigned int t = 0; t < CB_TRACKS; t++) {
		ncur[t] = CB_MAX_TRACK_BACKENDS;
		if ((e = cb_track_get(&st.maps, &key, t, cur[t], &ncur[t]))) {
			cb_state_close(&st);
			return cli_fail(CB_EXIT_RUNTIME, verb, "read backends: %s", strerror(-e));
		}
		/*
		 * A backend may be in both tracks for a while: that is how a canary
		 * backend is promoted without moving its connections.
		 */
		for (size_t i = 0; i < ncur[t]; i++)
			if (t == track && cb_endpoint_eq(&cur[t][i], &ep))
				at = (int)i;
	}
	if (add && at >= 0) {
		cb_state_close(&st);
		return cli_fail(CB_EXIT_USAGE, verb, "%s is already a %s backend of '%s'", text, pos[1], pos[0]);
	}
	if (!add && at < 0) {
		cb_state_close(&st);
		return cli_fail(CB_EXIT_USAGE, verb, "%s is not a %s backend of '%s'", text, pos[1], pos[0]);
	}
	if (add) {
		if (ncur[track] == CB_MAX_TRACK_BACKENDS) {
			cb_state_close(&st);
			return cli_fail(CB_EXIT_USAGE, verb, "a track holds at most %d backends",
					CB_MAX_TRACK_BACKENDS);
		}
		cur[track][ncur[track]++] = ep;
	} else {
		cur[track][at] = cur[track][--ncur[track]];
	}
	e = cb_track_set(&st.maps, &key, track, cur[track], ncur[track]);
	cb_state_close(&st);
	if (e)
		return cli_fail(cli_code(e), verb, "%s: %s", text, strerror(-e));
	return 0;
}

int cmd_backend(const struct cli *c, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "add"))
		return backend_change(c, argc - 1, argv + 1, 1);
	if (argc >= 2 && !strcmp(argv[1], "del"))
		return backend_change(c, argc - 1, argv + 1, 0);
	return cli_fail(CB_EXIT_USAGE, "backend", "expected add or del (see canary-bpf backend --help)");
}
