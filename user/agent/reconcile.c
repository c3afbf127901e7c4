// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The reconcile pass: make the maps hold what a service's record and file
 * say (cb_ro_plan), in an order that is safe to interrupt anywhere. The
 * record is written first; should the agent die half-way, the next pass
 * finishes the job from it.
 */
#include "agent.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * No pinned record (an emptied bpffs): the copy of --state-dir, if any, so
 * that a release that ended stays ended. Its clock readings were of another
 * boot and the maps it described are gone: both start afresh.
 */
static void restore(struct agent *a, const char *name, struct cb_rollout *r)
{
	uint64_t now = cb_now_ms();

	if (agent_record_load(a, name, r)) {
		memset(r, 0, sizeof(*r));
		return;
	}
	r->flags &= ~(uint32_t)(CB_RO_F_SWAPPED | CB_RO_F_FORCED);
	r->updated_ms = now;
	r->started_ms = r->decided_ms = 0;
	r->ctl_seq = 0;
	cb_log(CB_LOG_INFO, name, "state-dir", "rollout record restored from %s: %s%s%s",
	       a->state_dir, cb_phase_name(r->phase), r->release[0] ? ", release " : "", r->release);
}

static int svc_ensure(struct agent *a, struct agent_svc *s, struct cb_rollout *r, int *have_rec)
{
	const struct cb_maps *m = &a->st.maps;
	const char *name = s->cfg->name;
	struct cb_svc_key k;
	struct cb_service svc;
	uint32_t id;
	int e;

	*have_rec = cb_rollout_get(m, name, r) == 0;
	if (!*have_rec) {
		memset(r, 0, sizeof(*r));
		restore(a, name, r);
	}
	if (cb_name_get(m, name, &k) == 0) {
		if (!memcmp(&k, &s->key, sizeof(k)) && cb_svc_get(m, &k, &svc) == 0) {
			if (svc.affinity != s->cfg->affinity &&
			    (e = cb_svc_set_affinity(m, &k, s->cfg->affinity)))
				return e;
			r->flags |= *have_rec ? 0 : CB_RO_F_MANAGED;
			return 0;
		}
		if (*have_rec && !(r->flags & CB_RO_F_MANAGED)) {
			cb_log(CB_LOG_ERROR, name, "service", "a service of this name exists that the "
			       "agent did not create: delete it or rename one of them");
			return -EEXIST;
		}
		/* Its address changed (or a record is missing): start it afresh. */
		if (cb_svc_get(m, &k, &svc) == 0 && (e = cb_svc_del(m, &k)))
			return e;
		cb_name_del(m, name);
	}
	if (cb_svc_get(m, &s->key, &svc) == 0) {
		char other[CB_NAME_LEN] = "?";

		cb_name_of(m, &s->key, other, sizeof(other));
		cb_log(CB_LOG_ERROR, name, "service", "its vip, port and proto belong to service '%s'",
		       other);
		return -EEXIST;
	}
	if ((e = cb_name_put(m, name, &s->key)))
		return e;
	/* Pending until agent_reconcile() has filled its tracks. */
	if ((e = cb_svc_add(m, &s->key, s->cfg->affinity, 0, CB_SVC_F_PENDING, &id))) {
		cb_name_del(m, name);
		return e;
	}
	r->flags |= CB_RO_F_MANAGED;
	cb_log(CB_LOG_INFO, name, "service", "added (id %u)", id);
	return 0;
}

/* The record for what the file says now (cb_ro_from_config), said in the log. */
static void record_from_config(struct agent_svc *s, struct cb_rollout *r, uint64_t now)
{
	switch (cb_ro_from_config(s->cfg, r, now)) {
	case CB_RO_STARTED:
		agent_window_reset(s);
		s->next_look_ms = 0;
		cb_log(CB_LOG_INFO, s->cfg->name, "rollout", "started: %s", r->reason);
		break;
	case CB_RO_IDLED:
		cb_log(CB_LOG_INFO, s->cfg->name, "rollout", "idle: %s", r->reason);
		break;
	case CB_RO_KEPT:
		break;
	}
}

