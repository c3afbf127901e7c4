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

#define HTTP_MAX_CONNECTIONS  32
#define HTTP_IDLE_TIMEOUT_S   10

struct cb_http {
	struct MHD_Daemon *d;
	cb_http_handler fn;
	void *arg;
	int epfd;
	uint16_t port;
};

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	const struct cb_http *h = cls;
	char msg[256];

	/* While starting, the failure comes back to the caller as one error line. */
	if (!h->d)
		return;
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
		  void *arg, struct cb_err *err)
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
	errno = 0;
	/* The logger goes first, or messages about the options go to stderr. */
	h->d = MHD_start_daemon(flags, addr->port, NULL, NULL, on_request, h,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_MAX_CONNECTIONS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_IDLE_TIMEOUT_S,
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
}

int cb_http_timeout_ms(struct cb_http *h)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (MHD_get_timeout(h->d, &t) != MHD_YES)
		return -1;
	return t > 60000 ? 60000 : (int)t;
}

void cb_http_stop(struct cb_http *h)
{
	if (!h)
		return;
	if (h->d)
		MHD_stop_daemon(h->d);
	free(h);
}
