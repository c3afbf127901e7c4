// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* service add | del | list */
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "view.h"

struct add_opts {
	struct cb_endpoint vip;     /* family 0: not given */
	uint16_t port;              /* 0: not given */
	uint8_t proto, affinity;
};

static int set_vip(const char *v, void *dst, struct cb_err *err)
{
	return cb_parse_addr(v, dst, err);
}

static int set_port(const char *v, void *dst, struct cb_err *err)
{
	return cb_parse_port(v, dst, err);
}

static int set_proto(const char *v, void *dst, struct cb_err *err)
{
	return cb_parse_proto(v, dst, err);
}

static int set_affinity(const char *v, void *dst, struct cb_err *err)
{
	return cb_parse_affinity(v, dst, err);
}

const struct cb_opt cli_service_add_opts[] = {
	{ "vip", 0, "IP", "the virtual address (unicast, not loopback)", set_vip,
	  offsetof(struct add_opts, vip) },
	{ "port", 0, "N", "1..65535", set_port, offsetof(struct add_opts, port) },
	{ "proto", 0, "tcp|udp", "default tcp", set_proto, offsetof(struct add_opts, proto) },
	{ "affinity", 0, "connection|client",
	  "connection (default): each connection is split on its own;\n"
	  "client: one client stays on one track and one backend, and\n"
	  "raising the weight never moves it back to stable.", set_affinity,
	  offsetof(struct add_opts, affinity) },
	{ 0 },
};

static int service_add(const struct cli *c, int argc, char **argv)
{
	struct add_opts o = { .proto = IPPROTO_TCP, .affinity = CB_AFFINITY_CONNECTION };
	const char *pos[1];
	struct cb_endpoint ep;
	struct cb_svc_key key, other;
	struct cb_service svc;
	struct cb_state st;
	struct cb_err err;
	char where[80];
	uint32_t id;
	int n = cli_args("service add", argc, argv, cli_service_add_opts, &o, pos, 1), e;

	if (n < 0)
		return CB_EXIT_USAGE;
	if (n < 1)
		return cli_fail(CB_EXIT_USAGE, "service add", "missing NAME (service add NAME --vip IP --port N)");
	if (cb_parse_name(pos[0], &err))
		return cli_fail(CB_EXIT_USAGE, "service add", "%s", err.msg);
	if (!o.vip.family || !o.port)
		return cli_fail(CB_EXIT_USAGE, "service add", "--vip and --port are required");
	ep = o.vip;
	ep.port = o.port;

	if ((e = cli_state(c, CB_STATE_CREATE | CB_STATE_LOCK, &st, NULL)))
		return e;
	cb_svc_key_make(&key, &ep, o.proto);
	if (cb_name_get(&st.maps, pos[0], &other) == 0) {
		cb_state_close(&st);
		return cli_fail(CB_EXIT_USAGE, "service add", "a service named '%s' exists", pos[0]);
	}
	if (cb_svc_get(&st.maps, &key, &svc) == 0) {
		char owner[CB_NAME_LEN] = "?";

		cb_name_of(&st.maps, &key, owner, sizeof(owner));
		cb_state_close(&st);
		cb_fmt_endpoint(&ep, where, sizeof(where));
		return cli_fail(CB_EXIT_USAGE, "service add", "%s/%s is already service '%s'", where,
				cb_proto_name(o.proto), owner);
	}
	/*
	 * The name first: the datapath never reads it, and if this process dies
	 * in between, 'service del NAME' can still clean up.
	 */
	e = cb_name_put(&st.maps, pos[0], &key);
	if (!e && (e = cb_svc_add(&st.maps, &key, o.affinity, 0, 0, &id)))
		cb_name_del(&st.maps, pos[0]);
	cb_state_close(&st);
	if (e == -ENOSPC)
		return cli_fail(CB_EXIT_RUNTIME, "service add", "no room: %d services at most", CB_MAX_SERVICES);
	if (e)
		return cli_fail(CB_EXIT_RUNTIME, "service add", "%s", strerror(-e));
	if (c->json) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "name", json_object_new_string(pos[0]));
		json_object_object_add(j, "id", json_object_new_int((int)id));
		cli_json_print(j);
	}
	return 0;
}

