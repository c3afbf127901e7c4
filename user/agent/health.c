// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Health checks: one non-blocking probe per backend in the loop's epoll set, on its interval. */
#include "agent.h"
#include "log.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

int agent_svc_settled(const struct agent_svc *s)
{
	for (unsigned int t = 0; t < CB_TRACKS; t++)
		for (size_t i = 0; i < s->nbe[t]; i++)
			if (!s->be[t][i].probed)
				return 0;
	return 1;
}

int agent_canary_all_down(const struct agent_svc *s)
{
	if (s->cfg->health.type == CB_CHECK_NONE || !s->nbe[CB_TRACK_CANARY])
		return 0;
	for (size_t i = 0; i < s->nbe[CB_TRACK_CANARY]; i++)
		if (s->be[CB_TRACK_CANARY][i].hs.up)
			return 0;
	return 1;
}

static void probe_done(struct agent *a, struct agent_be *be, enum cb_probe_res res, uint64_t now)
{
	const struct cb_cfg_health *h = &be->svc->cfg->health;
	char ep[64];

	be->next_ms = now + h->interval_ms;
	if (!be->probed) {
		be->probed = 1;
		a->kick = 1;    /* maybe the last answer a new service or "ready" waits for */
	}
	if (!cb_health_feed(&be->hs, res, be->probe.why, h->unhealthy_after, h->healthy_after))
		return;
	cb_fmt_endpoint(&be->ep, ep, sizeof(ep));
	if (be->hs.up)
		cb_log(CB_LOG_INFO, be->svc->cfg->name, "health", "%s backend %s is healthy",
		       be->track ? "canary" : "stable", ep);
	else
		cb_log(CB_LOG_WARN, be->svc->cfg->name, "health", "%s backend %s is unhealthy: %s",
		       be->track ? "canary" : "stable", ep, be->hs.last_why);
	be->svc->dirty = 1;
	a->kick = 1;            /* now, not at the next tick: traffic is waiting */
}

static void probe_arm(struct agent *a, struct agent_be *be, int op)
{
	struct epoll_event ev = { .events = be->probe.events, .data.ptr = be };

	if (epoll_ctl(a->epfd, op, be->probe.fd, &ev)) {
		cb_log(CB_LOG_ERROR, be->svc->cfg->name, "health", "epoll: %s", strerror(errno));
		cb_probe_cancel(&be->probe);
		be->next_ms = cb_now_ms() + be->svc->cfg->health.interval_ms;
	}
}

void agent_probe_event(struct agent *a, struct agent_be *be, uint64_t now)
{
	uint32_t before = be->probe.events;
	enum cb_probe_res res = cb_probe_step(&be->probe, now);

	if (res == CB_PROBE_PENDING) {
		if (be->probe.events != before)
			probe_arm(a, be, EPOLL_CTL_MOD);
		return;
	}
	probe_done(a, be, res, now);
}

void agent_health_tick(struct agent *a, uint64_t now)
{
	for (size_t i = 0; i < a->nsvcs; i++) {
		struct agent_svc *s = &a->svcs[i];
		const struct cb_cfg_health *h = &s->cfg->health;

		if (h->type == CB_CHECK_NONE)
			continue;
		for (unsigned int t = 0; t < CB_TRACKS; t++)
			for (size_t j = 0; j < s->nbe[t]; j++) {
				struct agent_be *be = &s->be[t][j];
				enum cb_probe_res res;

				if (be->probe.fd >= 0) {
					if (now >= be->probe.deadline_ms)
						agent_probe_event(a, be, now);
					continue;
				}
				if (now < be->next_ms)
					continue;
				res = cb_probe_start(&be->probe, h->type, &be->ep, h->path, now,
						     h->timeout_ms);
				if (res == CB_PROBE_PENDING)
					probe_arm(a, be, EPOLL_CTL_ADD);
				else
					probe_done(a, be, res, now);
			}
	}
}
