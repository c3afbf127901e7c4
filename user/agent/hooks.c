// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The user's hooks (on_promote, on_rollback): queued by a decision, started
 * once the tick's reconcile pass has applied it, reaped by pid on the way.
 */
#include "agent.h"
#include "log.h"

#include <string.h>
#include <sys/wait.h>

void agent_hook_queue(struct agent_svc *s, const struct cb_rollout *r, enum agent_hook_event ev)
{
	s->hook_event = ev;
	s->hook_rec = *r;
}

static void hook_run(struct agent *a, struct agent_svc *s, const struct cb_rollout *r,
		     const char *event, const char *cmd)
{
	struct cb_hook_env env = { .service = s->cfg->name, .event = event, .reason = r->reason,
				   .weight_bp = r->weight_bp };
	char err[160];

	if (!cmd || !*cmd)
		return;
	if (a->nhooks == AGENT_MAX_HOOKS) {
		cb_log(CB_LOG_ERROR, s->cfg->name, "hook", "on_%s not run: %d hooks still running",
		       event, AGENT_MAX_HOOKS);
		return;
	}
	if (cb_hook_start(cmd, &env, s->cfg->rollout.hook_timeout_ms, &a->hooks[a->nhooks], err,
			  sizeof(err))) {
		cb_log(CB_LOG_ERROR, s->cfg->name, "hook", "on_%s: %s", event, err);
		return;
	}
	cb_log(CB_LOG_INFO, s->cfg->name, "hook", "on_%s started (pid %d)", event,
	       (int)a->hooks[a->nhooks].pid);
	a->nhooks++;
}

void agent_hooks_start(struct agent *a)
{
	for (size_t i = 0; i < a->nsvcs; i++) {
		struct agent_svc *s = &a->svcs[i];
		const struct cb_cfg_rollout *c = &s->cfg->rollout;

		if (s->hook_event == AGENT_HOOK_PROMOTE)
			hook_run(a, s, &s->hook_rec, "promote", c->on_promote);
		else if (s->hook_event == AGENT_HOOK_ROLLBACK)
			hook_run(a, s, &s->hook_rec, "rollback", c->on_rollback);
		s->hook_event = AGENT_HOOK_NONE;
	}
}

void agent_hooks_tick(struct agent *a, uint64_t now)
{
	for (size_t i = 0; i < a->nhooks;) {
		struct cb_hook *h = &a->hooks[i];
		int status;

		if (!cb_hook_poll(h, now, &status)) {
			i++;
			continue;
		}
		if (h->killed)
			cb_log(CB_LOG_ERROR, h->service, "hook", "on_%s killed after its timeout", h->event);
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			cb_log(CB_LOG_INFO, h->service, "hook", "on_%s done", h->event);
		else if (WIFEXITED(status))
			cb_log(CB_LOG_ERROR, h->service, "hook", "on_%s exited with status %d", h->event,
			       WEXITSTATUS(status));
		else
			cb_log(CB_LOG_ERROR, h->service, "hook", "on_%s ended by signal %d", h->event,
			       WTERMSIG(status));
		a->hooks[i] = a->hooks[--a->nhooks];
	}
}

void agent_hooks_stop(struct agent *a)
{
	for (size_t i = 0; i < a->nhooks; i++)
		cb_hook_reap(&a->hooks[i]);
	a->nhooks = 0;
}
