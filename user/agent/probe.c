// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Reply bytes allowed before the final status line. Only 1xx header blocks
 * can get near it; without a bound a server streaming one endless 1xx header
 * would keep a single step reading and starve the loop.
 */
#define CB_PROBE_REPLY_MAX 8192
#define CB_PROBE_INTERIM_MAX 8

static void closefd(struct cb_probe *p)
{
	if (p->phase != CB_PROBE_PH_IDLE && p->fd >= 0)
		close(p->fd);   /* never retried: on Linux the fd is gone even on EINTR */
	p->fd = -1;
	p->events = 0;
	p->phase = CB_PROBE_PH_IDLE;
}

static enum cb_probe_res finish(struct cb_probe *p, enum cb_probe_res r)
{
	closefd(p);
	p->res = r;
	if (r == CB_PROBE_OK)
		p->why[0] = '\0';
	return r;
}

__attribute__((format(printf, 2, 3)))
static enum cb_probe_res fail(struct cb_probe *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	return finish(p, CB_PROBE_FAIL);
}

/* Peer bytes go into log lines: keep only printable ASCII. */
static void sanitize(char *dst, size_t dlen, const char *src, size_t slen)
{
	size_t i;

	for (i = 0; i < slen && i + 1 < dlen; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '.';
	dst[i] = '\0';
}

void cb_probe_init(struct cb_probe *p)
{
	memset(p, 0, sizeof(*p));
	p->fd = -1;
}

static int path_ok(const char *path)
{
	size_t n = strlen(path);

	if (path[0] != '/' || n > CB_PROBE_PATH_MAX)
		return 0;
	/* no spaces or controls: either would let the path rewrite the request */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] <= 0x20 || (unsigned char)path[i] >= 0x7f)
			return 0;
	return 1;
}

static int build_request(struct cb_probe *p, const char *path)
{
	char ip[INET6_ADDRSTRLEN];
	int n;

	if (!inet_ntop(p->ep.family == CB_AF_INET ? AF_INET : AF_INET6, &p->ep.addr, ip, sizeof(ip)))
		return -1;
	/* RFC 9110 Host is an authority, so an IPv6 literal goes in brackets */
	n = snprintf(p->req, sizeof(p->req),
		     "GET %s HTTP/1.1\r\nHost: %s%s%s:%u\r\n"
		     "User-Agent: canary-bpf-health\r\nConnection: close\r\n\r\n",
		     path, p->ep.family == CB_AF_INET6 ? "[" : "", ip,
		     p->ep.family == CB_AF_INET6 ? "]" : "", p->ep.port);
	if (n < 0 || (size_t)n >= sizeof(p->req))
		return -1;
	p->req_len = (uint16_t)n;
	return 0;
}

enum cb_probe_res cb_probe_start(struct cb_probe *p, enum cb_check kind,
				 const struct cb_endpoint *ep, const char *path,
				 uint64_t now_ms, uint64_t timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	cb_probe_init(p);
	p->kind = kind;
	p->ep = *ep;
	p->timeout_ms = timeout_ms;
	p->deadline_ms = now_ms > UINT64_MAX - timeout_ms ? UINT64_MAX : now_ms + timeout_ms;
	p->res = CB_PROBE_PENDING;

	if (kind != CB_CHECK_TCP && kind != CB_CHECK_HTTP)
		return fail(p, "bad probe kind %d", (int)kind);
	if (ep->port == 0)
		return fail(p, "bad port 0");
	memset(&ss, 0, sizeof(ss));
	if (ep->family == CB_AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(ep->port);
		sin->sin_addr.s_addr = ep->addr.v4;
		sl = sizeof(*sin);
	} else if (ep->family == CB_AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(ep->port);
		memcpy(&sin6->sin6_addr, ep->addr.b, sizeof(sin6->sin6_addr));
		sl = sizeof(*sin6);
	} else {
		return fail(p, "bad address family %u", ep->family);
	}
	if (kind == CB_CHECK_HTTP) {
		if (!path || !path[0])
			path = "/";
		if (!path_ok(path) || build_request(p, path) < 0)
			return fail(p, "bad HTTP path (must start with '/', no spaces or controls, at most %d bytes)",
				    CB_PROBE_PATH_MAX);
	}

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(p, "socket: %s", strerror(errno));
	p->fd = fd;
	p->phase = CB_PROBE_PH_CONNECT;
	p->events = EPOLLOUT;
	if (connect(fd, (struct sockaddr *)&ss, sl) == 0)
		return cb_probe_step(p, now_ms);
	/* an interrupted non-blocking connect carries on asynchronously, like EINPROGRESS */
	if (errno == EINPROGRESS || errno == EINTR)
		return CB_PROBE_PENDING;
	return fail(p, "connect: %s", strerror(errno));
}

