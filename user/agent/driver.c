// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The rollout driver: every analysis interval it judges the window of a
 * progressing service, feeds the verdict to the state machine and stores
 * the record; it answers the CLI's rollout commands the same way. It only
 * decides and records: the reconcile pass of the same tick makes the maps
 * follow the record (cb_ro_plan), then the hooks of the decision start.
 */
#include "agent.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a decision means beyond the record: the log, a new window, a hook. */
static void act(struct agent_svc *s, const struct cb_rollout *r, enum cb_ro_action ac, uint64_t now)
{
	double after = (double)(now - r->started_ms) / 1000.0;

	switch (ac) {
	case CB_RO_SET_WEIGHT:
		cb_log(CB_LOG_INFO, s->cfg->name, "step", "%s", r->reason);
		break;
	case CB_RO_ROLLBACK:
		cb_log(CB_LOG_WARN, s->cfg->name, "rollback", "%s (after %.1f s)", r->reason, after);
		agent_hook_queue(s, r, AGENT_HOOK_ROLLBACK);
		break;
	case CB_RO_PROMOTE:
		cb_log(CB_LOG_INFO, s->cfg->name, "promote", "%s (after %.1f s)", r->reason, after);
		agent_hook_queue(s, r, AGENT_HOOK_PROMOTE);
		break;
	case CB_RO_PAUSE:
		cb_log(CB_LOG_WARN, s->cfg->name, "pause", "%s", r->reason);
		break;
	case CB_RO_RESTART_WINDOW:
	case CB_RO_NONE:
		break;
	}
	if (ac == CB_RO_SET_WEIGHT || ac == CB_RO_RESTART_WINDOW || ac == CB_RO_ROLLBACK ||
	    ac == CB_RO_PROMOTE)
		agent_window_reset(s);
	if (ac != CB_RO_NONE)
		s->dirty = 1;
}

static struct cb_analysis_cfg analysis_cfg(const struct cb_cfg_rollout *c)
{
	return (struct cb_analysis_cfg){
		.max_reset_ratio = c->max_reset_ratio,
		.max_connect_failure_ratio = c->max_connect_failure_ratio,
		.max_error_ratio = c->max_error_ratio, .max_latency_ratio = c->max_latency_ratio,
		.min_samples = c->min_samples, .alpha = 0.01,
	};
}

/* Judged: progressing, or paused while the canary takes traffic (rollout.c, check_paused). */
static int judged_phase(const struct cb_rollout *r)
{
	return r->phase == CB_PHASE_PROGRESSING || (r->phase == CB_PHASE_PAUSED && r->weight_bp);
}

/*
 * A paused rollout has no step to end its window: it slides, restarting
 * after PAUSED_WINDOW_INTERVALS checks, so that a canary turning bad after
 * an hour at a gate is not diluted by that hour.
 */
#define PAUSED_WINDOW_INTERVALS 30

/* Half or more of the canary's connections or requests fail: what ends a rollout paused on failure. */
static int total_failure(const struct cb_analysis *res, uint64_t min_samples)
{
	static const enum cb_metric ratios[] = { CB_M_RESETS, CB_M_CONNECT_FAILURES, CB_M_HTTP_5XX };

	for (size_t i = 0; i < sizeof(ratios) / sizeof(ratios[0]); i++) {
		const struct cb_metric_result *m = &res->m[ratios[i]];

		/* On min_samples at least: right after the window slid, 2 of 4 is no evidence. */
		if (m->applicable && m->verdict == CB_FAIL && m->canary >= 0.5 &&
		    m->canary_n >= min_samples)
			return 1;
	}
	return 0;
}

/* The record of a service to judge, or 0 when there is nothing to check now. */
static int due(struct agent *a, struct agent_svc *s, uint64_t now, struct cb_rollout *r)
{
	const struct cb_cfg_rollout *c = &s->cfg->rollout;
	struct cb_service svc;

	/* Checks are due every interval; a service not progressing is looked at as often. */
	if (s->base ? now - s->last_check_ms < c->interval_ms : now < s->next_look_ms)
		return 0;
	if (cb_rollout_get(&a->st.maps, s->cfg->name, r) || !judged_phase(r)) {
		agent_window_reset(s);
		s->next_look_ms = now + c->interval_ms;
		return 0;
	}
	if (!s->svc_id_known) {
		if (cb_svc_get(&a->st.maps, &s->key, &svc))
			return 0;
		s->svc_id = svc.id;
		s->svc_id_known = 1;
	}
	return 1;
}