/* The endpoints track serves under rule sv: out[] of the file's set `from`. */
static size_t serving(const struct agent_svc *s, unsigned int from, enum cb_ro_serve sv,
		      const struct cb_endpoint *have, size_t nhave, struct cb_endpoint *out)
{
	size_t n = 0;

	for (size_t i = 0; sv != CB_SERVE_NONE && i < s->nbe[from]; i++) {
		const struct cb_endpoint *e = &s->be[from][i].ep;
		size_t j = 0;

		if (sv == CB_SERVE_HEALTHY) {
			if (s->be[from][i].hs.up)
				out[n++] = *e;
			continue;
		}
		while (j < nhave && !cb_endpoint_eq(&have[j], e))
			j++;
		if (j < nhave)
			out[n++] = *e;
	}
	return n;
}

/* Does the track serve an endpoint of the file's canary set that is not in its stable set? */
static int serves_canary_only(const struct agent_svc *s, const struct cb_endpoint *set, size_t n)
{
	for (size_t j = 0; j < s->nbe[CB_TRACK_CANARY]; j++) {
		const struct cb_endpoint *c = &s->be[CB_TRACK_CANARY][j].ep;
		int in_stable = 0, served = 0;

		for (size_t k = 0; k < s->nbe[CB_TRACK_STABLE]; k++)
			in_stable |= cb_endpoint_eq(c, &s->be[CB_TRACK_STABLE][k].ep);
		for (size_t i = 0; i < n; i++)
			served |= cb_endpoint_eq(c, &set[i]);
		if (served && !in_stable)
			return 1;
	}
	return 0;
}

/*
 * A promotion whose swap is not recorded yet: unless the maps show it was
 * made (the stable track serves the canary's own backends: the agent died
 * between the swap and the record), the tracks are swapped in one update
 * (weight 0, no canary, tables exchanged) and no connection moves. The
 * record says so afterwards, so no later pass swaps back.
 */
static int swap_apply(struct agent *a, struct agent_svc *s, struct cb_rollout *r, uint64_t now)
{
	struct cb_endpoint *buf = calloc(CB_MAX_TRACK_BACKENDS, sizeof(*buf));
	size_t ns = CB_MAX_TRACK_BACKENDS, nc = CB_MAX_TRACK_BACKENDS;
	int e = buf ? 0 : -ENOMEM;

	if (!e)
		e = cb_track_get(&a->st.maps, &s->key, CB_TRACK_STABLE, buf, &ns);
	if (!e && !serves_canary_only(s, buf, ns)) {
		e = cb_track_get(&a->st.maps, &s->key, CB_TRACK_CANARY, buf, &nc);
		if (!e && nc && !(e = cb_track_promote(&a->st.maps, &s->key)))
			cb_log(CB_LOG_INFO, s->cfg->name, "backends",
			       "tracks swapped: the canary set is stable");
	}
	free(buf);
	if (e)
		return e;
	r->flags |= CB_RO_F_SWAPPED;
	r->updated_ms = now;
	return agent_rollout_put(a, s->cfg->name, r);
}

static int tracks_apply(struct agent *a, struct agent_svc *s, const struct cb_ro_plan *p)
{
	struct cb_endpoint *want = calloc(CB_MAX_TRACK_BACKENDS, sizeof(*want));
	struct cb_endpoint *have = calloc(CB_MAX_TRACK_BACKENDS, sizeof(*have));
	int e = want && have ? 0 : -ENOMEM;

	for (unsigned int t = 0; !e && t < CB_TRACKS; t++) {
		size_t nw, nh = CB_MAX_TRACK_BACKENDS;

		if ((e = cb_track_get(&a->st.maps, &s->key, t, have, &nh)))
			break;
		nw = serving(s, p->track[t].from, p->track[t].serve, have, nh, want);
		qsort(want, nw, sizeof(*want), cb_endpoint_cmp);
		qsort(have, nh, sizeof(*have), cb_endpoint_cmp);
		if (nw == nh && !memcmp(want, have, nw * sizeof(*want)))
			continue;
		if ((e = cb_track_set(&a->st.maps, &s->key, t, want, nw)))
			break;
		cb_log(CB_LOG_INFO, s->cfg->name, "backends", "%s: %zu backend%s serving",
		       cb_track_name(t), nw, nw == 1 ? "" : "s");
	}
	free(want);
	free(have);
	return e;
}