static int service_del(const struct cli *c, int argc, char **argv)
{
	const char *pos[1];
	struct cb_svc_key key;
	struct cb_service svc;
	struct cb_state st;
	int force = 0, n = cli_args("service del", argc, argv, cli_force_opts, &force, pos, 1), e;

	if (n < 0)
		return CB_EXIT_USAGE;
	if (n < 1)
		return cli_fail(CB_EXIT_USAGE, "service del", "missing NAME");
	if ((e = cli_state(c, CB_STATE_LOCK, &st, pos[0])))
		return e;
	/* A name without a record is what an interrupted add or del leaves: remove it. */
	if (cb_name_get(&st.maps, pos[0], &key) == 0 && cb_svc_get(&st.maps, &key, &svc) == -ENOENT) {
		e = cb_name_del(&st.maps, pos[0]);
		cb_state_close(&st);
		return e ? cli_fail(CB_EXIT_RUNTIME, "service del", "%s: %s", pos[0], strerror(-e)) : 0;
	}
	if ((e = cli_service(&st, pos[0], &key, &svc)) ||
	    (e = cli_agent_guard(c, &st, "service del", pos[0], force))) {
		cb_state_close(&st);
		return e;
	}
	e = cb_svc_del(&st.maps, &key);
	if (!e)
		e = cb_name_del(&st.maps, pos[0]);
	/* An agent's rollout of this name is over too (an agent that still has it re-creates it). */
	if (!e) {
		cb_rollout_del(&st.maps, pos[0]);
		cb_ctl_del(&st.maps, pos[0]);
	}
	cb_state_close(&st);
	if (e)
		return cli_fail(CB_EXIT_RUNTIME, "service del", "%s: %s", pos[0], strerror(-e));
	return 0;
}

static int service_list(const struct cli *c, int argc, char **argv)
{
	const char *pos[1];
	struct svc_view *v = NULL;
	struct cb_state st;
	struct cb_err err;
	size_t n = 0;
	int np = cli_args("service list", argc, argv, NULL, NULL, pos, 0), e;

	if (np < 0)
		return CB_EXIT_USAGE;
	e = cb_state_open(c->pin, 0, &st, &err);
	if (e && e != -ENOENT) {
		cb_state_close(&st);
		return cli_fail(CB_EXIT_RUNTIME, "state", "%s", err.msg);
	}
	if (!e && (e = view_load_all(&st, NULL, &v, &n))) {
		cb_state_close(&st);
		view_free(v, n);
		return e;
	}
	cb_state_close(&st);
	if (c->json) {
		struct json_object *a = json_object_new_array();

		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, view_json_service(&v[i]));
		cli_json_print(a);
	} else if (n == 0) {
		puts("no services");
	} else {
		static struct table t;
		char addr[96], w[16], sb[16], cb[16], ob[16];

		t.right[4] = t.right[5] = t.right[6] = 1;
		table_row(&t, "NAME", "SERVICE", "AFFINITY", "WEIGHT", "STABLE", "CANARY", "OVERRIDES", NULL);
		for (size_t i = 0; i < n; i++) {
			view_service_addr(&v[i], addr, sizeof(addr));
			cb_fmt_percent(v[i].svc.weight_bp, w, sizeof(w));
			strcat(w, " %");
			snprintf(sb, sizeof(sb), "%zu", v[i].nbe[0]);
			snprintf(cb, sizeof(cb), "%zu", v[i].nbe[1]);
			snprintf(ob, sizeof(ob), "%zu", v[i].novr);
			table_row(&t, v[i].name, addr, cb_affinity_name(v[i].svc.affinity), w, sb, cb, ob,
				  NULL);
		}
		table_print(&t, stdout, "");
	}
	view_free(v, n);
	return 0;
}

int cmd_service(const struct cli *c, int argc, char **argv)
{
	if (argc < 2)
		return cli_fail(CB_EXIT_USAGE, "service", "expected add, del or list (see canary-bpf service --help)");
	if (!strcmp(argv[1], "add"))
		return service_add(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "del"))
		return service_del(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return service_list(c, argc - 1, argv + 1);
	return cli_fail(CB_EXIT_USAGE, "service", "unknown command '%s' (add, del or list)", argv[1]);
}