static void check(struct agent *a, struct agent_svc *s, uint64_t now)
{
	const struct cb_cfg_rollout *c = &s->cfg->rollout;
	struct cb_analysis_cfg acfg = analysis_cfg(c);
	struct cb_analysis res;
	struct cb_ro_input in;
	struct agent_snap *snap;
	struct cb_rollout r;
	enum cb_ro_action ac;
	uint64_t dt;

	if (!due(a, s, now, &r) || agent_window_read(a, s, now, &snap) <= 0)
		return;
	/* Time the agent was not running does not count toward the step. */
	dt = now - s->last_check_ms;
	if (dt > 2 * c->interval_ms)
		dt = c->interval_ms;
	s->last_check_ms = now;
	if (agent_window_judge(a, s, snap, r.weight_bp >= CB_WEIGHT_MAX, &acfg, &res)) {
		free(snap);
		return;
	}
	in = (struct cb_ro_input){
		.dt_ms = dt, .verdict = res.verdict, .why = res.reason,
		.canary_connections = agent_window_canary_connections(s, snap),
		.canary_requests = agent_window_canary_requests(s, snap),
		.canary_all_down = agent_canary_all_down(s),
		.total_failure = total_failure(&res, c->min_samples),
		.no_canary_backends = s->nbe[CB_TRACK_CANARY] == 0,
	};
	ac = cb_ro_check(c, &r, &in);
	if (res.verdict == CB_FAIL && ac == CB_RO_NONE && !(r.flags & CB_RO_F_FAILPAUSE))
		cb_log(CB_LOG_WARN, s->cfg->name, "check", "%s", r.reason);
	else
		cb_log(CB_LOG_DEBUG, s->cfg->name, "check", "%s: %s", cb_verdict_name(res.verdict),
		       res.reason);
	if (ac == CB_RO_ROLLBACK || ac == CB_RO_PROMOTE)
		r.decided_ms = now;
	r.updated_ms = now;
	if (agent_rollout_put(a, s->cfg->name, &r)) {
		cb_log(CB_LOG_ERROR, s->cfg->name, "rollout", "store the rollout state: %s",
		       strerror(errno));
		free(snap);
		return;
	}
	act(s, &r, ac, now);
	/* A new step's window starts with the counters just read; a paused one slides. */
	if (r.phase == CB_PHASE_PAUSED && r.weight_bp &&
	    now - s->base_ms >= PAUSED_WINDOW_INTERVALS * c->interval_ms) {
		agent_window_reset(s);
		s->last_check_ms = now;
	}
	if (judged_phase(&r))
		agent_window_restart_at(a, s, snap);
	else
		free(snap);
}

void agent_rollout_tick(struct agent *a, uint64_t now)
{
	for (size_t i = 0; i < a->nsvcs; i++)
		if (a->svcs[i].cfg->rollout.present && !a->svcs[i].broken && !a->svcs[i].forced)
			check(a, &a->svcs[i], now);
}

struct ctl_arg {
	struct agent *a;
	uint64_t now;
};

/*
 * The CLI is about to change a service of ours with --force: leave it alone
 * (no reconcile, no rollout step) until the file changes, and say so.
 */
static int ctl_force(struct agent *a, struct agent_svc *s, const char *name, struct cb_ctl *c,
		     uint64_t now)
{
	struct cb_rollout r;

	if (!s) {
		snprintf(c->msg, sizeof(c->msg), "service %s is not in the agent's configuration", name);
		return -1;
	}
	if (!s->forced)
		cb_log(CB_LOG_WARN, name, "forced", "changed by the CLI with --force: the agent leaves "
		       "the service as it is until its file changes");
	s->forced = 1;
	if (cb_rollout_get(&a->st.maps, name, &r) == 0 && !(r.flags & CB_RO_F_FORCED)) {
		r.flags |= CB_RO_F_FORCED;
		r.updated_ms = now;
		agent_rollout_put(a, name, &r);
	}
	snprintf(c->msg, sizeof(c->msg), "kept until the agent's file changes");
	return 0;
}

static int ctl_one(const char *name, struct cb_ctl *c, void *arg)
{
	struct ctl_arg *ca = arg;
	struct agent *a = ca->a;
	struct agent_svc *s = agent_svc_find(a, name);
	struct cb_rollout r;
	int ac = -1;

	if (c->cmd == CB_CTL_FORCE) {
		c->state = ctl_force(a, s, name, c, ca->now) ? CB_CTL_REJECTED : CB_CTL_DONE;
		if (cb_ctl_put(&a->st.maps, name, c))
			cb_log(CB_LOG_ERROR, name, "command", "answer the CLI: %s", strerror(errno));
		return 0;
	}
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
		if (agent_rollout_put(a, name, &r)) {
			snprintf(c->msg, sizeof(c->msg), "store the rollout state: %s", strerror(errno));
			ac = -1;
		}
	}
	if (ac >= 0) {
		cb_log(CB_LOG_INFO, name, "command", "rollout %s", cb_ctl_name(c->cmd));
		act(s, &r, (enum cb_ro_action)ac, ca->now);
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
