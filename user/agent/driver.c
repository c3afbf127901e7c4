// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The agent's rollouts: analysis checks, the CLI's requests, decisions and hooks. */
#include "agent.h"
#include "hist.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static int snap_hist(struct agent *a, const struct agent_svc *s, struct agent_snap *snap)
{
	int e = 0;

	for (unsigned int t = 0; !e && !snap->hist_read && t < CB_TRACKS; t++)
		for (unsigned int k = 0; !e && k < CB_HISTS; k++)
			e = cb_hist_read(&a->st.maps, s->svc_id, t, k, &snap->hist[t][k]);
	snap->hist_read = !e;
	return e;
}

/*
 * The counters now. The histograms (the bulk of the reads) only change with
 * packets: when no counter moved since the last read they are left unread,
 * and read only if this snapshot becomes a window's base or must be judged
 * afresh. On a node of many quiet services a check costs two lookups.
 */
static int snap_read(struct agent *a, struct agent_svc *s, struct agent_snap *snap)
{
	int e = 0;

	for (unsigned int t = 0; !e && t < CB_TRACKS; t++)
		e = cb_stats_read(&a->st.maps, s->svc_id, t, &snap->st[t]);
	if (e)
		return e;
	snap->hist_read = 0;
	if (!s->last_valid || memcmp(snap->st, s->last_st, sizeof(snap->st)))
		e = snap_hist(a, s, snap);
	memcpy(s->last_st, snap->st, sizeof(s->last_st));
	s->last_valid = !e;
	return e;
}

/* Counter differences; a counter that went down (service re-created) reads as the new value. */
static uint64_t dlt(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : now;
}

static void window_of(const struct agent_snap *now, const struct agent_snap *base,
		      unsigned int t, struct cb_window *w)
{
	const struct cb_track_stats *n = &now->st[t], *b = &base->st[t];

	w->connections = dlt(n->connections, b->connections);
	w->resets_from_backend = dlt(n->resets_from_backend, b->resets_from_backend);
	w->connect_failures = dlt(n->connect_failures, b->connect_failures);
	for (int i = 0; i < 4; i++)
		w->http[i] = dlt(n->http[i], b->http[i]);
	cb_hist_delta(&now->hist[t][CB_HIST_CONNECT], &base->hist[t][CB_HIST_CONNECT], &w->connect);
	cb_hist_delta(&now->hist[t][CB_HIST_TTFB], &base->hist[t][CB_HIST_TTFB], &w->ttfb);
}

/*
 * The analysis of the window from s->base to now. Unchanged counters at both
 * ends make the same windows, so the verdict of the last check stands.
 */
