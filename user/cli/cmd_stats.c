// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* stats [NAME] and top [NAME]: per-track counters, totals and rates. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "view.h"
#include "hist.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const struct svc_view *find(const struct svc_view *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

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
static void render(const struct svc_view *v, const struct svc_view *prev, double dt, int window,
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

static int load(const struct cli *c, const char *only, struct svc_view **v, size_t *n)
{
	struct cb_state st;
	struct cb_err err;
	int e = cb_state_open(c->pin, 0, &st, &err);

	*v = NULL;
	*n = 0;
	if (e == -ENOENT && !only) {
		cb_state_close(&st);
		return 0;
	}
	if (e) {
		cb_state_close(&st);
		if (e == -ENOENT)
			return cli_fail(CB_EXIT_USAGE, "service", "no service named '%s'", only);
		return cli_fail(CB_EXIT_RUNTIME, "state", "%s", err.msg);
	}
	e = view_load_all(&st, only, v, n);
	cb_state_close(&st);
	return e;
}

int cmd_stats(const struct cli *c, int argc, char **argv)
{
	const char *pos[1] = { NULL };
	struct svc_view *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	double t0, dt;
	int n = cli_args("stats", argc, argv, NULL, pos, 1), e;

	if (n < 0)
		return CB_EXIT_USAGE;
	if ((e = load(c, pos[0], &a, &na)))
		goto out;
	if (c->json) {
		struct json_object *arr = json_object_new_array();

		for (size_t i = 0; i < na; i++)
			json_object_array_add(arr, view_json_stats(&a[i]));
		cli_json_print(arr);
		goto out;
	}
	if (na == 0) {
		puts("no services");
		goto out;
	}
	/* Rates need a second reading: half a second apart. */
	t0 = now_s();
	usleep(500000);
	if ((e = load(c, pos[0], &b, &nb)))
		goto out;
	dt = now_s() - t0;
	for (size_t i = 0; i < nb; i++) {
		render(&b[i], find(a, na, b[i].name), dt, 0, isatty(STDOUT_FILENO), stdout);
		if (i + 1 < nb)
			putchar('\n');
	}
out:
	view_free(a, na);
	view_free(b, nb);
	return e;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int cmd_top(const struct cli *c, int argc, char **argv)
{
	const char *pos[1] = { NULL }, *count_s = NULL;
	struct cli_opt opts[] = { { "count", &count_s, 0 }, { NULL, NULL, 0 } };
	struct svc_view *prev = NULL, *cur = NULL;
	size_t nprev = 0, ncur = 0;
	struct termios saved, raw;
	int tty = isatty(STDOUT_FILENO), keys = 0, n, e = 0;
	long count = -1;
	double tprev = 0;
	struct sigaction sa = { .sa_handler = on_signal };

	n = cli_args("top", argc, argv, opts, pos, 1);
	if (n < 0)
		return CB_EXIT_USAGE;
	if (count_s) {
		char *end;

		count = strtol(count_s, &end, 10);
		if (*end || count < 1 || count > 1000000)
			return cli_fail(CB_EXIT_USAGE, "top", "--count: '%s' is not a number of refreshes",
					count_s);
	}
	if (c->json)
		return cli_fail(CB_EXIT_USAGE, "top", "no JSON view: use 'canary-bpf -j stats' in a loop");
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		raw.c_lflag &= (tcflag_t)~(ICANON | ECHO);
		keys = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
	}
	while (!stop && count != 0) {
		double t = now_s();

		if ((e = load(c, pos[0], &cur, &ncur)))
			break;
		if (tty)
			fputs("\033[H\033[2J", stdout);
		else {
			char ts[32];
			time_t now = time(NULL);

			strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", localtime(&now));
			printf("--- %s\n", ts);
		}
		if (ncur == 0)
			puts("no services");
		for (size_t i = 0; i < ncur; i++) {
			render(&cur[i], prev ? find(prev, nprev, cur[i].name) : NULL, t - tprev, 1,
			       tty, stdout);
			putchar('\n');
		}
		if (tty)
			puts("q: quit");
		fflush(stdout);
		view_free(prev, nprev);
		prev = cur;
		nprev = ncur;
		cur = NULL;
		tprev = t;
		if (count > 0 && --count == 0)
			break;
		/* Sleep a second, or less if q arrives. */
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		double until = t + 1.0;

		while (!stop && now_s() < until) {
			int ms = (int)((until - now_s()) * 1000) + 1;

			if (keys && poll(&pfd, 1, ms) > 0) {
				char ch;

				if (read(STDIN_FILENO, &ch, 1) == 1 && (ch == 'q' || ch == 'Q'))
					stop = 1;
			} else if (!keys) {
				usleep((useconds_t)ms * 1000);
			}
		}
	}
	if (keys)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	view_free(prev, nprev);
	view_free(cur, ncur);
	return e;
}
