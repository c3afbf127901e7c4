// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The agent's services: making the maps match the file, and health checks. */
#include "agent.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static int ep_eq(const struct cb_endpoint *x, const struct cb_endpoint *y)
{
	return x->family == y->family && !cb_endpoint_cmp(x, y);
}

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
			if (ep_eq(&prev->be[t][i].ep, &be->ep)) {
				be->hs = prev->be[t][i].hs;
				be->probed = prev->be[t][i].probed;
				if (h->type == CB_CHECK_NONE)
					be->hs.up = be->probed = 1;
				return;
			}
	for (size_t i = 0; i < nlive; i++)
		if (ep_eq(&live[i], &be->ep))
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
		if (prev && !memcmp(&prev->key, &s->key, sizeof(s->key))) {
			s->base = prev->base;
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
		cb_ctl_del(&a->st.maps, name);
		cb_log(CB_LOG_INFO, name, "service", "removed (no longer in the configuration)");
	}
}

static const struct cb_cfg_iface *iface_find(const struct cb_config *c, const char *name)
{
	for (size_t i = 0; c && i < c->nifaces; i++)
		if (!strcmp(c->ifaces[i].name, name))
			return &c->ifaces[i];
	return NULL;
}

void agent_ifaces_apply(struct agent *a, const struct cb_config *old)
{
	struct cb_err err;

	for (size_t i = 0; old && i < old->nifaces; i++) {
		if (iface_find(&a->cfg, old->ifaces[i].name))
			continue;
		if (cb_detach(&a->st, old->ifaces[i].name, &err) && !strstr(err.msg, "not attached"))
			cb_log(CB_LOG_ERROR, NULL, "detach", "%s", err.msg);
		else
			cb_log(CB_LOG_INFO, NULL, "detach", "%s", old->ifaces[i].name);
	}
	for (size_t i = 0; i < a->cfg.nifaces; i++) {
		const struct cb_cfg_iface *ci = &a->cfg.ifaces[i];
		enum cb_mode want = ci->mode, cur;
		struct cb_link l;

		if (cb_link_get(ci->name, &l, &err)) {
			cb_log(CB_LOG_WARN, NULL, "attach", "%s (will retry)", err.msg);
			continue;
		}
		cur = cb_attach_mode(&a->st, &l);
		if (cur == want)
			continue;
		if (cur != CB_MODE_NONE && cb_detach(&a->st, l.name, &err)) {
			cb_log(CB_LOG_ERROR, NULL, "attach", "%s", err.msg);
			continue;
		}
		if (cb_attach(&a->st, &l, want, &err))
			cb_log(CB_LOG_ERROR, NULL, "attach", "%s", err.msg);
		else
			cb_log(CB_LOG_INFO, NULL, "attach", "%s (%s)", l.name, cb_mode_names[want]);
	}
}

/* ------------------------------------------------------------ reconcile */

