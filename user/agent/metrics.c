// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The agent's metrics: one renderer for /metrics and the textfile, reading
 * the datapath counters, the rollout records and the agent's health view.
 *
 * Cardinality stays bounded by the services: every series is per service,
 * per service and track, or per agent; only canary_bpf_backend_up is per
 * backend, because a backend's own traffic is not worth a series each.
 */
#include "agent.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * One service as exported: about 1.3 KB, so that a scrape of 1,000 services
 * stays small; histograms are folded into the exported buckets on reading.
 */
struct mx_svc {
	char name[CB_NAME_LEN];
	struct cb_svc_key key;
	struct cb_service svc;
	struct cb_track_stats st[CB_TRACKS];
	struct cb_expo_hist hist[CB_TRACKS][CB_HISTS];
	struct cb_rollout ro;
};

static const struct {
	const char *name, *help;
	size_t off;
} track_counters[] = {
	{ "canary_bpf_packets_total", "Packets of the service's connections, both directions.",
	  offsetof(struct cb_track_stats, packets) },
	{ "canary_bpf_bytes_total", "Bytes of the service's connections, both directions.",
	  offsetof(struct cb_track_stats, bytes) },
	{ "canary_bpf_connections_total", "New connections the track was given.",
	  offsetof(struct cb_track_stats, connections) },
	{ "canary_bpf_drops_total", "Packets the datapath dropped (no backend to send them to).",
	  offsetof(struct cb_track_stats, drops) },
	{ "canary_bpf_connect_failures_total",
	  "Connection attempts refused by a reset or left without a SYN-ACK.",
	  offsetof(struct cb_track_stats, connect_failures) },
};

static const struct {
	const char *name, *help;
	unsigned int kind;      /* enum cb_hist_kind */
} histograms[] = {
	{ "canary_bpf_connect_duration_seconds", "Time from the client's SYN to the backend's SYN-ACK.",
	  CB_HIST_CONNECT },
	{ "canary_bpf_time_to_first_byte_seconds",
	  "Time from the first byte of a request to the first byte of its response.", CB_HIST_TTFB },
};

static const char *const http_class[4] = { "2xx", "3xx", "4xx", "5xx" };

/* Every phase gets a series (1 or 0), so that a query never meets a missing one. */
#define CB_PHASES (CB_PHASE_ROLLED_BACK + 1)

static int load_one(struct agent *a, const char *name, struct mx_svc *m)
{
	struct cb_hist h;
	int e;

	snprintf(m->name, sizeof(m->name), "%s", name);
	if ((e = cb_name_get(&a->st.maps, name, &m->key)) ||
	    (e = cb_svc_get(&a->st.maps, &m->key, &m->svc)))
		return e;
	for (unsigned int t = 0; t < CB_TRACKS; t++) {
		if ((e = cb_stats_read(&a->st.maps, m->svc.id, t, &m->st[t])))
			return e;
		for (unsigned int k = 0; k < CB_HISTS; k++) {
			if ((e = cb_hist_read(&a->st.maps, m->svc.id, t, k, &h)))
				return e;
			cb_expo_hist_fold(&h, &m->hist[t][k]);
		}
	}
	e = cb_rollout_get(&a->st.maps, name, &m->ro);
	if (e == -ENOENT) {
		memset(&m->ro, 0, sizeof(m->ro));
		e = 0;
	}
	return e;
}

static int load(struct agent *a, struct mx_svc **out, size_t *n)
{
	char (*names)[CB_NAME_LEN] = NULL;
	struct mx_svc *s;
	size_t count = 0;
	int e;

	*out = NULL;
	*n = 0;
	if ((e = cb_names_list(&a->st.maps, &names, &count)))
		return e;
	s = calloc(count ? count : 1, sizeof(*s));
	if (!s) {
		free(names);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		e = load_one(a, names[i], &s[*n]);
		if (e == -ENOENT)
			continue;       /* deleted while we read */
		if (e) {
			free(names);
			free(s);
			return e;
		}
		(*n)++;
	}
	free(names);
	*out = s;
	return 0;
}

