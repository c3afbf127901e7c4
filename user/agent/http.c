// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "http.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/*
 * What one client can hold: slots are many and cheap (an fd and a 16 KiB
 * buffer each), so that slow clients cannot take the one a probe needs; a
 * request has HTTP_DEADLINE_MS from its connection (or its previous
 * response) to its answer, however it trickles its bytes in.
 */
#define HTTP_MAX_CONNECTIONS  512
#define HTTP_PER_CLIENT       128
#define HTTP_IDLE_TIMEOUT_S   5
#define HTTP_DEADLINE_MS      5000
#define HTTP_CONN_MEMORY      (16 * 1024)
/* The heavy path: one render serves every client for HTTP_SHARE_MS; at most HTTP_MAX_BODIES live. */
#define HTTP_SHARE_MS         1000
#define HTTP_MAX_BODIES       2
#define HTTP_LOG_BURST        5       /* libmicrohttpd's messages per window, then a count */
#define HTTP_LOG_WINDOW_MS    10000

struct http_conn {
	int fd;                        /* -1: slot free */
	int cut;                       /* shut down at its deadline; MHD closes it next */
	int answering;                 /* its request is in: a slow reader is MHD's idle timeout's */
	uint64_t since_ms;
};

struct cb_http {
	struct MHD_Daemon *d;
	cb_http_handler fn;
	void *arg;
	int epfd;
	uint16_t port;
	const char *shared_path;
	struct MHD_Response *shared;   /* the last render of shared_path, or NULL */
	uint64_t shared_ms;
	unsigned int bodies;           /* renders still referenced by a connection or by us */
	uint64_t cut_total;
	uint64_t log_window_ms, log_count, log_quiet;
	struct http_conn conns[HTTP_MAX_CONNECTIONS];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Connections come and go: their slot, for the deadline. */
static void on_conn(void *cls, struct MHD_Connection *c, void **sock_ctx,
		    enum MHD_ConnectionNotificationCode what)
{
	struct cb_http *h = cls;
	struct http_conn *hc = *sock_ctx;

	if (what == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (hc)
			hc->fd = -1;
		*sock_ctx = NULL;
		return;
	}
	for (size_t i = 0; i < HTTP_MAX_CONNECTIONS; i++) {
		const union MHD_ConnectionInfo *ci;

		if (h->conns[i].fd >= 0)
			continue;
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!ci)
			return;
		h->conns[i] = (struct http_conn){ .fd = ci->connect_fd, .since_ms = mono_ms() };
		*sock_ctx = &h->conns[i];
		return;
	}
}

/* A request answered: the next one on this connection has a deadline of its own. */
static void on_done(void *cls, struct MHD_Connection *c, void **req_ctx,
		    enum MHD_RequestTerminationCode why)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct http_conn *hc = ci ? ci->socket_context : NULL;

	(void)cls;
	(void)req_ctx;
	(void)why;
	if (hc) {
		hc->since_ms = mono_ms();
		hc->answering = 0;
	}
}

/*
 * Past its deadline: shut the socket down under MHD, which sees the end of
 * the stream at once and closes the connection itself (an fd is only ever
 * closed by its owner). Single-threaded: the slot is still MHD's fd.
 */
static void cut_late(struct cb_http *h, uint64_t now)
{
	for (size_t i = 0; i < HTTP_MAX_CONNECTIONS; i++) {
		struct http_conn *hc = &h->conns[i];

		if (hc->fd < 0 || hc->cut || hc->answering || now < hc->since_ms + HTTP_DEADLINE_MS)
			continue;
		shutdown(hc->fd, SHUT_RDWR);
		hc->cut = 1;
		h->cut_total++;
	}
}

struct http_body {
	struct cb_http *h;
	char *p;
};

