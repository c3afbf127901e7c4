// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The agent's services: built from the file (each backend with the health
 * it had, so a reload or restart takes nothing out), carried across
 * reloads, and removed from the maps when the file drops them.
 */
#include "agent.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct agent_svc *agent_svc_find(struct agent *a, const char *name)
{
	for (size_t i = 0; i < a->nsvcs; i++)
		if (!strcmp(a->svcs[i].cfg->name, name))
			return &a->svcs[i];
	return NULL;
}

static const struct agent_svc *old_find(const struct agent_svc *old, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(old[i].cfg->name, name))
			return &old[i];
	return NULL;
}

/*
 * Where a backend starts: what an earlier run (or this one before a reload)
 * knew, else up if the datapath already sends it traffic: a restarted agent
 * must not take backends out. A new backend waits for its first good probe.
 */
static void be_init(struct agent_be *be, const struct agent_svc *prev,
		    const struct cb_endpoint *live, size_t nlive)
{
	const struct cb_cfg_health *h = &be->svc->cfg->health;

	cb_probe_init(&be->probe);
	be->hs.up = h->type == CB_CHECK_NONE;
	be->probed = be->hs.up;
	for (unsigned int t = 0; prev && t < CB_TRACKS; t++)
		for (size_t i = 0; i < prev->nbe[t]; i++)
			if (cb_endpoint_eq(&prev->be[t][i].ep, &be->ep)) {
				be->hs = prev->be[t][i].hs;
				be->probed = prev->be[t][i].probed;
				if (h->type == CB_CHECK_NONE)
					be->hs.up = be->probed = 1;
				return;
			}
	for (size_t i = 0; i < nlive; i++)
		if (cb_endpoint_eq(&live[i], &be->ep))
			be->hs.up = be->probed = 1;
	/* Like a readiness gate: one good probe lets a new backend in. */
	if (!be->hs.up && h->healthy_after > 1)
		be->hs.ok_run = h->healthy_after - 1;
}

int agent_svcs_build(struct agent *a, const struct cb_config *cfg, struct agent_svc **out,
		     size_t *n, const struct agent_svc *old, size_t nold)
{
	struct agent_svc *svcs = calloc(cfg->nservices ? cfg->nservices : 1, sizeof(*svcs));
	struct cb_endpoint *live = calloc(2 * CB_MAX_TRACK_BACKENDS, sizeof(*live));

	if (!svcs || !live) {
		free(svcs);
		free(live);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->nservices; i++) {
		struct agent_svc *s = &svcs[i];
		const struct agent_svc *prev = old_find(old, nold, cfg->services[i].name);
		size_t nlive = 0;

		s->cfg = &cfg->services[i];
		s->dirty = 1;
		cb_svc_key_make(&s->key, &s->cfg->vip, s->cfg->proto);
		for (unsigned int t = 0; t < CB_TRACKS; t++) {
			size_t cap = CB_MAX_TRACK_BACKENDS;

			if (cb_track_get(&a->st.maps, &s->key, t, live + nlive, &cap) == 0)
				nlive += cap;
		}
		/* A change forced by the CLI stands until the file changes (SIGHUP rereads it). */
		s->forced = prev && a->same_file ? prev->forced : 0;
		if (prev && !memcmp(&prev->key, &s->key, sizeof(s->key))) {
			s->base = prev->base;
			s->base_ms = prev->base_ms;
			s->last_check_ms = prev->last_check_ms;
			s->next_look_ms = prev->next_look_ms;
		}
		for (unsigned int t = 0; t < CB_TRACKS; t++) {
			s->nbe[t] = s->cfg->nbackends[t];
			s->be[t] = calloc(s->nbe[t] ? s->nbe[t] : 1, sizeof(*s->be[t]));
			if (!s->be[t]) {
				free(live);
				*out = svcs;
				*n = i + 1;
				return -ENOMEM;
			}
			for (size_t j = 0; j < s->nbe[t]; j++) {
				struct agent_be *be = &s->be[t][j];

				be->ep = s->cfg->backends[t][j];
				be->track = t;
				be->svc = s;
				be_init(be, prev, live, nlive);
			}
		}
	}
	free(live);
	*out = svcs;
	*n = cfg->nservices;
	return 0;
}

/* Probes are closed; the analysis window moves to a successor that took it over. */
void agent_svcs_free(struct agent *a, struct agent_svc *svcs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct agent_svc *s = &svcs[i];
		int kept = 0;

		for (unsigned int t = 0; t < CB_TRACKS; t++) {
			for (size_t j = 0; s->be[t] && j < s->nbe[t]; j++)
				cb_probe_cancel(&s->be[t][j].probe);
			free(s->be[t]);
		}
		for (size_t k = 0; k < a->nsvcs && a->svcs != svcs; k++)
			kept |= a->svcs[k].base == s->base;
		if (!kept)
			free(s->base);
		free(s->judged);
	}
	free(svcs);
}

/* Services of the old file that the new one no longer has: the agent made them, it removes them. */
void agent_forget_removed(struct agent *a, const struct agent_svc *old, size_t nold)
{
	for (size_t i = 0; i < nold; i++) {
		const char *name = old[i].cfg->name;
		struct cb_rollout r;
		struct cb_svc_key k;
		int e = 0;

		if (agent_svc_find(a, name))
			continue;
		if (cb_rollout_get(&a->st.maps, name, &r) || !(r.flags & CB_RO_F_MANAGED))
			continue;
		if (cb_name_get(&a->st.maps, name, &k) == 0 && (e = cb_svc_del(&a->st.maps, &k)) &&
		    e != -ENOENT) {
			cb_log(CB_LOG_ERROR, name, "service", "delete: %s", strerror(-e));
			continue;
		}
		cb_name_del(&a->st.maps, name);
		cb_rollout_del(&a->st.maps, name);
		agent_record_forget(a, name);
		cb_ctl_del(&a->st.maps, name);
		cb_log(CB_LOG_INFO, name, "service", "removed (no longer in the configuration)");
	}
}
