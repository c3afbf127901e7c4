// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rollout status [-w] [NAME] | pause | resume | abort | promote NAME
 * status reads the agent's pinned rollout records; the other verbs leave a
 * request in cb_ctl that the agent answers within one tick.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "owner.h"
#include "hist.h"
#include "hook.h"
#include "rollout.h"
#include "view.h"

#define WATCH_MS       500

struct ro_row {
	char name[CB_NAME_LEN];
	struct cb_rollout r;
	int have;
};

/* Time spent in the step: the agent stores it at each check; add what passed since. */
static uint64_t elapsed_ms(const struct cb_rollout *r, uint64_t now)
{
	uint64_t e = r->step_elapsed_ms;

	if (r->phase == CB_PHASE_PROGRESSING && now > r->updated_ms && now - r->updated_ms < 60000)
		e += now - r->updated_ms;
	return e;
}

/* Seconds with millisecond precision, printed as such (not 2.0049999999999999). */
static struct json_object *json_seconds(uint64_t ms)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64 ".%03u", ms / 1000, (unsigned int)(ms % 1000));
	return json_object_new_double_s((double)ms / 1000, buf);
}

/* The pin path's agent, found once per status: pid 0 when none runs. */
static struct cb_owner agent_seen;

static struct json_object *ro_json(const struct ro_row *row, uint64_t now)
{
	const struct cb_rollout *r = &row->r;
	struct json_object *o = json_object_new_object();
	int live = r->phase == CB_PHASE_PROGRESSING || r->phase == CB_PHASE_PAUSED;
	uint64_t el = elapsed_ms(r, now);

	json_object_object_add(o, "name", json_object_new_string(row->name));
	json_object_object_add(o, "phase", json_object_new_string(cb_phase_name(r->phase)));
	json_object_object_add(o, "step", json_object_new_int(live || r->phase != CB_PHASE_IDLE ?
							      (int)r->step + 1 : 0));
	json_object_object_add(o, "steps", json_object_new_int((int)r->nsteps));
	json_object_object_add(o, "weight_percent", cli_json_percent(r->weight_bp));
	json_object_object_add(o, "reason", json_object_new_string(r->reason));
	json_object_object_add(o, "failures", json_object_new_int((int)r->failures));
	json_object_object_add(o, "step_elapsed_seconds", json_seconds(el));
	json_object_object_add(o, "step_duration_seconds",
			       json_seconds(r->step_duration_ms));
	json_object_object_add(o, "rollbacks", json_object_new_int64((int64_t)r->rollbacks));
	json_object_object_add(o, "promotions", json_object_new_int64((int64_t)r->promotions));
	if (r->decided_ms && r->decided_ms >= r->started_ms)
		json_object_object_add(o, "decision_seconds",
				       json_seconds(r->decided_ms - r->started_ms));
	/* Both clocks are CLOCK_MONOTONIC: the age is exact across processes, not across reboots. */
	if (row->have && r->updated_ms && now >= r->updated_ms)
		json_object_object_add(o, "updated_age_seconds", json_seconds(now - r->updated_ms));
	json_object_object_add(o, "release", r->release[0] ? json_object_new_string(r->release) : NULL);
	/* A paused rollout is judged too: its reason ends with the live verdict (rollout.c). */
	if (strstr(r->reason, " | last check: "))
		json_object_object_add(o, "last_check", json_object_new_string(
			strstr(r->reason, " | last check: ") + strlen(" | last check: ")));
	json_object_object_add(o, "managed", json_object_new_boolean(!!(r->flags & CB_RO_F_MANAGED)));
	json_object_object_add(o, "forced", json_object_new_boolean(!!(r->flags & CB_RO_F_FORCED)));
	json_object_object_add(o, "agent_running", json_object_new_boolean(agent_seen.pid > 0));
	if (agent_seen.pid > 0)
		json_object_object_add(o, "agent_pid", json_object_new_int(agent_seen.pid));
	return o;
}

static void progress(double frac, int width, char *buf, size_t len)
{
	int full = (int)(frac * width + 0.5);

	if (full > width)
		full = width;
	/* view_bar draws the stable share filled: a fraction f is a "weight" of 1 - f. */
	view_bar((uint32_t)((1.0 - (double)full / width) * CB_WEIGHT_MAX), width, buf, len);
}