static const char *phase_name(enum cb_probe_phase ph)
{
	switch (ph) {
	case CB_PROBE_PH_CONNECT:
		return "connecting";
	case CB_PROBE_PH_SEND:
		return "sending the request";
	case CB_PROBE_PH_STATUS:
		return "waiting for the status line";
	case CB_PROBE_PH_INTERIM:
		return "reading a 1xx reply";
	default:
		return "idle";
	}
}

/*
 * SO_ERROR alone cannot tell "connected" from "still connecting" (both 0),
 * and the loop also steps us on timer wake-ups, so ask for the peer too.
 */
static enum cb_probe_res step_connect(struct cb_probe *p)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int err = 0;
	socklen_t el = sizeof(err);

	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		return fail(p, "getsockopt(SO_ERROR): %s", strerror(errno));
	if (err)
		return fail(p, "connect: %s", strerror(err));
	if (getpeername(p->fd, (struct sockaddr *)&ss, &sl) < 0) {
		if (errno == ENOTCONN)
			return CB_PROBE_PENDING;
		return fail(p, "getpeername: %s", strerror(errno));
	}
	if (p->kind == CB_CHECK_TCP)
		return finish(p, CB_PROBE_OK);
	p->phase = CB_PROBE_PH_SEND;
	return CB_PROBE_PENDING;
}

static enum cb_probe_res step_send(struct cb_probe *p)
{
	while (p->req_off < p->req_len) {
		/* MSG_NOSIGNAL: a backend that resets us must not SIGPIPE the agent */
		ssize_t n = send(p->fd, p->req + p->req_off, p->req_len - p->req_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				p->events = EPOLLOUT;
				return CB_PROBE_PENDING;
			}
			return fail(p, "send: %s", strerror(errno));
		}
		p->req_off += (uint16_t)n;
	}
	p->phase = CB_PROBE_PH_STATUS;
	p->events = EPOLLIN;
	return CB_PROBE_PENDING;
}

static enum cb_probe_res malformed(struct cb_probe *p, const char *line, size_t len)
{
	const char *nl = memchr(line, '\n', len);
	char s[48];

	if (nl)
		len = (size_t)(nl - line);
	if (len && line[len - 1] == '\r')
		len--;
	sanitize(s, sizeof(s), line, len);
	return fail(p, "malformed status line \"%s\"", s);
}

static int isdig(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ] (RFC 9112 4),
 * tolerating a missing SP after the code, which servers do send. Returns the
 * code, or -1 when the line does not parse.
 */
