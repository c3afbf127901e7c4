// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The stable | canary table of one service (stats, top). */
#include "panel.h"
#include "hist.h"

#include <string.h>

/* "12.3k (45/s)" */
static void cell(uint64_t total, uint64_t before, double dt, int have_rate, char *buf, size_t len)
{
	char t[16], r[16];

	view_human((double)total, t, sizeof(t));
	if (!have_rate || dt <= 0) {
		snprintf(buf, len, "%s", t);
		return;
	}
	view_human((double)(total >= before ? total - before : 0) / dt, r, sizeof(r));
	snprintf(buf, len, "%s (%s/s)", t, r);
}

static void fmt_us(uint64_t us, char *buf, size_t len)
{
	if (us >= 10000000)
		snprintf(buf, len, "%.0fs", us / 1e6);
	else if (us >= 10000)
		snprintf(buf, len, "%.0fms", us / 1e3);
	else if (us >= 1000)
		snprintf(buf, len, "%.1fms", us / 1e3);
	else
		snprintf(buf, len, "%lluus", (unsigned long long)us);
}

static void fmt_pcts(const struct cb_hist *h, char *buf, size_t len)
{
	char a[16], b[16], c[16];

	if (!h->count) {
		snprintf(buf, len, "-");
		return;
	}
	fmt_us(cb_hist_percentile(h, 0.50), a, sizeof(a));
	fmt_us(cb_hist_percentile(h, 0.95), b, sizeof(b));
	fmt_us(cb_hist_percentile(h, 0.99), c, sizeof(c));
	snprintf(buf, len, "%s / %s / %s", a, b, c);
}

/*
 * Traffic light for the canary against stable (top and stats on a terminal):
 * error ratio up to 0.1 point above stable is green, up to 1 point amber;
 * p99 latency up to 1.2 x stable green, up to 1.5 x (the agent's default
 * max_latency_ratio) amber. Above: red.
 */
enum light { LIGHT_NONE, LIGHT_GREEN, LIGHT_AMBER, LIGHT_RED };

static enum light light_ratio(double canary, double stable)
{
	if (canary <= stable + 0.001)
		return LIGHT_GREEN;
	return canary <= stable + 0.01 ? LIGHT_AMBER : LIGHT_RED;
}

static enum light light_latency(const struct cb_hist *canary, const struct cb_hist *stable)
{
	double c, s;

	if (!canary->count || !stable->count)
		return LIGHT_NONE;
	c = (double)cb_hist_percentile(canary, 0.99);
	s = (double)cb_hist_percentile(stable, 0.99);
	if (c <= s * 1.2)
		return LIGHT_GREEN;
	return c <= s * 1.5 ? LIGHT_AMBER : LIGHT_RED;
}

#define CELL 112

static void paint(char *buf, enum light l, int color)
{
	static const char *const esc[] = { "", "\033[32m", "\033[33m", "\033[31m" };
	char tmp[CELL];

	if (!color || l == LIGHT_NONE)
		return;
	snprintf(tmp, sizeof(tmp), "%s%.96s\033[0m", esc[l], buf);
	memcpy(buf, tmp, sizeof(tmp));
}

/*
 * One service, stable and canary side by side. With prev, counters get
 * rates; with window too, the signals (HTTP classes, failed connects,
 * latency) cover only the time since prev, as top shows them. Otherwise
 * they are totals since the service was created.
 */
