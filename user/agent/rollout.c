// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "rollout.h"
#include "records.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t cb_set_fingerprint(const void *data, size_t len)
{
	uint64_t h = cb_fnv1a(CB_FNV1A_INIT, data, len);

	return h ? h : 1;   /* 0 means "no rollout" in the record */
}

static void reason(struct cb_rollout *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reason(struct cb_rollout *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

static enum cb_ro_action promote(struct cb_rollout *r)
{
	r->phase = CB_PHASE_PROMOTED;
	r->weight_bp = 0;
	r->flags &= ~(uint32_t)(CB_RO_F_GATE | CB_RO_F_FAILPAUSE);
	r->promotions++;
	return CB_RO_PROMOTE;
}

/* Step i, or what comes after the last one. */
static enum cb_ro_action enter_step(const struct cb_cfg_rollout *cfg, struct cb_rollout *r,
				    uint32_t i)
{
	char w[16];

	r->failures = 0;
	r->step_elapsed_ms = 0;
	r->flags &= ~(uint32_t)(CB_RO_F_GATE | CB_RO_F_FAILPAUSE);
	if (i >= cfg->nsteps) {
		r->step = (uint32_t)cfg->nsteps - 1;
		if (cfg->auto_promote) {
			reason(r, "all %zu steps passed", cfg->nsteps);
			return promote(r);
		}
		r->phase = CB_PHASE_PAUSED;
		r->flags |= CB_RO_F_GATE;
		reason(r, "all %zu steps passed; waiting for rollout promote", cfg->nsteps);
		return CB_RO_PAUSE;
	}
	r->step = i;
	if (cfg->steps[i] == CB_STEP_PAUSE) {
		r->phase = CB_PHASE_PAUSED;
		r->flags |= CB_RO_F_GATE;
		reason(r, "step %u is a pause: waiting for rollout resume or promote", i + 1);
		return CB_RO_PAUSE;
	}
	r->phase = CB_PHASE_PROGRESSING;
	r->weight_bp = cfg->steps[i];
	cb_fmt_percent(r->weight_bp, w, sizeof(w));
	reason(r, "step %u of %zu: canary weight %s%%", i + 1, cfg->nsteps, w);
	return CB_RO_SET_WEIGHT;
}

enum cb_ro_action cb_ro_start(const struct cb_cfg_rollout *cfg, struct cb_rollout *r, uint64_t fp)
{
	r->flags &= ~(uint32_t)CB_RO_F_SWAPPED;
	r->canary_fp = fp;
	r->nsteps = (uint32_t)cfg->nsteps;
	r->step_duration_ms = cfg->step_duration_ms;
	r->weight_bp = 0;
	return enter_step(cfg, r, 0);
}

static enum cb_ro_action on_failure(const struct cb_cfg_rollout *cfg, struct cb_rollout *r,
				    const char *why)
{
	if (cfg->on_failure == CB_ON_FAILURE_PAUSE) {
		r->phase = CB_PHASE_PAUSED;
		r->flags = (r->flags & ~(uint32_t)CB_RO_F_GATE) | CB_RO_F_FAILPAUSE;
		reason(r, "paused on failure: %s", why);
		return CB_RO_PAUSE;
	}
	r->flags &= ~(uint32_t)(CB_RO_F_GATE | CB_RO_F_FAILPAUSE);
	r->phase = CB_PHASE_ROLLED_BACK;
	r->weight_bp = 0;
	r->rollbacks++;
	reason(r, "rolled back: %s", why);
	return CB_RO_ROLLBACK;
}

/*
 * The reason of a paused rollout says why it waits, then the live verdict
 * after CB_RO_LIVE, replaced at each check: `rollout status` shows both.
 */
#define CB_RO_LIVE " | last check: "

static void live_reason(struct cb_rollout *r, enum cb_verdict v, const char *why)
{
	char *at = strstr(r->reason, CB_RO_LIVE);
	size_t keep = at ? (size_t)(at - r->reason) : strnlen(r->reason, sizeof(r->reason));
	char buf[CB_REASON_LEN];

	snprintf(buf, sizeof(buf), "%.*s" CB_RO_LIVE "%s%s%s", (int)keep, r->reason,
		 cb_verdict_name(v), v == CB_PASS || !why || !*why ? "" : ": ", v == CB_PASS ? "" : why);
	memcpy(r->reason, buf, strlen(buf) + 1);
}

/*
 * Paused with the canary taking traffic (a pause step, the wait for a
 * manual promote, `rollout pause`, or paused by on_failure: pause): judged
 * as when progressing, without moving on. A canary that fails is handled by
 * on_failure; once paused by a failure, only a total one rolls it back.
 */
static enum cb_ro_action check_paused(const struct cb_cfg_rollout *cfg, struct cb_rollout *r,
				      const struct cb_ro_input *in)
{
	enum cb_verdict v = in->verdict;
	const char *why = in->why && *in->why ? in->why : "analysis failed";
	char buf[CB_REASON_LEN];

	if (!r->weight_bp)
		return CB_RO_NONE;   /* the canary takes nothing: nothing to judge */
	if (in->canary_all_down) {
		v = CB_FAIL;
		why = "every canary backend fails its health check";
	}
	if (r->flags & CB_RO_F_FAILPAUSE) {
		if (!in->canary_all_down && !in->total_failure) {
			live_reason(r, v, why);
			return CB_RO_NONE;
		}
		snprintf(buf, sizeof(buf), "total failure while paused on failure: %s", why);
		return on_failure(&(struct cb_cfg_rollout){ .on_failure = CB_ON_FAILURE_ROLLBACK }, r,
				  buf);
	}
	if (v == CB_FAIL && ++r->failures >= cfg->failure_limit) {
		snprintf(buf, sizeof(buf), "%s while %s", why,
			 r->flags & CB_RO_F_GATE ? "waiting at a gate" : "paused");
		return on_failure(cfg, r, buf);
	}
	if (v == CB_PASS)
		r->failures = 0;
	live_reason(r, v, why);
	return CB_RO_NONE;
}

/*
 * Enough canary traffic for a step: new connections, or HTTP/1.x requests
 * the datapath counted (their responses), so that clients holding long
 * keep-alive connections carry a rollout too.
 */
static int enough_traffic(const struct cb_cfg_rollout *cfg, const struct cb_ro_input *in)
{
	return in->canary_connections >= cfg->min_connections ||
	       in->canary_requests >= cfg->min_connections;
}

enum cb_ro_action cb_ro_check(const struct cb_cfg_rollout *cfg, struct cb_rollout *r,
			      const struct cb_ro_input *in)
{
	enum cb_verdict v = in->verdict;
	const char *why = in->why && *in->why ? in->why : "analysis failed";
	char buf[CB_REASON_LEN];

	if (r->phase == CB_PHASE_PAUSED)
		return check_paused(cfg, r, in);
	if (r->phase != CB_PHASE_PROGRESSING)
		return CB_RO_NONE;
	/*
	 * A release whose canary pods are not there (yet, or for a while): the
	 * step waits for them, its clock and the progress deadline stopped, so
	 * that Pending pods cannot fail a release.
	 */
	if (in->no_canary_backends) {
		snprintf(r->reason, sizeof(r->reason), "step %u waits: the release has no canary "
			 "backends", r->step + 1);
		return CB_RO_NONE;
	}
	r->nsteps = (uint32_t)cfg->nsteps;
	r->step_duration_ms = cfg->step_duration_ms;
	r->step_elapsed_ms += in->dt_ms;
	if (in->canary_all_down) {
		v = CB_FAIL;
		why = "every canary backend fails its health check";
	}
	if (v == CB_FAIL) {
		if (++r->failures >= cfg->failure_limit)
			return on_failure(cfg, r, why);
		snprintf(buf, sizeof(buf), "failing check %u of %u: %s", r->failures,
			 cfg->failure_limit, why);
		/*
		 * The string only: the bytes of buf after its end were never
		 * written, and r goes into the pinned rollout record (valgrind:
		 * "bpf(attr->value) points to uninitialised byte(s)").
		 */
		memcpy(r->reason, buf, strlen(buf) + 1);
		return CB_RO_NONE;
	}
	if (v == CB_PASS)
		r->failures = 0;
	if (v == CB_PASS && r->step_elapsed_ms >= cfg->step_duration_ms && enough_traffic(cfg, in))
		return enter_step(cfg, r, r->step + 1);
	/* Holding: too little traffic to judge, or the step is not over yet. */
	if (r->step_elapsed_ms >= cfg->progress_deadline_ms) {
		if (v == CB_INCONCLUSIVE)
			snprintf(buf, sizeof(buf), "no decision in step %u within the progress "
				 "deadline: %s", r->step + 1, why);
		else
			snprintf(buf, sizeof(buf), "no progress in step %u within the progress "
				 "deadline: %" PRIu64 " canary connections (%" PRIu64 " requests) of %"
				 PRIu64 " needed", r->step + 1, in->canary_connections,
				 in->canary_requests, cfg->min_connections);
		return on_failure(cfg, r, buf);
	}
	if (v == CB_INCONCLUSIVE && r->step_elapsed_ms >= cfg->step_duration_ms)
		snprintf(r->reason, sizeof(r->reason), "step %u holds: %s", r->step + 1, why);
	else if (r->step_elapsed_ms >= cfg->step_duration_ms)
		snprintf(r->reason, sizeof(r->reason), "step %u holds: %" PRIu64 " canary "
			 "connections (%" PRIu64 " requests) of %" PRIu64 " needed", r->step + 1,
			 in->canary_connections, in->canary_requests, cfg->min_connections);
	return CB_RO_NONE;
}

static int refuse(const struct cb_rollout *r, enum cb_ctl_cmd cmd, char *msg, size_t len)
{
	snprintf(msg, len, "cannot %s a rollout that is %s", cb_ctl_name(cmd), cb_phase_name(r->phase));
	return -1;
}

int cb_ro_command(const struct cb_cfg_rollout *cfg, struct cb_rollout *r, enum cb_ctl_cmd cmd,
		  char *msg, size_t len)
{
	int live = r->phase == CB_PHASE_PROGRESSING || r->phase == CB_PHASE_PAUSED;
	enum cb_ro_action a;

	switch (cmd) {
	case CB_CTL_PAUSE:
		if (r->phase != CB_PHASE_PROGRESSING)
			return refuse(r, cmd, msg, len);
		r->phase = CB_PHASE_PAUSED;
		reason(r, "paused by rollout pause at step %u", r->step + 1);
		a = CB_RO_PAUSE;
		break;
	case CB_CTL_RESUME:
		if (r->phase == CB_PHASE_ROLLED_BACK) {
			/* A retry: the same canary set from the first step. */
			a = cb_ro_start(cfg, r, r->canary_fp);
			break;
		}
		if (r->phase != CB_PHASE_PAUSED)
			return refuse(r, cmd, msg, len);
		if ((r->flags & CB_RO_F_GATE) && r->step + 1 >= cfg->nsteps) {
			reason(r, "promoted by rollout resume after the last step");
			a = promote(r);
			break;
		}
		if (r->flags & CB_RO_F_GATE) {
			a = enter_step(cfg, r, r->step + 1);
			break;
		}
		r->phase = CB_PHASE_PROGRESSING;
		r->failures = 0;
		r->flags &= ~(uint32_t)CB_RO_F_FAILPAUSE;
		reason(r, "resumed at step %u", r->step + 1);
		a = CB_RO_RESTART_WINDOW;
		break;
	case CB_CTL_ABORT:
		if (!live)
			return refuse(r, cmd, msg, len);
		a = on_failure(&(struct cb_cfg_rollout){ .on_failure = CB_ON_FAILURE_ROLLBACK }, r,
			       "aborted by rollout abort");
		break;
	case CB_CTL_PROMOTE:
		if (!live)
			return refuse(r, cmd, msg, len);
		reason(r, "promoted by rollout promote at step %u", r->step + 1);
		a = promote(r);
		break;
	default:
		snprintf(msg, len, "unknown command %u", cmd);
		return -1;
	}
	snprintf(msg, len, "%s: %s", cb_phase_name(r->phase), r->reason);
	return (int)a;
}

/* The file's canary set, sorted: its identity across reloads and restarts. */
static uint64_t canary_fp(const struct cb_cfg_service *c)
{
	size_t n = c->nbackends[CB_TRACK_CANARY];
	struct cb_endpoint *e;
	uint64_t fp;

	if (!n)
		return 0;
	e = calloc(n, sizeof(*e));
	if (!e)
		return 0;
	memcpy(e, c->backends[CB_TRACK_CANARY], n * sizeof(*e));
	qsort(e, n, sizeof(*e), cb_endpoint_cmp);
	fp = cb_set_fingerprint(e, n * sizeof(*e));
	free(e);
	return fp;
}

/*
 * What a rollout is of. With a release, its name: canary backends coming and
 * going inside a release (restarts, new IPs, scaling, none for a moment)
 * neither restart nor reset it. Without, the canary set itself.
 */
static uint64_t rollout_identity(const struct cb_cfg_service *svc)
{
	char tagged[CB_NAME_LEN + 8];

	if (!svc->release[0])
		return canary_fp(svc);
	snprintf(tagged, sizeof(tagged), "release:%s", svc->release);
	return cb_set_fingerprint(tagged, strlen(tagged));
}

enum cb_ro_origin cb_ro_from_config(const struct cb_cfg_service *svc, struct cb_rollout *r,
				    uint64_t now_ms)
{
	uint64_t fp = rollout_identity(svc);

	if (!svc->rollout.present || !fp) {
		if (r->phase == CB_PHASE_IDLE && r->canary_fp == fp)
			return CB_RO_KEPT;
		r->phase = CB_PHASE_IDLE;
		r->flags &= ~(uint32_t)CB_RO_F_SWAPPED;
		r->canary_fp = fp;
		r->weight_bp = 0;
		reason(r, "%s", fp ? "no rollout configured" : "no canary backends");
		return CB_RO_IDLED;
	}
	if (r->canary_fp == fp)
		return CB_RO_KEPT;
	cb_ro_start(&svc->rollout, r, fp);
	memset(r->release, 0, sizeof(r->release));
	snprintf(r->release, sizeof(r->release), "%s", svc->release);
	r->started_ms = now_ms;
	r->decided_ms = 0;
	return CB_RO_STARTED;
}

void cb_ro_plan(const struct cb_cfg_service *svc, const struct cb_rollout *r, struct cb_ro_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->track[CB_TRACK_STABLE].from = CB_TRACK_STABLE;
	p->track[CB_TRACK_CANARY].from = CB_TRACK_CANARY;
	if (!svc->rollout.present)
		return;
	p->owns_weight = 1;
	switch (r->phase) {
	case CB_PHASE_PROMOTED:
		/* The canary set serves stable; the old stable set drains in the canary track. */
		p->swap = !(r->flags & CB_RO_F_SWAPPED);
		p->no_canary = 1;
		p->track[CB_TRACK_STABLE].from = CB_TRACK_CANARY;
		p->track[CB_TRACK_CANARY].from = CB_TRACK_STABLE;
		p->track[CB_TRACK_CANARY].serve = CB_SERVE_DRAIN;
		break;
	case CB_PHASE_ROLLED_BACK:
		/* No new connection to canary; its own connections drain unless the file says not. */
		p->no_canary = 1;
		p->track[CB_TRACK_CANARY].serve = svc->rollout.drain_on_rollback ? CB_SERVE_DRAIN
										 : CB_SERVE_NONE;
		break;
	default:
		p->weight_bp = r->weight_bp;
		break;
	}
}
