// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* backend add|del, weight set|get, override add|del: changes to one service. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "view.h"

/* Open the state locked and find the service; returns an exit code. */
static int open_service(const struct cli *c, const char *verb, const char *name, int flags,
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
static int family_mismatch(struct cb_state *st, const char *verb, const char *text,
			   uint8_t family, const char *name, const struct cb_svc_key *key)
{
	cb_state_close(st);
	return cli_fail(CB_EXIT_USAGE, verb, "%s is %s, service '%s' is %s", text,
			family == CB_AF_INET ? "IPv4" : "IPv6", name,
			key->family == CB_AF_INET ? "IPv4" : "IPv6");
}

static int endpoint_eq(const struct cb_endpoint *a, const struct cb_endpoint *b)
{
	return a->family == b->family && a->port == b->port && !memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

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
	int n = cli_args(verb, argc, argv, NULL, pos, 3), e, at = -1;

	if (n < 0)
		return CB_EXIT_USAGE;
	if (n < 3)
		return cli_fail(CB_EXIT_USAGE, verb, "expected NAME stable|canary IP[:PORT]");
	if (cb_parse_name(pos[0], &err) || cb_parse_track(pos[1], &track, &err) ||
	    cb_parse_endpoint(pos[2], &ep, &err))
		return cli_fail(CB_EXIT_USAGE, verb, "%s", err.msg);
	if ((e = open_service(c, verb, pos[0], CB_STATE_LOCK, &st, &key, &svc)))
		return e;
	if (ep.family != key.family)
		return family_mismatch(&st, verb, pos[2], ep.family, pos[0], &key);
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
			if (t == track && endpoint_eq(&cur[t][i], &ep))
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
	int set, n, e;

	if (argc < 2 || (strcmp(argv[1], "set") && strcmp(argv[1], "get")))
		return cli_fail(CB_EXIT_USAGE, "weight", "expected set or get (see canary-bpf weight --help)");
	set = !strcmp(argv[1], "set");
	n = cli_args(set ? "weight set" : "weight get", argc - 1, argv + 1, NULL, pos, set ? 2 : 1);
	if (n < 0)
		return CB_EXIT_USAGE;
	if (n < (set ? 2 : 1))
		return cli_fail(CB_EXIT_USAGE, set ? "weight set" : "weight get",
				set ? "expected NAME PERCENT" : "expected NAME");
	if (set && cb_parse_percent(pos[1], &bp, &err))
		return cli_fail(CB_EXIT_USAGE, "weight set", "%s", err.msg);
	if ((e = open_service(c, set ? "weight set" : "weight get", pos[0], set ? CB_STATE_LOCK : 0,
			      &st, &key, &svc)))
		return e;
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

int cmd_override(const struct cli *c, int argc, char **argv)
{
	const char *pos[3], *verb;
	struct cb_endpoint net;
	struct cb_svc_key key;
	struct cb_service svc;
	struct cb_state st;
	struct cb_err err;
	unsigned int len, track = 0;
	int add, n, e;

	if (argc < 2 || (strcmp(argv[1], "add") && strcmp(argv[1], "del")))
		return cli_fail(CB_EXIT_USAGE, "override", "expected add or del (see canary-bpf override --help)");
	add = !strcmp(argv[1], "add");
	verb = add ? "override add" : "override del";
	n = cli_args(verb, argc - 1, argv + 1, NULL, pos, add ? 3 : 2);
	if (n < 0)
		return CB_EXIT_USAGE;
	if (n < (add ? 3 : 2))
		return cli_fail(CB_EXIT_USAGE, verb, add ? "expected NAME CIDR stable|canary" : "expected NAME CIDR");
	if (cb_parse_name(pos[0], &err) || cb_parse_cidr(pos[1], &net, &len, &err) ||
	    (add && cb_parse_track(pos[2], &track, &err)))
		return cli_fail(CB_EXIT_USAGE, verb, "%s", err.msg);
	if ((e = open_service(c, verb, pos[0], CB_STATE_LOCK, &st, &key, &svc)))
		return e;
	if (net.family != key.family)
		return family_mismatch(&st, verb, pos[1], net.family, pos[0], &key);
	e = add ? cb_override_add(&st.maps, &key, &net, len, track)
		: cb_override_del(&st.maps, &key, &net, len);
	cb_state_close(&st);
	if (e == -ENOENT)
		return cli_fail(CB_EXIT_USAGE, verb, "'%s' has no override for %s", pos[0], pos[1]);
	if (e)
		return cli_fail(cli_code(e), verb, "%s: %s", pos[1], strerror(-e));
	return 0;
}