void panel_render(const struct svc_view *v, const struct svc_view *prev, double dt, int window,
		  int color, FILE *f)
{
	static struct table t;
	char addr[96], w[16], bar[160], c[CB_TRACKS][8][CELL];
	struct cb_track_stats win[CB_TRACKS];
	struct cb_hist lat[CB_TRACKS][CB_HISTS];

	/* top's first frame has no window yet: totals, and no verdict on them. */
	if (window && !prev)
		color = 0;
	view_service_addr(v, addr, sizeof(addr));
	cb_fmt_percent(v->svc.weight_bp, w, sizeof(w));
	view_bar(v->svc.weight_bp, 30, bar, sizeof(bar));
	fprintf(f, "%s  %s  affinity %s  canary %s %%  stable %s canary\n", v->name, addr,
		cb_affinity_name(v->svc.affinity), w, bar);
	for (unsigned int tr = 0; tr < CB_TRACKS; tr++) {
		const struct cb_track_stats *s = &v->st[tr], *p = prev ? &prev->st[tr] : NULL;
		const struct svc_view *wp = window ? prev : NULL;

		win[tr] = *s;
		for (int k = 0; wp && k < 4; k++)
			win[tr].http[k] = s->http[k] >= p->http[k] ? s->http[k] - p->http[k] : s->http[k];
		if (wp)
			win[tr].connect_failures = s->connect_failures >= p->connect_failures ?
				s->connect_failures - p->connect_failures : s->connect_failures;
		for (unsigned int k = 0; k < CB_HISTS; k++) {
			if (wp)
				cb_hist_delta(&v->hist[tr][k], &wp->hist[tr][k], &lat[tr][k]);
			else
				lat[tr][k] = v->hist[tr][k];
		}
		p = p ? p : s;
		cell(s->connections, p->connections, dt, !!prev, c[tr][0], sizeof(c[tr][0]));
		cell(s->packets, p->packets, dt, !!prev, c[tr][1], sizeof(c[tr][1]));
		cell(s->bytes, p->bytes, dt, !!prev, c[tr][2], sizeof(c[tr][2]));
		snprintf(c[tr][3], sizeof(c[tr][3]), "%llu / %llu / %llu",
			 (unsigned long long)s->resets_from_backend,
			 (unsigned long long)s->resets_from_client, (unsigned long long)s->drops);
		snprintf(c[tr][4], sizeof(c[tr][4]), "%llu / %llu / %llu / %llu",
			 (unsigned long long)win[tr].http[0], (unsigned long long)win[tr].http[1],
			 (unsigned long long)win[tr].http[2], (unsigned long long)win[tr].http[3]);
		snprintf(c[tr][5], sizeof(c[tr][5]), "%.2f %%  (%llu failed connects)",
			 view_error_ratio(&win[tr]) * 100, (unsigned long long)win[tr].connect_failures);
		fmt_pcts(&lat[tr][CB_HIST_CONNECT], c[tr][6], sizeof(c[tr][6]));
		fmt_pcts(&lat[tr][CB_HIST_TTFB], c[tr][7], sizeof(c[tr][7]));
	}
	if (win[1].http[0] + win[1].http[1] + win[1].http[2] + win[1].http[3])
		paint(c[1][5], light_ratio(view_error_ratio(&win[1]), view_error_ratio(&win[0])),
		      color);
	paint(c[1][6], light_latency(&lat[1][CB_HIST_CONNECT], &lat[0][CB_HIST_CONNECT]),
	      color);
	paint(c[1][7], light_latency(&lat[1][CB_HIST_TTFB], &lat[0][CB_HIST_TTFB]),
	      color);
	char nb0[16], nb1[16];

	snprintf(nb0, sizeof(nb0), "%zu", v->nbe[0]);
	snprintf(nb1, sizeof(nb1), "%zu", v->nbe[1]);
	table_row(&t, "", "", "STABLE", "CANARY", NULL);
	table_row(&t, "", "backends", nb0, nb1, NULL);
	table_row(&t, "", "connections", c[0][0], c[1][0], NULL);
	table_row(&t, "", "packets", c[0][1], c[1][1], NULL);
	table_row(&t, "", "bytes", c[0][2], c[1][2], NULL);
	table_row(&t, "", "resets be / cl, drops", c[0][3], c[1][3], NULL);
	{
		/* Signals are totals in stats, the last refresh's window in top: say which. */
		const char *sfx = window && prev ? " (last 1s)" : "";
		char l4[48], l5[48], l6[48], l7[48];

		snprintf(l4, sizeof(l4), "http 2xx/3xx/4xx/5xx%s", sfx);
		snprintf(l5, sizeof(l5), "5xx ratio%s", sfx);
		snprintf(l6, sizeof(l6), "connect p50/p95/p99%s", sfx);
		snprintf(l7, sizeof(l7), "ttfb p50/p95/p99%s", sfx);
		table_row(&t, "", l4, c[0][4], c[1][4], NULL);
		table_row(&t, "", l5, c[0][5], c[1][5], NULL);
		table_row(&t, "", l6, c[0][6], c[1][6], NULL);
		table_row(&t, "", l7, c[0][7], c[1][7], NULL);
	}
	table_print(&t, f, "");
}