static void put_track_families(struct cb_buf *b, const struct mx_svc *s, size_t n)
{
	for (size_t c = 0; c < sizeof(track_counters) / sizeof(track_counters[0]); c++) {
		cb_expo_family(b, track_counters[c].name, "counter", track_counters[c].help);
		for (size_t i = 0; i < n; i++)
			for (unsigned int t = 0; t < CB_TRACKS; t++) {
				const char *l[] = { "service", s[i].name, "track", cb_track_name(t), NULL };
				const char *st = (const char *)&s[i].st[t];

				cb_expo_u64(b, track_counters[c].name, l,
					    *(const uint64_t *)(st + track_counters[c].off));
			}
	}
	cb_expo_family(b, "canary_bpf_tcp_resets_total", "counter",
		       "TCP resets seen on the track's connections, by the side that sent them.");
	for (size_t i = 0; i < n; i++)
		for (unsigned int t = 0; t < CB_TRACKS; t++) {
			const char *lb[] = { "service", s[i].name, "track", cb_track_name(t),
					     "from", "backend", NULL };
			const char *lc[] = { "service", s[i].name, "track", cb_track_name(t),
					     "from", "client", NULL };

			cb_expo_u64(b, "canary_bpf_tcp_resets_total", lb, s[i].st[t].resets_from_backend);
			cb_expo_u64(b, "canary_bpf_tcp_resets_total", lc, s[i].st[t].resets_from_client);
		}
	cb_expo_family(b, "canary_bpf_http_responses_total", "counter",
		       "HTTP/1.x responses seen from the track's backends, by status class.");
	for (size_t i = 0; i < n; i++)
		for (unsigned int t = 0; t < CB_TRACKS; t++)
			for (int k = 0; k < 4; k++) {
				const char *l[] = { "service", s[i].name, "track", cb_track_name(t),
						    "class", http_class[k], NULL };

				cb_expo_u64(b, "canary_bpf_http_responses_total", l, s[i].st[t].http[k]);
			}
	for (size_t h = 0; h < sizeof(histograms) / sizeof(histograms[0]); h++) {
		cb_expo_family(b, histograms[h].name, "histogram", histograms[h].help);
		for (size_t i = 0; i < n; i++)
			for (unsigned int t = 0; t < CB_TRACKS; t++) {
				const char *l[] = { "service", s[i].name, "track", cb_track_name(t), NULL };

				cb_expo_hist(b, histograms[h].name, l, &s[i].hist[t][histograms[h].kind]);
			}
	}
}

static uint64_t ro_step(const struct cb_rollout *r)
{
	return r->phase == CB_PHASE_IDLE ? 0 : r->step + 1;
}

static uint64_t ro_steps(const struct cb_rollout *r)
{
	return r->nsteps;
}

static uint64_t ro_rollbacks(const struct cb_rollout *r)
{
	return r->rollbacks;
}

static uint64_t ro_promotions(const struct cb_rollout *r)
{
	return r->promotions;
}

/* What each service's rollout record says, one series per service. */
static const struct {
	const char *name, *type, *help;
	uint64_t (*value)(const struct cb_rollout *r);
} per_service[] = {
	{ "canary_bpf_rollout_step", "gauge",
	  "Step of the rollout, counted from 1; 0 when no rollout has run.", ro_step },
	{ "canary_bpf_rollout_steps", "gauge", "Number of steps of the rollout.", ro_steps },
	{ "canary_bpf_rollbacks_total", "counter",
	  "Rollbacks of the service's canary, automatic or by command.", ro_rollbacks },
	{ "canary_bpf_promotions_total", "counter",
	  "Promotions of the service's canary to stable.", ro_promotions },
};

static void put_service_families(struct cb_buf *b, const struct mx_svc *s, size_t n)
{
	cb_expo_family(b, "canary_bpf_canary_weight_ratio", "gauge",
		       "Share of new connections the canary track is given (0 to 1).");
	for (size_t i = 0; i < n; i++)
		cb_expo_double(b, "canary_bpf_canary_weight_ratio",
			       (const char *[]){ "service", s[i].name, NULL },
			       s[i].svc.weight_bp / 10000.0);
	for (size_t f = 0; f < sizeof(per_service) / sizeof(per_service[0]); f++) {
		cb_expo_family(b, per_service[f].name, per_service[f].type, per_service[f].help);
		for (size_t i = 0; i < n; i++)
			cb_expo_u64(b, per_service[f].name, (const char *[]){ "service", s[i].name, NULL },
				    per_service[f].value(&s[i].ro));
	}
	cb_expo_family(b, "canary_bpf_rollout_phase", "gauge",
		       "1 for the phase the rollout is in, 0 for the others.");
	for (size_t i = 0; i < n; i++)
		for (uint32_t p = 0; p < CB_PHASES; p++)
			cb_expo_u64(b, "canary_bpf_rollout_phase",
				    (const char *[]){ "service", s[i].name, "phase", cb_phase_name(p), NULL },
				    s[i].ro.phase == p);
}

static void put_backend(struct cb_buf *b, const char *svc, unsigned int t,
			const struct cb_endpoint *ep, int up)
{
	char addr[64];

	cb_fmt_endpoint(ep, addr, sizeof(addr));
	cb_expo_u64(b, "canary_bpf_backend_up",
		    (const char *[]){ "service", svc, "track", cb_track_name(t), "backend", addr, NULL },
		    up ? 1 : 0);
}

/*
 * The agent's own services report its health view, so a backend taken out
 * by its health check shows as 0; services made with the CLI report the
 * backends in the datapath, which are up as far as anyone knows.
 */
