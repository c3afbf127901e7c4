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

/* "12.3k  (45/s)" */
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

/* One service: header with the split bar, then a row per track. */
static void render(const struct svc_view *v, const struct svc_view *prev, double dt, FILE *f)
{
	static struct table t;
	char addr[96], w[16], bar[160], nb[16];
	char c[6][40];

	view_service_addr(v, addr, sizeof(addr));
	cb_fmt_percent(v->svc.weight_bp, w, sizeof(w));
	view_bar(v->svc.weight_bp, 30, bar, sizeof(bar));
	fprintf(f, "%s  %s  affinity %s  canary %s %%  stable %s canary\n", v->name, addr,
		cb_affinity_name(v->svc.affinity), w, bar);
	for (int i = 2; i <= 8; i++)
		t.right[i] = 1;
	table_row(&t, "", "TRACK", "BACKENDS", "CONNECTIONS", "PACKETS", "BYTES", "RESETS BE",
		  "RESETS CL", "DROPS", NULL);
	for (unsigned int tr = 0; tr < CB_TRACKS; tr++) {
		const struct cb_track_stats *s = &v->st[tr], *p = prev ? &prev->st[tr] : s;

		snprintf(nb, sizeof(nb), "%zu", v->nbe[tr]);
		cell(s->connections, p->connections, dt, !!prev, c[0], sizeof(c[0]));
		cell(s->packets, p->packets, dt, !!prev, c[1], sizeof(c[1]));
		cell(s->bytes, p->bytes, dt, !!prev, c[2], sizeof(c[2]));
		cell(s->resets_from_backend, p->resets_from_backend, dt, !!prev, c[3], sizeof(c[3]));
		cell(s->resets_from_client, p->resets_from_client, dt, !!prev, c[4], sizeof(c[4]));
		cell(s->drops, p->drops, dt, !!prev, c[5], sizeof(c[5]));
		table_row(&t, "", cb_track_name(tr), nb, c[0], c[1], c[2], c[3], c[4], c[5], NULL);
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
			return cli_fail(EXIT_USAGE, "service", "no service named '%s'", only);
		return cli_fail(EXIT_RUNTIME, "state", "%s", err.msg);
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
		return EXIT_USAGE;
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
		render(&b[i], find(a, na, b[i].name), dt, stdout);
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
		return EXIT_USAGE;
	if (count_s) {
		char *end;

		count = strtol(count_s, &end, 10);
		if (*end || count < 1 || count > 1000000)
			return cli_fail(EXIT_USAGE, "top", "--count: '%s' is not a number of refreshes",
					count_s);
	}
	if (c->json)
		return cli_fail(EXIT_USAGE, "top", "no JSON view: use 'canary-bpf -j stats' in a loop");
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
			render(&cur[i], prev ? find(prev, nprev, cur[i].name) : NULL, t - tprev, stdout);
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