static void signals_line(const struct svc_view *now, const struct svc_view *before, double dt)
{
	for (unsigned int t = 0; t < CB_TRACKS; t++) {
		const struct cb_track_stats *n = &now->st[t], *b = before ? &before->st[t] : NULL;
		uint64_t conns = n->connections - (b ? b->connections : 0);
		uint64_t http = 0, e5 = n->http[3] - (b ? b->http[3] : 0);
		uint64_t fails = n->connect_failures - (b ? b->connect_failures : 0);
		struct cb_hist d;

		for (int i = 0; i < 4; i++)
			http += n->http[i] - (b ? b->http[i] : 0);
		if (b)
			cb_hist_delta(&now->hist[t][CB_HIST_TTFB], &before->hist[t][CB_HIST_TTFB], &d);
		else
			d = now->hist[t][CB_HIST_TTFB];
		printf("    %-6s %7.1f conn/s  5xx %5.2f %%  failed connects %5.2f %%  TTFB p99 %.1f ms\n",
		       t ? "canary" : "stable", dt > 0 ? (double)conns / dt : 0,
		       http ? 100.0 * (double)e5 / (double)http : 0,
		       conns ? 100.0 * (double)fails / (double)conns : 0,
		       (double)cb_hist_percentile(&d, 0.99) / 1000);
	}
}

static void ro_text(const struct ro_row *row, uint64_t now, int bars)
{
	const struct cb_rollout *r = &row->r;
	uint64_t el = elapsed_ms(r, now);
	char w[16], bar[256], wb[256];

	cb_fmt_percent(r->weight_bp, w, sizeof(w));
	if (r->phase == CB_PHASE_IDLE || !r->nsteps) {
		printf("%-16s %-12s %s\n", row->name, cb_phase_name(r->phase), r->reason);
		return;
	}
	printf("%-16s %-12s step %u/%u  weight %s %%", row->name, cb_phase_name(r->phase),
	       r->step + 1, r->nsteps, w);
	if (r->phase == CB_PHASE_PROGRESSING && r->step_duration_ms) {
		uint64_t left = el >= r->step_duration_ms ? 0 : r->step_duration_ms - el;

		printf("  %.0f s left in step", (double)left / 1000);
	}
	if (r->decided_ms && (r->phase == CB_PHASE_PROMOTED || r->phase == CB_PHASE_ROLLED_BACK))
		printf("  decided after %.1f s", (double)(r->decided_ms - r->started_ms) / 1000);
	printf("\n");
	if (bars && (r->phase == CB_PHASE_PROGRESSING || r->phase == CB_PHASE_PAUSED)) {
		progress((double)(r->step + 1) / r->nsteps, 30, bar, sizeof(bar));
		printf("    steps  %s  %u of %u\n", bar, r->step + 1, r->nsteps);
		view_bar(r->weight_bp, 30, wb, sizeof(wb));
		progress(r->step_duration_ms ? (double)el / (double)r->step_duration_ms : 0, 30, bar,
			 sizeof(bar));
		printf("    step   %s  %.0f / %.0f s\n", bar, (double)el / 1000,
		       (double)r->step_duration_ms / 1000);
		printf("    split  %s  stable | canary %s %%\n", wb, w);
	}
	printf("    %s\n", r->reason);
	if (!r->updated_ms || now < r->updated_ms)
		return;
	printf("    record updated %.1f s ago; ", (double)(now - r->updated_ms) / 1000);
	if (agent_seen.pid > 0)
		printf("agent pid %d%s\n", (int)agent_seen.pid,
		       r->flags & CB_RO_F_FORCED ? "; a change forced with --force stands" : "");
	else
		printf("no agent runs\n");
}

static int load_rows(const struct cb_state *st, const char *only, struct ro_row **rows, size_t *n)
{
	char (*names)[CB_NAME_LEN] = NULL;
	size_t nn = 0;
	int e;

	*rows = NULL;
	*n = 0;
	if (only) {
		*rows = calloc(1, sizeof(**rows));
		if (!*rows)
			return -ENOMEM;
		snprintf((*rows)[0].name, CB_NAME_LEN, "%s", only);
		(*rows)[0].have = cb_rollout_get(&st->maps, only, &(*rows)[0].r) == 0;
		*n = 1;
		return 0;
	}
	if ((e = cb_names_list(&st->maps, &names, &nn)))
		return e;
	*rows = calloc(nn ? nn : 1, sizeof(**rows));
	if (!*rows) {
		free(names);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nn; i++) {
		struct ro_row *row = &(*rows)[*n];

		memcpy(row->name, names[i], CB_NAME_LEN);
		row->have = cb_rollout_get(&st->maps, row->name, &row->r) == 0;
		if (row->have)
			(*n)++;
	}
	free(names);
	return 0;
}

static int ended(const struct ro_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].r.phase == CB_PHASE_PROGRESSING || rows[i].r.phase == CB_PHASE_PAUSED)
			return 0;
	return 1;
}