static int judge(struct agent *a, struct agent_svc *s, struct agent_snap *now, int full,
		 const struct cb_analysis_cfg *acfg, struct cb_analysis *res)
{
	struct agent_judged *j = s->judged;
	struct cb_window w[CB_TRACKS];

	if (j && j->full == full && !memcmp(j->base, s->base->st, sizeof(j->base)) &&
	    !memcmp(j->now, now->st, sizeof(j->now))) {
		*res = j->res;
		return 0;
	}
	if (snap_hist(a, s, now))
		return -1;
	for (unsigned int t = 0; t < CB_TRACKS; t++)
		window_of(now, s->base, t, &w[t]);
	/*
	 * At 100 % stable takes no new connection: what it still counts are the
	 * last replies of the step before, no baseline. The canary is then held
	 * to the absolute limits alone, instead of waiting for stable samples
	 * that never come.
	 */
	if (full)
		memset(&w[CB_TRACK_STABLE], 0, sizeof(w[CB_TRACK_STABLE]));
	cb_analyze(acfg, &w[CB_TRACK_STABLE], &w[CB_TRACK_CANARY], res);
	if (j || (j = s->judged = malloc(sizeof(*j)))) {
		memcpy(j->base, s->base->st, sizeof(j->base));
		memcpy(j->now, now->st, sizeof(j->now));
		j->full = full;
		j->res = *res;
	}
	return 0;
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

/*
 * Carry out what the state machine decided. The record is already stored:
 * should we die half-way, the next start completes it from the record.
 */
static int act(struct agent *a, struct agent_svc *s, struct cb_rollout *r, enum cb_ro_action ac,
	       uint64_t now)
{
	const struct cb_cfg_rollout *c = &s->cfg->rollout;
	int e = 0;

	switch (ac) {
	case CB_RO_SET_WEIGHT:
		e = cb_weight_set(&a->st.maps, &s->key, r->weight_bp);
		cb_log(e ? CB_LOG_ERROR : CB_LOG_INFO, s->cfg->name, "step", "%s%s", r->reason,
		       e ? ": weight not set" : "");
		/* A new weight needs a new window. */
		__attribute__((fallthrough));
	case CB_RO_RESTART_WINDOW:
		free(s->base);
		s->base = NULL;
		break;
	case CB_RO_ROLLBACK:
		e = cb_canary_off(&a->st.maps, &s->key);
		if (!e && !c->drain_on_rollback)
			e = cb_track_set(&a->st.maps, &s->key, CB_TRACK_CANARY, NULL, 0);
		cb_log(e ? CB_LOG_ERROR : CB_LOG_WARN, s->cfg->name, "rollback", "%s (after %.1f s)%s",
		       r->reason, (double)(now - r->started_ms) / 1000.0, e ? ": map update failed" : "");
		hook_run(a, s, r, "rollback", c->on_rollback);
		break;
	case CB_RO_PROMOTE:
		e = cb_track_promote(&a->st.maps, &s->key);
		cb_log(e ? CB_LOG_ERROR : CB_LOG_INFO, s->cfg->name, "promote", "%s (after %.1f s)%s",
		       r->reason, (double)(now - r->started_ms) / 1000.0, e ? ": swap failed" : "");
		hook_run(a, s, r, "promote", c->on_promote);
		break;
	case CB_RO_PAUSE:
		cb_log(CB_LOG_WARN, s->cfg->name, "pause", "%s", r->reason);
		break;
	case CB_RO_NONE:
		break;
	}
	if (ac == CB_RO_ROLLBACK || ac == CB_RO_PROMOTE) {
		free(s->base);
		s->base = NULL;
	}
	if (e)
		s->dirty = 1;   /* the reconcile pass retries from the record */
	return e;
}

static void check(struct agent *a, struct agent_svc *s, uint64_t now)
{
	const struct cb_cfg_rollout *c = &s->cfg->rollout;
	struct cb_analysis_cfg acfg = {
		.max_reset_ratio = c->max_reset_ratio, .max_connect_failure_ratio =
		c->max_connect_failure_ratio, .max_error_ratio = c->max_error_ratio,
		.max_latency_ratio = c->max_latency_ratio, .min_samples = c->min_samples,
		.alpha = 0.01,
	};
	struct cb_analysis res;
	struct cb_ro_input in;
	struct agent_snap *snap;
	struct cb_service svc;
	struct cb_rollout r;
	enum cb_ro_action ac;
	uint64_t dt;

	/* Checks are due every interval; a service not progressing is looked at as often. */
	if (s->base ? now - s->last_check_ms < c->interval_ms : now < s->next_look_ms)
		return;
	if (cb_rollout_get(&a->st.maps, s->cfg->name, &r) || r.phase != CB_PHASE_PROGRESSING) {
		free(s->base);
		s->base = NULL;
		s->next_look_ms = now + c->interval_ms;
		return;
	}
	if (!s->svc_id_known) {
		if (cb_svc_get(&a->st.maps, &s->key, &svc))
			return;
		s->svc_id = svc.id;
		s->svc_id_known = 1;
	}
	if (!(snap = malloc(sizeof(*snap))))
		return;
	if (snap_read(a, s, snap)) {
		free(snap);
		return;
	}
	if (!s->base) {
		/* A window starts here (a new step, or a restarted agent). */
		if (snap_hist(a, s, snap)) {
			free(snap);
			return;
		}
		s->base = snap;
		s->last_check_ms = now;
		return;
	}
	/* Time the agent was not running does not count toward the step. */
	dt = now - s->last_check_ms;
	if (dt > 2 * c->interval_ms)
		dt = c->interval_ms;
	s->last_check_ms = now;
	if (judge(a, s, snap, r.weight_bp >= CB_WEIGHT_MAX, &acfg, &res)) {
		free(snap);
		return;
	}
	in = (struct cb_ro_input){
		.dt_ms = dt, .verdict = res.verdict, .why = res.reason,
		.canary_connections = dlt(snap->st[CB_TRACK_CANARY].connections,
					  s->base->st[CB_TRACK_CANARY].connections),
		.canary_all_down = agent_canary_all_down(s),
	};
	ac = cb_ro_check(c, &r, &in);
	if (res.verdict == CB_FAIL && ac == CB_RO_NONE)
		cb_log(CB_LOG_WARN, s->cfg->name, "check", "%s", r.reason);
	else
		cb_log(CB_LOG_DEBUG, s->cfg->name, "check", "%s: %s", cb_verdict_name(res.verdict),
		       res.reason);
	if (ac == CB_RO_ROLLBACK || ac == CB_RO_PROMOTE)
		r.decided_ms = now;
	r.updated_ms = now;
	if (cb_rollout_put(&a->st.maps, s->cfg->name, &r)) {
		cb_log(CB_LOG_ERROR, s->cfg->name, "rollout", "store the rollout state: %s",
		       strerror(errno));
		free(snap);
		return;
	}
	act(a, s, &r, ac, now);
	/* A new step's window starts with the counters just read. */
	if (!s->base && r.phase == CB_PHASE_PROGRESSING && !snap_hist(a, s, snap)) {
		s->base = snap;
		return;
	}
	free(snap);
}

void agent_rollout_tick(struct agent *a, uint64_t now)
{
	for (size_t i = 0; i < a->nsvcs; i++)
		if (a->svcs[i].cfg->rollout.present && !a->svcs[i].broken)
			check(a, &a->svcs[i], now);
}

struct ctl_arg {
	struct agent *a;
	uint64_t now;
};

static int ctl_one(const char *name, struct cb_ctl *c, void *arg)
{
	struct ctl_arg *ca = arg;
	struct agent *a = ca->a;
	struct agent_svc *s = agent_svc_find(a, name);
	struct cb_rollout r;
	int ac = -1;

	if (!s || !s->cfg->rollout.present)
		snprintf(c->msg, sizeof(c->msg), "service %s has no rollout in the agent's "
			 "configuration", name);
	else if (cb_rollout_get(&a->st.maps, name, &r))
		snprintf(c->msg, sizeof(c->msg), "service %s: no rollout state yet", name);
	else
		ac = cb_ro_command(&s->cfg->rollout, &r, (enum cb_ctl_cmd)c->cmd, c->msg, sizeof(c->msg));
	if (ac >= 0) {
		if (ac == CB_RO_ROLLBACK || ac == CB_RO_PROMOTE)
			r.decided_ms = ca->now;
		if (r.phase == CB_PHASE_PROGRESSING && r.step == 0 && ac == CB_RO_SET_WEIGHT &&
		    !r.step_elapsed_ms)
			r.started_ms = ca->now;
		r.ctl_seq = c->seq;
		r.updated_ms = ca->now;
		if (cb_rollout_put(&a->st.maps, name, &r)) {
			snprintf(c->msg, sizeof(c->msg), "store the rollout state: %s", strerror(errno));
			ac = -1;
		}
	}
	if (ac >= 0) {
		cb_log(CB_LOG_INFO, name, "command", "rollout %s", cb_ctl_name(c->cmd));
		act(a, s, &r, (enum cb_ro_action)ac, ca->now);
		s->dirty = 1;
		s->next_look_ms = 0;
	} else {
		cb_log(CB_LOG_WARN, name, "command", "rollout %s refused: %s", cb_ctl_name(c->cmd),
		       c->msg);
	}
	c->state = ac >= 0 ? CB_CTL_DONE : CB_CTL_REJECTED;
	if (cb_ctl_put(&a->st.maps, name, c))
		cb_log(CB_LOG_ERROR, name, "command", "answer the CLI: %s", strerror(errno));
	return 0;
}

void agent_ctl_tick(struct agent *a, uint64_t now)
{
	struct ctl_arg ca = { .a = a, .now = now };

	cb_ctl_each_pending(&a->st.maps, ctl_one, &ca);
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