static int put_backends(struct agent *a, struct cb_buf *b, const struct mx_svc *s, size_t n)
{
	struct cb_endpoint *eps = NULL;

	cb_expo_family(b, "canary_bpf_backend_up", "gauge",
		       "1 if the backend may be given new connections, 0 if its health check failed.");
	for (size_t i = 0; i < n; i++) {
		const struct agent_svc *as = agent_svc_find(a, s[i].name);

		for (unsigned int t = 0; t < CB_TRACKS; t++) {
			size_t nb = CB_MAX_TRACK_BACKENDS;

			if (as) {
				for (size_t k = 0; k < as->nbe[t]; k++)
					put_backend(b, s[i].name, t, &as->be[t][k].ep, as->be[t][k].hs.up);
				continue;
			}
			if (!eps && !(eps = calloc(CB_MAX_TRACK_BACKENDS, sizeof(*eps))))
				return -ENOMEM;
			if (cb_track_get(&a->st.maps, &s[i].key, t, eps, &nb))
				continue;       /* deleted while we read */
			for (size_t k = 0; k < nb; k++)
				put_backend(b, s[i].name, t, &eps[k], 1);
		}
	}
	free(eps);
	return 0;
}

/* Conntrack: how full each table is, what the LRU evicted, the packets that had no flow. */
static void put_conntrack(struct agent *a, struct cb_buf *b, const uint64_t *g)
{
	static const char *const fam[][3] = {
		{ "canary_bpf_conntrack_entries", "gauge",
		  "Entries in a conntrack table (counted every 10 s)." },
		{ "canary_bpf_conntrack_capacity", "gauge",
		  "Entries a conntrack table holds, set when the state was created." },
		{ "canary_bpf_conntrack_evictions_total", "counter",
		  "Entries the LRU evicted to make room: inserts minus deletes minus entries." },
	};
	struct cb_ct_usage u[CB_CT_TABLES];

	for (unsigned int t = 0; t < CB_CT_TABLES; t++) {
		if (cb_ct_usage(&a->st.maps, &a->mx.ct_scan, t, &u[t]))
			return;
		if (u[t].evictions > a->mx.ct_evictions[t])
			a->mx.ct_evictions[t] = u[t].evictions;
	}
	for (size_t f = 0; f < 3; f++) {
		cb_expo_family(b, fam[f][0], fam[f][1], fam[f][2]);
		for (unsigned int t = 0; t < CB_CT_TABLES; t++)
			cb_expo_u64(b, fam[f][0], (const char *[]){ "table", cb_ct_table_name(t), NULL },
				    f == 0 ? u[t].entries : f == 1 ? u[t].capacity : a->mx.ct_evictions[t]);
	}
	cb_expo_family(b, "canary_bpf_conntrack_misses_total", "counter",
		       "TCP segments to a VIP with no flow and no SYN: passed untouched, never a connection.");
	cb_expo_u64(b, "canary_bpf_conntrack_misses_total", NULL, g[CB_G_CT_MISS]);
}

static void put_agent_families(struct agent *a, struct cb_buf *b)
{
	uint64_t g[CB_G_MAX];
	struct timespec ts;

	cb_expo_family(b, "canary_bpf_build_info", "gauge", "Version of the running agent.");
	cb_expo_u64(b, "canary_bpf_build_info", (const char *[]){ "version", CB_VERSION, NULL }, 1);
	cb_expo_family(b, "canary_bpf_agent_ready", "gauge",
		       "1 once every service of the configuration has been applied.");
	cb_expo_u64(b, "canary_bpf_agent_ready", NULL, agent_is_ready(a));
	cb_expo_family(b, "canary_bpf_config_reloads_total", "counter",
		       "Configuration reloads, by whether the new file was taken.");
	cb_expo_u64(b, "canary_bpf_config_reloads_total",
		    (const char *[]){ "result", "success", NULL }, a->mx.reloads_ok);
	cb_expo_u64(b, "canary_bpf_config_reloads_total",
		    (const char *[]){ "result", "failure", NULL }, a->mx.reloads_failed);
	if (cb_global_read(&a->st.maps, g) == 0) {
		cb_expo_family(b, "canary_bpf_datapath_events_total", "counter",
			       "Packets of all services and none, by what the datapath did with them.");
		for (int i = 0; i < CB_G_MAX; i++)
			cb_expo_u64(b, "canary_bpf_datapath_events_total",
				    (const char *[]){ "event", cb_global_name((unsigned int)i), NULL }, g[i]);
		put_conntrack(a, b, g);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	cb_expo_family(b, "canary_bpf_last_update_timestamp_seconds", "gauge",
		       "Unix time these metrics were read: a stale textfile shows here.");
	cb_expo_double(b, "canary_bpf_last_update_timestamp_seconds", NULL,
		       (double)ts.tv_sec + (double)(ts.tv_nsec / 1000000) / 1000);
}

int agent_metrics_render(struct agent *a, struct cb_buf *b)
{
	struct mx_svc *s;
	size_t n;
	int e = load(a, &s, &n);

	if (e)
		return e;
	put_track_families(b, s, n);
	put_service_families(b, s, n);
	e = put_backends(a, b, s, n);
	put_agent_families(a, b);
	free(s);
	return e ? e : b->oom ? -ENOMEM : 0;
}