static int svc_ensure(struct agent *a, struct agent_svc *s, struct cb_rollout *r, int *have_rec)
{
	const struct cb_maps *m = &a->st.maps;
	const char *name = s->cfg->name;
	struct cb_svc_key k;
	struct cb_service svc;
	uint32_t id;
	int e;

	*have_rec = cb_rollout_get(m, name, r) == 0;
	if (!*have_rec)
		memset(r, 0, sizeof(*r));
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

static uint64_t canary_fp(const struct cb_cfg_service *c)
{
	struct cb_endpoint *e;
	uint64_t fp;
	size_t n = c->nbackends[CB_TRACK_CANARY];

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

/* A rollout begins when the file names a canary set this service has not rolled out yet. */
static void phase_from_config(struct agent_svc *s, struct cb_rollout *r)
{
	const struct cb_cfg_service *c = s->cfg;
	uint64_t fp = canary_fp(c);

	if (!c->rollout.present || !fp) {
		if (r->phase != CB_PHASE_IDLE || r->canary_fp != fp) {
			r->phase = CB_PHASE_IDLE;
			r->canary_fp = fp;
			r->weight_bp = 0;
			snprintf(r->reason, sizeof(r->reason), "%s",
				 fp ? "no rollout configured" : "no canary backends");
			cb_log(CB_LOG_INFO, c->name, "rollout", "idle: %s", r->reason);
		}
		return;
	}
	if (r->canary_fp == fp)
		return;
	cb_ro_start(&c->rollout, r, fp);
	r->started_ms = cb_now_ms();
	r->decided_ms = 0;
	free(s->base);
	s->base = NULL;
	s->next_look_ms = 0;
	cb_log(CB_LOG_INFO, c->name, "rollout", "started: %s", r->reason);
}

/*
 * The endpoints a track should serve now. A rolled-back canary that drains
 * keeps what serves it (have) and gains nothing.
 */
static size_t desired(const struct agent_svc *s, const struct cb_rollout *r, unsigned int track,
		      const struct cb_endpoint *have, size_t nhave, struct cb_endpoint *out)
{
	unsigned int from = track;
	int healthy_only = 1;
	size_t n = 0;

	if (r->phase == CB_PHASE_PROMOTED) {
		/* The old stable set drains in the canary track, as the promotion left it. */
		if (track == CB_TRACK_CANARY) {
			from = CB_TRACK_STABLE;
			healthy_only = 0;
		} else {
			from = CB_TRACK_CANARY;
		}
	} else if (r->phase == CB_PHASE_ROLLED_BACK && track == CB_TRACK_CANARY) {
		if (!s->cfg->rollout.drain_on_rollback)
			return 0;
		healthy_only = 0;
	}
	for (size_t i = 0; i < s->nbe[from]; i++) {
		const struct cb_endpoint *e = &s->be[from][i].ep;
		size_t j = 0;

		if (healthy_only) {
			if (s->be[from][i].hs.up)
				out[n++] = *e;
			continue;
		}
		while (j < nhave && !ep_eq(&have[j], e))
			j++;
		if (j < nhave)
			out[n++] = *e;
	}
	return n;
}

static int tracks_apply(struct agent *a, struct agent_svc *s, const struct cb_rollout *r)
{
	struct cb_endpoint *want = calloc(CB_MAX_TRACK_BACKENDS, sizeof(*want));
	struct cb_endpoint *have = calloc(CB_MAX_TRACK_BACKENDS, sizeof(*have));
	int e = want && have ? 0 : -ENOMEM;

	for (unsigned int t = 0; !e && t < CB_TRACKS; t++) {
		size_t nw, nh = CB_MAX_TRACK_BACKENDS;

		if ((e = cb_track_get(&a->st.maps, &s->key, t, have, &nh)))
			break;
		nw = desired(s, r, t, have, nh, want);
		qsort(want, nw, sizeof(*want), cb_endpoint_cmp);
		qsort(have, nh, sizeof(*have), cb_endpoint_cmp);
		if (nw == nh && !memcmp(want, have, nw * sizeof(*want)))
			continue;
		if ((e = cb_track_set(&a->st.maps, &s->key, t, want, nw)))
			break;
		cb_log(CB_LOG_INFO, s->cfg->name, "backends", "%s: %zu backend%s serving",
		       t ? "canary" : "stable", nw, nw == 1 ? "" : "s");
	}
	free(want);
	free(have);
	return e;
}

static int weight_apply(struct agent *a, struct agent_svc *s, const struct cb_rollout *r)
{
	struct cb_service svc;
	int e = cb_svc_get(&a->st.maps, &s->key, &svc);
	int off = r->phase == CB_PHASE_ROLLED_BACK || r->phase == CB_PHASE_PROMOTED;

	if (e)
		return e;
	if (!s->cfg->rollout.present)
		return 0;   /* no rollout: the weight is the operator's (weight set) */
	if (off)
		return svc.weight_bp || !(svc.flags & CB_SVC_F_NO_CANARY) ?
		       cb_canary_off(&a->st.maps, &s->key) : 0;
	if (svc.weight_bp == r->weight_bp && !(svc.flags & CB_SVC_F_NO_CANARY))
		return 0;
	return cb_weight_set(&a->st.maps, &s->key, r->weight_bp);
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

int agent_svc_settled(const struct agent_svc *s)
{
	for (unsigned int t = 0; t < CB_TRACKS; t++)
		for (size_t i = 0; i < s->nbe[t]; i++)
			if (!s->be[t][i].probed)
				return 0;
	return 1;
}

int agent_reconcile(struct agent *a, struct agent_svc *s, uint64_t now)
{
	struct cb_rollout r, before;
	struct cb_service svc;
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
	phase_from_config(s, &r);
	r.nsteps = (uint32_t)s->cfg->rollout.nsteps;
	r.step_duration_ms = s->cfg->rollout.step_duration_ms;
	/* The record first: if we die after it, the next start finishes the job. */
	if (!have_rec || memcmp(&r, &before, sizeof(r))) {
		r.updated_ms = now;
		what = "rollout record";
		if ((e = cb_rollout_put(&a->st.maps, s->cfg->name, &r)))
			goto fail;
	}
	what = "backends";
	if ((e = tracks_apply(a, s, &r)))
		goto fail;
	what = "weight";
	if ((e = weight_apply(a, s, &r)))
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

/* ------------------------------------------------------------ health checks */

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
