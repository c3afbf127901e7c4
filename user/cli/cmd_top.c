// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* top [NAME]: the panels of stats refreshed every second, signals over the last second. */
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "panel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int set_count(const char *v, void *dst, struct cb_err *err)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (!*v || *end || n < 1 || n > 1000000)
		return cb_err_set(err, -1, "'%s' is not a number of refreshes", v);
	*(long *)dst = n;
	return 0;
}

const struct cb_opt cli_top_opts[] = {
	{ "count", 0, "N", "stop after N refreshes (1..1000000)", set_count, 0 },
	{ 0 },
};

/* What top keeps between refreshes. */
struct top {
	const struct cli *c;
	const char *only;
	int tty, keys;             /* stdout is a terminal; q on stdin quits */
	struct termios saved;
	struct svc_view *prev;
	size_t nprev;
	double tprev;
};

/* On a terminal, read keys one by one without echo, so q quits at once. */
static void keys_on(struct top *t)
{
	struct termios raw;

	if (!t->tty || !isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t->saved))
		return;
	raw = t->saved;
	raw.c_lflag &= (tcflag_t)~(ICANON | ECHO);
	t->keys = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
}

static void keys_off(struct top *t)
{
	if (t->keys)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
}

/* One refresh: the screen (or a dated block) with every panel; returns an exit code. */
static int frame(struct top *t, double now)
{
	struct svc_view *cur = NULL;
	size_t ncur = 0;
	int e;

	if ((e = view_read(t->c, t->only, &cur, &ncur)))
		return e;
	if (t->tty) {
		fputs("\033[H\033[2J", stdout);
	} else {
		char ts[32];
		time_t wall = time(NULL);

		strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", localtime(&wall));
		printf("--- %s\n", ts);
	}
	if (ncur == 0)
		puts("no services");
	for (size_t i = 0; i < ncur; i++) {
		panel_render(&cur[i], t->prev ? view_find(t->prev, t->nprev, cur[i].name) : NULL,
			     now - t->tprev, 1, t->tty, stdout);
		putchar('\n');
	}
	if (t->tty)
		puts("q: quit");
	fflush(stdout);
	view_free(t->prev, t->nprev);
	t->prev = cur;
	t->nprev = ncur;
	t->tprev = now;
	return 0;
}

/* Sleep until `until`, or less if q arrives. */
static void pause_until(const struct top *t, double until)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };

	while (!stop && cli_now_s() < until) {
		int ms = (int)((until - cli_now_s()) * 1000) + 1;
		char ch;

		if (!t->keys)
			usleep((useconds_t)ms * 1000);
		else if (poll(&pfd, 1, ms) > 0 && read(STDIN_FILENO, &ch, 1) == 1 &&
			 (ch == 'q' || ch == 'Q'))
			stop = 1;
	}
}

int cmd_top(const struct cli *c, int argc, char **argv)
{
	const char *pos[1] = { NULL };
	struct sigaction sa = { .sa_handler = on_signal };
	struct top t = { .c = c, .tty = isatty(STDOUT_FILENO) };
	long count = -1;
	int e = 0;

	if (cli_args("top", argc, argv, cli_top_opts, &count, pos, 1) < 0)
		return CB_EXIT_USAGE;
	if (c->json)
		return cli_fail(CB_EXIT_USAGE, "top", "no JSON view: use 'canary-bpf -j stats' in a loop");
	t.only = pos[0];
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	keys_on(&t);
	while (!stop && count != 0) {
		double now = cli_now_s();

		if ((e = frame(&t, now)))
			break;
		if (count > 0 && --count == 0)
			break;
		pause_until(&t, now + 1.0);
	}
	keys_off(&t);
	view_free(t.prev, t.nprev);
	return e;
}
