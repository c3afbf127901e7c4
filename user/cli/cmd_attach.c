// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* attach / detach: the verbs around user/lib/attach.c. */
#include <errno.h>
#include <string.h>

#include "attach.h"
#include "upgrade.h"
#include "cli.h"

static int set_mode(const char *v, void *dst, struct cb_err *err)
{
	return cb_mode_parse(v, dst, err);
}

const struct cb_opt cli_attach_opts[] = {
	{ "mode", 0, "xdp|xdp-generic|tc", "xdp (default): native XDP in the driver, fastest\n"
	  "xdp-generic: XDP in the stack, for drivers without native XDP\n"
	  "tc: tc clsact ingress, e.g. for pod veths", set_mode, 0 },
	{ 0 },
};

/* Programs of another build pinned: ours take over every hook before anything is attached. */
static int upgrade(const struct cli *c, struct cb_state *st)
{
	unsigned int hooks;
	struct cb_err err;
	int e = cb_state_upgrade(st, &hooks, &err);

	if (e < 0) {
		cb_state_close(st);
		return cli_fail(CB_EXIT_RUNTIME, "upgrade", "%s", err.msg);
	}
	if (e && !c->json)
		printf("datapath programs upgraded in place on %u hooks\n", hooks);
	return 0;
}

int cmd_attach(const struct cli *c, int argc, char **argv)
{
	const char *pos[1];
	struct cb_state st;
	struct cb_link l;
	struct cb_err err;
	enum cb_mode m = CB_MODE_XDP, cur;
	int n = cli_args("attach", argc, argv, cli_attach_opts, &m, pos, 1), e;

	if (n < 0)
		return CB_EXIT_USAGE;
	if (n < 1)
		return cli_fail(CB_EXIT_USAGE, "attach", "missing IFNAME (attach IFNAME [--mode xdp|xdp-generic|tc])");
	if ((e = cb_link_get(pos[0], &l, &err)))
		return cli_fail(e == -ENODEV ? CB_EXIT_USAGE : CB_EXIT_RUNTIME, "attach", "%s", err.msg);
	if ((e = cli_state(c, CB_STATE_CREATE | CB_STATE_LOCK, &st, NULL)) || (e = upgrade(c, &st)))
		return e;
	cur = cb_attach_mode(&st, &l);
	if (cur == m) {
		cb_state_close(&st);
		if (!c->json)
			printf("%s: already attached (%s)\n", l.name, cb_mode_names[m]);
		return 0;
	}
	if (cur != CB_MODE_NONE) {
		cb_state_close(&st);
		return cli_fail(CB_EXIT_USAGE, "attach", "%s is attached in %s mode: detach it first",
				l.name, cb_mode_names[cur]);
	}
	e = cb_attach(&st, &l, m, &err);
	cb_state_close(&st);
	if (e)
		return cli_fail(CB_EXIT_RUNTIME, "attach", "%s", err.msg);
	if (!l.up)
		fprintf(stderr, "canary-bpf: attach: note: %s is down; forwarding starts when it is up\n",
			l.name);
	if (!c->json)
		printf("%s: attached (%s)\n", l.name, cb_mode_names[m]);
	return 0;
}

int cmd_detach(const struct cli *c, int argc, char **argv)
{
	const char *pos[1];
	struct cb_state st;
	struct cb_err err;
	int n = cli_args("detach", argc, argv, NULL, NULL, pos, 1), e;

	if (n < 0)
		return CB_EXIT_USAGE;
	if (n < 1)
		return cli_fail(CB_EXIT_USAGE, "detach", "missing IFNAME");
	if ((e = cli_state(c, CB_STATE_LOCK, &st, NULL)))
		return e;
	e = cb_detach(&st, pos[0], &err);
	cb_state_close(&st);
	if (e)
		return cli_fail(e == -ENOENT ? CB_EXIT_USAGE : CB_EXIT_RUNTIME, "detach", "%s", err.msg);
	if (!c->json)
		printf("%s: detached\n", pos[0]);
	return 0;
}