static int weight_apply(struct agent *a, struct agent_svc *s, const struct cb_ro_plan *p)
{
	struct cb_service svc;
	int e = cb_svc_get(&a->st.maps, &s->key, &svc);

	if (e || !p->owns_weight)
		return e;
	if (p->no_canary)
		return svc.weight_bp || !(svc.flags & CB_SVC_F_NO_CANARY) ?
		       cb_canary_off(&a->st.maps, &s->key) : 0;
	if (svc.weight_bp == p->weight_bp && !(svc.flags & CB_SVC_F_NO_CANARY))
		return 0;
	return cb_weight_set(&a->st.maps, &s->key, p->weight_bp);
}

static int overrides_apply(struct agent *a, struct agent_svc *s)
{
	const struct cb_cfg_service *c = s->cfg;
	struct cb_service svc;
	struct cb_override *have = NULL;
	size_t nh = 0;
	int e = cb_svc_get(&a->st.maps, &s->key, &svc);

	if (!e)
		e = cb_overrides_list(&a->st.maps, svc.id, c->vip.family, &have, &nh);
	for (size_t i = 0; !e && i < nh; i++) {
		size_t j;

		for (j = 0; j < c->noverrides; j++)
			if (c->overrides[j].len == have[i].len &&
			    !memcmp(&c->overrides[j].net.addr, &have[i].net.addr, sizeof(have[i].net.addr)))
				break;
		if (j == c->noverrides)
			e = cb_override_del(&a->st.maps, &s->key, &have[i].net, have[i].len);
	}
	for (size_t j = 0; !e && j < c->noverrides; j++) {
		const struct cb_cfg_override *o = &c->overrides[j];
		size_t i;

		for (i = 0; i < nh; i++)
			if (o->len == have[i].len && o->track == have[i].track &&
			    !memcmp(&o->net.addr, &have[i].net.addr, sizeof(o->net.addr)))
				break;
		if (i == nh)
			e = cb_override_add(&a->st.maps, &s->key, &o->net, o->len, o->track);
	}
	free(have);
	return e;
}

int agent_reconcile(struct agent *a, struct agent_svc *s, uint64_t now)
{
	struct cb_rollout r, before;
	struct cb_service svc;
	struct cb_ro_plan plan;
	const char *what = "service";
	int have_rec, e;

	/* The service may have been re-created meanwhile, with another counters index. */
	s->svc_id_known = 0;
	/*
	 * A new VIP waits for its backends' first probes: made any earlier, it
	 * would take traffic (maybe from whatever served it before) with no
	 * backend to give it to.
	 */
	if (!agent_svc_settled(s) && cb_svc_get(&a->st.maps, &s->key, &svc) == -ENOENT)
		return 0;
	if ((e = svc_ensure(a, s, &r, &have_rec)))
		goto fail;
	before = r;
	r.flags &= ~(uint32_t)CB_RO_F_FORCED;   /* reconciled again: the file changed since */
	record_from_config(s, &r, now);
	r.nsteps = (uint32_t)s->cfg->rollout.nsteps;
	r.step_duration_ms = s->cfg->rollout.step_duration_ms;
	/* The record first: if we die after it, the next start finishes the job. */
	if (!have_rec || memcmp(&r, &before, sizeof(r))) {
		r.updated_ms = now;
		what = "rollout record";
		if ((e = agent_rollout_put(a, s->cfg->name, &r)))
			goto fail;
	}
	cb_ro_plan(s->cfg, &r, &plan);
	/* Canary off comes first: whatever fails after it, no new connection goes there. */
	what = "weight";
	if (plan.no_canary && (e = weight_apply(a, s, &plan)))
		goto fail;
	what = "promotion";
	if (plan.swap && (e = swap_apply(a, s, &r, now)))
		goto fail;
	what = "backends";
	if ((e = tracks_apply(a, s, &plan)))
		goto fail;
	what = "weight";
	if ((e = weight_apply(a, s, &plan)))
		goto fail;
	what = "overrides";
	if ((e = overrides_apply(a, s)))
		goto fail;
	/* Served only now, complete; after a crash before this, the next pass gets here. */
	what = "publish";
	if ((e = cb_svc_publish(&a->st.maps, &s->key)))
		goto fail;
	s->dirty = 0;
	if (s->broken)
		cb_log(CB_LOG_INFO, s->cfg->name, "service", "applied");
	s->broken = 0;
	return 0;
fail:
	if (!s->broken && e != -EEXIST)
		cb_log(CB_LOG_ERROR, s->cfg->name, "service", "%s: %s (will retry)", what, strerror(-e));
	s->broken = 1;
	return e;
}
