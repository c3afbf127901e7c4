// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Analysis windows: the counters of both tracks when a window starts (a new
 * step, a restarted agent), read again at each check, and judged as their
 * differences. Quiet services cost two counter reads a check.
 */
#include "agent.h"
#include "hist.h"

#include <stdlib.h>
#include <string.h>

void agent_window_reset(struct agent_svc *s)
{
	free(s->base);
	s->base = NULL;
}

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
int agent_window_judge(struct agent *a, struct agent_svc *s, struct agent_snap *now, int full,
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

int agent_window_read(struct agent *a, struct agent_svc *s, uint64_t now, struct agent_snap **out)
{
	struct agent_snap *snap = malloc(sizeof(*snap));

	*out = NULL;
	if (!snap || snap_read(a, s, snap)) {
		free(snap);
		return -1;
	}
	if (s->base) {
		*out = snap;
		return 1;
	}
	/* A window starts here (a new step, or a restarted agent). */
	if (snap_hist(a, s, snap)) {
		free(snap);
		return -1;
	}
	s->base = snap;
	s->base_ms = now;
	s->last_check_ms = now;
	return 0;
}

void agent_window_restart_at(struct agent *a, struct agent_svc *s, struct agent_snap *snap)
{
	if (!s->base && !snap_hist(a, s, snap)) {
		s->base = snap;
		s->base_ms = s->last_check_ms;
		return;
	}
	free(snap);
}

uint64_t agent_window_canary_connections(const struct agent_svc *s, const struct agent_snap *now)
{
	return dlt(now->st[CB_TRACK_CANARY].connections, s->base->st[CB_TRACK_CANARY].connections);
}

uint64_t agent_window_canary_requests(const struct agent_svc *s, const struct agent_snap *now)
{
	uint64_t n = 0;

	for (int i = 0; i < 4; i++)
		n += dlt(now->st[CB_TRACK_CANARY].http[i], s->base->st[CB_TRACK_CANARY].http[i]);
	return n;
}