static void body_free(void *cls)
{
	struct http_body *bd = cls;

	if (bd->h->bodies)
		bd->h->bodies--;
	free(bd->p);
	free(bd);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct cb_http *h = cls;
	uint64_t now = mono_ms();
	char msg[256];

	/* While starting, the failure comes back to the caller as one error line. */
	if (!h->d)
		return;
	/* Hostile clients make one message each: a few per window, then a count. */
	if (now >= h->log_window_ms + HTTP_LOG_WINDOW_MS) {
		if (h->log_quiet)
			cb_log(CB_LOG_WARN, NULL, "http", "%llu more messages like these suppressed",
			       (unsigned long long)h->log_quiet);
		h->log_window_ms = now;
		h->log_count = 0;
		h->log_quiet = 0;
	}
	if (h->log_count++ >= HTTP_LOG_BURST) {
		h->log_quiet++;
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	cb_log(CB_LOG_WARN, NULL, "http", "%s", msg);
}

/*
 * body is malloc'd and becomes the response's, freed once sent: a scrape of
 * many services is megabytes, not worth a copy or keeping between scrapes.
 */
static enum MHD_Result respond(struct MHD_Connection *c, unsigned int code, const char *ctype,
			       char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ok;

	r = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	if (ctype)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ok = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result respond_text(struct MHD_Connection *c, unsigned int code, const char *text)
{
	char *body = strdup(text);

	if (!body)
		return MHD_NO;
	return respond(c, code, "text/plain; charset=utf-8", body, strlen(body));
}

/*
 * The shared path: a render less than HTTP_SHARE_MS old is queued again (MHD
 * counts the connections sending it); a new one only while fewer than
 * HTTP_MAX_BODIES are still being sent, so 20 slow scrapers of a 100 MB
 * page hold two copies at most, not twenty.
 */
static enum MHD_Result respond_shared(struct cb_http *h, struct MHD_Connection *c, const char *url)
{
	uint64_t now = mono_ms();
	const char *ctype = "text/plain; charset=utf-8";
	struct cb_buf body = { 0 };
	struct MHD_Response *r;
	struct http_body *bd;
	unsigned int code;

	if (h->shared && (now < h->shared_ms + HTTP_SHARE_MS || h->bodies >= HTTP_MAX_BODIES))
		return MHD_queue_response(c, MHD_HTTP_OK, h->shared);
	if (h->bodies >= HTTP_MAX_BODIES)
		return respond_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "busy: try again\n");
	code = h->fn(h->arg, url, &body, &ctype);
	if (body.oom || code != MHD_HTTP_OK || !body.p) {
		cb_buf_free(&body);
		return respond_text(c, body.oom ? MHD_HTTP_INTERNAL_SERVER_ERROR : code,
				    body.oom ? "out of memory\n" : "");
	}
	/* The body is freed by its response, when the last connection sending it is done. */
	bd = malloc(sizeof(*bd));
	if (!bd) {
		cb_buf_free(&body);
		return respond_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	*bd = (struct http_body){ .h = h, .p = body.p };
	r = MHD_create_response_from_buffer_with_free_callback_cls(body.len, body.p, body_free, bd);
	if (!r) {
		h->bodies++;
		body_free(bd);
		return MHD_NO;
	}
	h->bodies++;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (h->shared)
		MHD_destroy_response(h->shared);
	h->shared = r;
	h->shared_ms = now;
	return MHD_queue_response(c, MHD_HTTP_OK, r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	struct cb_http *h = cls;
	const char *ctype = "text/plain; charset=utf-8";
	struct cb_buf body = { 0 };
	unsigned int code;

	(void)version;
	(void)upload;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		/* Answer once the upload (if any) is read, or MHD drops the connection. */
		if (*upload_size) {
			*upload_size = 0;
			return MHD_YES;
		}
		if (!*state) {
			*state = h;
			return MHD_YES;
		}
		return respond_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	}
	{
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		struct http_conn *hc = ci ? ci->socket_context : NULL;

		/* The request arrived within its deadline; sending the answer is not timed by it. */
		if (hc)
			hc->answering = 1;
	}
	if (h->shared_path && !strcmp(url, h->shared_path))
		return respond_shared(h, c, url);
	code = h->fn(h->arg, url, &body, &ctype);
	if (body.oom) {
		cb_buf_free(&body);
		return respond_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	if (!body.p)
		return respond_text(c, code, "");
	return respond(c, code, ctype, body.p, body.len);
}

int cb_http_start(struct cb_http **out, const struct cb_endpoint *addr, cb_http_handler fn,
		  void *arg, const char *shared_path, struct cb_err *err)
{
	struct sockaddr_storage ss = { 0 };
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	struct cb_http *h;
	char where[64];

	cb_fmt_endpoint(addr, where, sizeof(where));
	if (addr->family == CB_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(addr->port);
		memcpy(&s6->sin6_addr, addr->addr.v6, sizeof(s6->sin6_addr));
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(addr->port);
		memcpy(&s4->sin_addr, &addr->addr.v4, sizeof(s4->sin_addr));
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return cb_err_set(err, -ENOMEM, "metrics server: out of memory");
	h->fn = fn;
	h->arg = arg;
	h->shared_path = shared_path;
	for (size_t i = 0; i < HTTP_MAX_CONNECTIONS; i++)
		h->conns[i].fd = -1;
	errno = 0;
	/* The logger goes first, or messages about the options go to stderr. */
	h->d = MHD_start_daemon(flags, addr->port, NULL, NULL, on_request, h,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_MAX_CONNECTIONS,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)HTTP_PER_CLIENT,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_IDLE_TIMEOUT_S,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
				MHD_OPTION_NOTIFY_CONNECTION, on_conn, h,
				MHD_OPTION_NOTIFY_COMPLETED, on_done, h,
				MHD_OPTION_END);
	if (!h->d) {
		int e = errno ? errno : EADDRNOTAVAIL;

		free(h);
		return cb_err_set(err, -e, "metrics server: listen on %s: %s", where, strerror(e));
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	h->epfd = info ? info->epoll_fd : -1;
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : addr->port;
	if (h->epfd < 0) {
		cb_http_stop(h);
		return cb_err_set(err, -EINVAL, "metrics server: no epoll fd from libmicrohttpd");
	}
	*out = h;
	return 0;
}

int cb_http_fd(const struct cb_http *h)
{
	return h->epfd;
}

uint16_t cb_http_port(const struct cb_http *h)
{
	return h->port;
}

void cb_http_run(struct cb_http *h)
{
	MHD_run(h->d);
	cut_late(h, mono_ms());
}

int cb_http_timeout_ms(struct cb_http *h)
{
	uint64_t now = mono_ms(), next = UINT64_MAX;
	MHD_UNSIGNED_LONG_LONG t;
	int ms = -1;

	if (MHD_get_timeout(h->d, &t) == MHD_YES)
		ms = t > 60000 ? 60000 : (int)t;
	for (size_t i = 0; i < HTTP_MAX_CONNECTIONS; i++)
		if (h->conns[i].fd >= 0 && !h->conns[i].cut && !h->conns[i].answering &&
		    h->conns[i].since_ms + HTTP_DEADLINE_MS < next)
			next = h->conns[i].since_ms + HTTP_DEADLINE_MS;
	if (next != UINT64_MAX) {
		int due = next <= now ? 0 : (int)(next - now);

		if (ms < 0 || due < ms)
			ms = due;
	}
	return ms;
}

uint64_t cb_http_cut_total(const struct cb_http *h)
{
	return h->cut_total;
}

void cb_http_stop(struct cb_http *h)
{
	if (!h)
		return;
	if (h->shared)
		MHD_destroy_response(h->shared);
	if (h->d)
		MHD_stop_daemon(h->d);
	free(h);
}