static int status(const struct cli *c, const char *name, int watch)
{
	struct svc_view *prev = NULL, *cur = NULL;
	struct ro_row *rows = NULL;
	struct cb_state st;
	uint64_t last = 0;
	size_t n = 0;
	int e, tty = isatty(STDOUT_FILENO), rc = 0;

	if ((e = cli_state(c, 0, &st, name)))
		return e;
	if (name) {
		struct cb_svc_key key;
		struct cb_service svc;

		if ((e = cli_service(&st, name, &key, &svc))) {
			cb_state_close(&st);
			return e;
		}
	}
	for (;;) {
		uint64_t now = cb_now_ms();

		memset(&agent_seen, 0, sizeof(agent_seen));
		if (cb_owner_find(st.pin, &agent_seen) != 1)
			agent_seen.pid = 0;
		free(rows);
		if ((e = load_rows(&st, name, &rows, &n))) {
			rc = cli_fail(CB_EXIT_RUNTIME, "rollout status", "%s", strerror(-e));
			break;
		}
		if (c->json && !watch) {
			struct json_object *out;

			if (name) {
				out = ro_json(&rows[0], now);
			} else {
				out = json_object_new_array();
				for (size_t i = 0; i < n; i++)
					json_object_array_add(out, ro_json(&rows[i], now));
			}
			cli_json_print(out);
			break;
		}
		if (watch && tty)
			printf("\033[H\033[2J");
		if (!n)
			printf("no rollouts\n");
		for (size_t i = 0; i < n; i++) {
			if (!rows[i].have) {
				printf("%-16s %-12s the agent has no rollout for it\n", rows[i].name, "idle");
				continue;
			}
			ro_text(&rows[i], now, watch);
			if (watch && name) {
				cur = calloc(1, sizeof(*cur));
				if (cur && view_load(&st, name, cur) == 0)
					signals_line(cur, prev, last ? (double)(now - last) / 1000 : 0);
				if (prev)
					view_free(prev, 1);
				prev = cur;
				cur = NULL;
			}
		}
		fflush(stdout);
		last = now;
		if (!watch || ended(rows, n)) {
			for (size_t i = 0; watch && i < n; i++)
				if (rows[i].r.phase == CB_PHASE_ROLLED_BACK)
					rc = CB_EXIT_RUNTIME;
			break;
		}
		usleep(WATCH_MS * 1000);
	}
	if (prev)
		view_free(prev, 1);
	free(rows);
	cb_state_close(&st);
	return rc;
}

static int command(const struct cli *c, const char *verb, enum cb_ctl_cmd cmd, const char *name)
{
	struct cb_svc_key key;
	struct cb_service svc;
	struct cb_state st;
	struct cb_ctl ans;
	char what[64];
	int e;

	snprintf(what, sizeof(what), "rollout %s", verb);
	if ((e = cli_state(c, 0, &st, name)))
		return e;
	if ((e = cli_service(&st, name, &key, &svc))) {
		cb_state_close(&st);
		return e;
	}
	e = cli_ctl_ask(&st, what, name, cmd, &ans);
	if (e) {
		cb_state_close(&st);
		return e;
	}
	cb_state_close(&st);
	ans.msg[sizeof(ans.msg) - 1] = 0;
	if (ans.state == CB_CTL_REJECTED)
		return cli_fail(CB_EXIT_USAGE, what, "%s: %s", name, ans.msg);
	if (c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "result", json_object_new_string(ans.msg));
		cli_json_print(o);
	} else {
		printf("%s: %s\n", name, ans.msg);
	}
	return 0;
}

const struct cb_opt cli_rollout_status_opts[] = {
	{ "watch", 'w', NULL, "redraw every half second until the rollout ends", NULL, 0 },
	{ 0 },
};

int cmd_rollout(const struct cli *c, int argc, char **argv)
{
	static const struct { const char *verb; enum cb_ctl_cmd cmd; } cmds[] = {
		{ "pause", CB_CTL_PAUSE }, { "resume", CB_CTL_RESUME },
		{ "abort", CB_CTL_ABORT }, { "promote", CB_CTL_PROMOTE },
	};
	const char *pos[1] = { NULL };
	char verb[32];
	int n, watch = 0;

	if (argc < 2)
		return cli_fail(CB_EXIT_USAGE, "rollout", "expected status, pause, resume, abort or promote");
	snprintf(verb, sizeof(verb), "rollout %s", argv[1]);
	if (!strcmp(argv[1], "status")) {
		n = cli_args(verb, argc - 1, argv + 1, cli_rollout_status_opts, &watch, pos, 1);
		if (n < 0)
			return CB_EXIT_USAGE;
		return status(c, n ? pos[0] : NULL, watch);
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].verb))
			continue;
		n = cli_args(verb, argc - 1, argv + 1, NULL, NULL, pos, 1);
		if (n < 0)
			return CB_EXIT_USAGE;
		if (n < 1)
			return cli_fail(CB_EXIT_USAGE, verb, "missing NAME");
		return command(c, cmds[i].verb, cmds[i].cmd, pos[0]);
	}
	return cli_fail(CB_EXIT_USAGE, "rollout", "unknown command '%s' (status, pause, resume, abort "
			"or promote)", argv[1]);
}
