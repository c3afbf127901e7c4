// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Where the agent's metrics go: the HTTP endpoints (/metrics, /healthz,
 * /readyz) served from the event loop, and the node_exporter textfile
 * rewritten every --textfile-interval. Both take their text from
 * agent_metrics_render().
 */
#include "agent.h"
#include "log.h"
#include "textfile.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#define EXPO_CTYPE "text/plain; version=0.0.4; charset=utf-8"
#define TEXT_CTYPE "text/plain; charset=utf-8"
#define TEXTFILE_NAME "canary_bpf.prom"

int agent_is_ready(const struct agent *a)
{
	if (!a->ready)
		return 0;
	for (size_t i = 0; i < a->nsvcs; i++)
		if (a->svcs[i].broken)
			return 0;
	return 1;
}

/* Why /readyz says no, or how many services it says yes about. */
static unsigned int readiness(struct agent *a, struct cb_buf *b)
{
	int ok = agent_is_ready(a);

	if (!a->ready) {
		cb_buf_printf(b, "not ready: the first pass over the configuration is not done\n");
		return 503;
	}
	for (size_t i = 0; i < a->nsvcs; i++)
		if (a->svcs[i].broken)
			cb_buf_printf(b, "not ready: service %s could not be applied (see the log)\n",
				      a->svcs[i].cfg->name);
	if (ok)
		cb_buf_printf(b, "ready: %zu services applied\n", a->nsvcs);
	return ok ? 200 : 503;
}

static unsigned int on_get(void *arg, const char *path, struct cb_buf *body, const char **ctype)
{
	struct agent *a = arg;
	int e;

	*ctype = TEXT_CTYPE;
	if (!strcmp(path, "/metrics")) {
		e = agent_metrics_render(a, body);
		if (e) {
			cb_buf_reset(body);
			cb_buf_printf(body, "reading the maps: %s\n", strerror(-e));
			return 500;
		}
		*ctype = EXPO_CTYPE;
		return 200;
	}
	/* Answered from the event loop itself: a loop that hangs stops answering. */
	if (!strcmp(path, "/healthz")) {
		cb_buf_printf(body, "ok\n");
		return 200;
	}
	if (!strcmp(path, "/readyz"))
		return readiness(a, body);
	if (!strcmp(path, "/")) {
		cb_buf_printf(body, "canary-bpf agent %s: /metrics /healthz /readyz\n", CB_VERSION);
		return 200;
	}
	cb_buf_printf(body, "not found; try /metrics, /healthz or /readyz\n");
	return 404;
}

int agent_export_start(struct agent *a, struct cb_err *err)
{
	struct agent_metrics *m = &a->mx;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = m };
	char where[64];
	int e;

	if (!m->http_on)
		return 0;
	if ((e = cb_http_start(&m->http, &m->addr, on_get, a, "/metrics", err)))
		return e;
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, cb_http_fd(m->http), &ev)) {
		e = -errno;
		cb_http_stop(m->http);
		m->http = NULL;
		return cb_err_set(err, e, "metrics server: epoll: %s", strerror(-e));
	}
	m->addr.port = cb_http_port(m->http);
	cb_fmt_endpoint(&m->addr, where, sizeof(where));
	cb_log(CB_LOG_INFO, NULL, "metrics", "serving http://%s/metrics", where);
	return 0;
}

int agent_export_timeout_ms(struct agent *a)
{
	return a->mx.http ? cb_http_timeout_ms(a->mx.http) : -1;
}

static void textfile_write(struct agent *a)
{
	struct agent_metrics *m = &a->mx;
	struct cb_buf text = { 0 };   /* megabytes for many services: not kept between writes */
	struct cb_err err;
	int e;

	e = agent_metrics_render(a, &text);
	if (e)
		cb_err_set(&err, e, "reading the maps: %s", strerror(-e));
	else
		e = cb_textfile_write(m->textfile_dir, TEXTFILE_NAME, text.p, text.len, &err);
	cb_buf_free(&text);
	/* A failing disk would otherwise log every interval: say it once, and when it is over. */
	if (e && !m->textfile_failing)
		cb_log(CB_LOG_ERROR, NULL, "textfile", "%s", err.msg);
	else if (!e && m->textfile_failing)
		cb_log(CB_LOG_INFO, NULL, "textfile", "%s/%s written again", m->textfile_dir,
		       TEXTFILE_NAME);
	m->textfile_failing = e != 0;
}

void agent_export_tick(struct agent *a, uint64_t now)
{
	struct agent_metrics *m = &a->mx;

	if (m->http)
		cb_http_run(m->http);
	if (m->textfile_dir && a->ready && now >= m->textfile_at_ms) {
		textfile_write(a);
		m->textfile_at_ms = now + m->textfile_every_ms;
	}
}

void agent_export_stop(struct agent *a)
{
	cb_http_stop(a->mx.http);
	a->mx.http = NULL;
}