static int parse_status(const char *l, size_t len)
{
	if (len < 12 || memcmp(l, "HTTP/", 5) || !isdig(l[5]) || l[6] != '.' || !isdig(l[7]) ||
	    l[8] != ' ' || !isdig(l[9]) || !isdig(l[10]) || !isdig(l[11]) || l[9] == '0')
		return -1;
	if (len > 12 && l[12] != ' ')
		return -1;
	for (size_t i = 13; i < len; i++)
		if (((unsigned char)l[i] < 0x20 && l[i] != '\t') || l[i] == 0x7f)
			return -1;
	return (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
}

static void consume(struct cb_probe *p, size_t n)
{
	memmove(p->buf, p->buf + n, p->buf_len - n);
	p->buf_len -= (uint16_t)n;
}

/* Act on what is buffered: a verdict, or PENDING for more bytes. */
static enum cb_probe_res parse_reply(struct cb_probe *p)
{
	for (;;) {
		char *nl;
		size_t len;
		int code;

		if (p->phase == CB_PROBE_PH_INTERIM) {
			/* only the end of the header block matters; drop the bytes as they come */
			size_t i;

			for (i = 0; i < p->buf_len; i++) {
				char c = p->buf[i];

				if (c == '\n') {
					if (p->hdr_len == 0)
						break;
					p->hdr_len = 0;
				} else if (c != '\r' && p->hdr_len < UINT16_MAX) {
					p->hdr_len++;
				}
			}
			if (i == p->buf_len) {
				p->buf_len = 0;
				return CB_PROBE_PENDING;
			}
			consume(p, i + 1);
			p->phase = CB_PROBE_PH_STATUS;
		}

		/* refuse a non-HTTP peer (SSH banner, TLS alert) now rather than at the timeout */
		len = p->buf_len < 5 ? p->buf_len : 5;
		if (memcmp(p->buf, "HTTP/", len))
			return malformed(p, p->buf, p->buf_len);
		nl = memchr(p->buf, '\n', p->buf_len);
		if (!nl) {
			if (p->buf_len == sizeof(p->buf))
				return fail(p, "status line longer than %zu bytes", sizeof(p->buf));
			return CB_PROBE_PENDING;
		}
		len = (size_t)(nl - p->buf);
		if (len && p->buf[len - 1] == '\r')
			len--;
		code = parse_status(p->buf, len);
		if (code < 0)
			return malformed(p, p->buf, len);
		if (code >= 200 && code <= 399)
			return finish(p, CB_PROBE_OK);
		/* 1xx is interim (103 Early Hints); a switch of protocols was never asked for */
		if (code >= 200 || code == 101) {
			char reason[64] = "";

			if (len > 13)
				sanitize(reason, sizeof(reason), p->buf + 13, len - 13);
			return fail(p, "HTTP %d%s%s", code, reason[0] ? " " : "", reason);
		}
		if (++p->interim > CB_PROBE_INTERIM_MAX)
			return fail(p, "more than %d 1xx replies", CB_PROBE_INTERIM_MAX);
		consume(p, (size_t)(nl - p->buf) + 1);
		p->phase = CB_PROBE_PH_INTERIM;
		p->hdr_len = 0;
	}
}

static enum cb_probe_res step_recv(struct cb_probe *p)
{
	for (;;) {
		ssize_t n = recv(p->fd, p->buf + p->buf_len, sizeof(p->buf) - p->buf_len, 0);
		enum cb_probe_res r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				p->events = EPOLLIN;
				return CB_PROBE_PENDING;
			}
			return fail(p, "recv: %s", strerror(errno));
		}
		if (n == 0)
			return fail(p, "connection closed %s", p->phase == CB_PROBE_PH_INTERIM ?
				    "inside a 1xx reply" : "before the status line");
		p->buf_len += (uint16_t)n;
		p->got += (uint32_t)n;
		r = parse_reply(p);
		if (r != CB_PROBE_PENDING)
			return r;
		if (p->got > CB_PROBE_REPLY_MAX)
			return fail(p, "no final status line in %d bytes", CB_PROBE_REPLY_MAX);
	}
}

enum cb_probe_res cb_probe_step(struct cb_probe *p, uint64_t now_ms)
{
	enum cb_probe_res r = CB_PROBE_PENDING;

	if (p->phase == CB_PROBE_PH_IDLE) {
		if (p->res == CB_PROBE_PENDING)
			return fail(p, "probe not started");
		return p->res;
	}
	/* checked first, so a verdict never depends on how late the loop got to us */
	if (now_ms >= p->deadline_ms)
		return fail(p, "timeout after %llu ms %s", (unsigned long long)p->timeout_ms,
			    phase_name(p->phase));
	/* each phase falls through to the next so a ready socket costs one wake-up */
	if (p->phase == CB_PROBE_PH_CONNECT) {
		r = step_connect(p);
		if (r != CB_PROBE_PENDING || p->phase == CB_PROBE_PH_CONNECT)
			return r;
	}
	if (p->phase == CB_PROBE_PH_SEND) {
		r = step_send(p);
		if (r != CB_PROBE_PENDING || p->phase == CB_PROBE_PH_SEND)
			return r;
	}
	return step_recv(p);
}

void cb_probe_cancel(struct cb_probe *p)
{
	if (p->phase == CB_PROBE_PH_IDLE)
		return;
	closefd(p);
	p->res = CB_PROBE_FAIL;
	snprintf(p->why, sizeof(p->why), "cancelled");
}

int cb_health_feed(struct cb_health_state *s, enum cb_probe_res r, const char *why,
		   unsigned int unhealthy_after, unsigned int healthy_after)
{
	if (!unhealthy_after)
		unhealthy_after = 1;
	if (!healthy_after)
		healthy_after = 1;

	if (r == CB_PROBE_OK) {
		s->fail_run = 0;
		if (s->ok_run < UINT_MAX)
			s->ok_run++;
		if (!s->up && s->ok_run >= healthy_after) {
			s->up = 1;
			s->last_why[0] = '\0';
			return 1;
		}
		return 0;
	}
	if (r != CB_PROBE_FAIL)
		return 0;
	s->ok_run = 0;
	if (s->fail_run < UINT_MAX)
		s->fail_run++;
	snprintf(s->last_why, sizeof(s->last_why), "%s", why && why[0] ? why : "unknown");
	if (s->up && s->fail_run >= unhealthy_after) {
		s->up = 0;
		return 1;
	}
	return 0;
}
