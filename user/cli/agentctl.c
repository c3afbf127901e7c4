// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The CLI and the agent: a request through cb_ctl and its answer, and the
 * guard that keeps the CLI from silently fighting an agent over a service
 * the agent manages (it would undo the change at its next resync).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "owner.h"

#define ANSWER_WAIT_MS 5000

int cli_ctl_ask(struct cb_state *st, const char *what, const char *name, enum cb_ctl_cmd cmd,
		struct cb_ctl *ans)
{
	struct cb_ctl req = { 0 };
	uint64_t deadline;
	int e;

	if (cb_ctl_get(&st->maps, name, &req) == 0 && req.state == CB_CTL_PENDING)
		return cli_fail(CB_EXIT_RUNTIME, what, "%s: a rollout %s is still waiting for the agent",
				name, cb_ctl_name(req.cmd));
	req.seq++;
	req.cmd = cmd;
	req.state = CB_CTL_PENDING;
	req.msg[0] = 0;
	if ((e = cb_ctl_put(&st->maps, name, &req)))
		return cli_fail(CB_EXIT_RUNTIME, what, "%s: %s", name, strerror(-e));
	deadline = cb_now_ms() + ANSWER_WAIT_MS;
	for (;;) {
		if (cb_ctl_get(&st->maps, name, ans) == 0 && ans->seq == req.seq &&
		    ans->state != CB_CTL_PENDING)
			break;
		if (cb_now_ms() >= deadline) {
			/* Nobody answered: take the request back rather than surprise a later agent. */
			if (cb_ctl_get(&st->maps, name, ans) == 0 && ans->seq == req.seq &&
			    ans->state == CB_CTL_PENDING)
				cb_ctl_del(&st->maps, name);
			return cli_fail(CB_EXIT_RUNTIME, what, "%s: no agent answered within %d s (is "
					"'canary-bpf agent' running with this service?)", name,
					ANSWER_WAIT_MS / 1000);
		}
		usleep(20000);
	}
	ans->msg[sizeof(ans->msg) - 1] = 0;
	return 0;
}

const struct cb_opt cli_force_opts[] = {
	{ "force", 0, NULL, "change a service a running agent manages anyway: the agent logs it\n"
	  "and leaves the service as it is until its file changes", NULL, 0 },
	{ 0 },
};

int cli_agent_guard(const struct cli *c, struct cb_state *st, const char *verb, const char *name,
		    int force)
{
	struct cb_rollout r;
	struct cb_owner o;
	struct cb_ctl ans;
	struct cb_err err;
	char who[200];
	int e, held;

	(void)c;
	if (cb_rollout_get(&st->maps, name, &r) || !(r.flags & CB_RO_F_MANAGED))
		return 0;
	held = cb_owner_find(st->pin, &o);
	if (held == 0)
		return 0;   /* no agent runs: nobody would undo the change */
	if (held < 0 && !force)
		return cli_fail(CB_EXIT_RUNTIME, verb, "%s: cannot tell whether an agent manages it "
				"(%s); --force changes it anyway", name, strerror(-held));
	if (held < 0)
		return 0;
	if (o.pid > 0)
		snprintf(who, sizeof(who), "pid %d: %s", (int)o.pid, o.cmd);
	else
		snprintf(who, sizeof(who), "%s", o.cmd);
	if (!force)
		return cli_fail(CB_EXIT_USAGE, verb, "%s is managed by the agent (%s): change "
				"its file, or use `canary-bpf rollout status|pause|resume|abort|promote "
				"%s`; --force changes it anyway", name, who, name);
	/* The agent must hear of it first, and it takes this lock to answer. */
	cb_state_unlock(st);
	e = cli_ctl_ask(st, verb, name, CB_CTL_FORCE, &ans);
	if (!e && ans.state == CB_CTL_REJECTED)
		e = cli_fail(CB_EXIT_USAGE, verb, "%s: %s", name, ans.msg);
	if (cb_state_lock(st, &err) && !e)
		e = cli_fail(CB_EXIT_RUNTIME, verb, "%s", err.msg);
	return e;
}
