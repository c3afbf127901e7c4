// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Health probes (user/agent/probe.c) against real sockets, on 127.0.0.1 and ::1
 * only, driven by the same epoll loop the agent runs. HTTP servers are
 * threads answering one connection with a canned reply.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "probe.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Every test must leave the fd table as it found it: probes, servers, epoll. */
static int fds_setup(void **state)
{
	*state = (void *)(intptr_t)count_fds();
	return 0;
}

static int fds_teardown(void **state)
{
	int before = (int)(intptr_t)*state, after = count_fds();

	if (after != before) {
		print_error("fd leak: %d open before the test, %d after\n", before, after);
		return -1;
	}
	return 0;
}

/* A loopback socket on an ephemeral port; -1 when the family is unavailable here. */
static int loopback_socket(int family, int do_listen, struct cb_endpoint *ep)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	memset(&ss, 0, sizeof(ss));
	memset(ep, 0, sizeof(*ep));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*sin);
		ep->family = CB_AF_INET;
		ep->addr.v4 = htonl(INADDR_LOOPBACK);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sl = sizeof(*sin6);
		ep->family = CB_AF_INET6;
		memcpy(ep->addr.b, &in6addr_loopback, 16);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || (do_listen && listen(fd, 8) < 0) ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		close(fd);
		return -1;
	}
	ep->port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
					     ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

struct srv {
	int lfd;
	const char *parts[4];   /* written one by one, pause_ms apart */
	unsigned int pause_ms;
	int hold;               /* after the reply, keep the connection until the probe hangs up */
	int reset;              /* answer the connection with a RST, unread */
	char req[1024];         /* what the probe sent */
	size_t req_len;
	pthread_t th;
};

static void *serve(void *arg)
{
	struct srv *s = arg;
	struct pollfd pfd = { .fd = s->lfd, .events = POLLIN };
	struct timeval tv = { .tv_sec = 3 };
	int c;

	/* bounded, so a probe that never connects cannot hang the join */
	if (poll(&pfd, 1, 3000) != 1)
		return NULL;
	c = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return NULL;
	if (s->reset) {
		struct linger l = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		close(c);
		return NULL;
	}
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* the whole request first: closing with unread bytes would reset our reply */
	while (!memmem(s->req, s->req_len, "\r\n\r\n", 4) && s->req_len < sizeof(s->req) - 1) {
		ssize_t n = recv(c, s->req + s->req_len, sizeof(s->req) - 1 - s->req_len, 0);

		if (n <= 0)
			break;
		s->req_len += (size_t)n;
	}
	for (int i = 0; i < 4 && s->parts[i]; i++) {
		if (i)
			sleep_ms(s->pause_ms);
		/* the probe hangs up once it has its verdict: no SIGPIPE for later parts */
		send(c, s->parts[i], strlen(s->parts[i]), MSG_NOSIGNAL);
	}
	if (s->hold) {
		char b[256];

		while (recv(c, b, sizeof(b), 0) > 0)
			;
	}
	close(c);
	return NULL;
}

static int srv_start(struct srv *s, int family, struct cb_endpoint *ep)
{
	s->lfd = loopback_socket(family, 1, ep);
	if (s->lfd < 0)
		return -1;
	if (pthread_create(&s->th, NULL, serve, s)) {
		close(s->lfd);
		return -1;
	}
	return 0;
}

static void srv_stop(struct srv *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
}

/*
 * What the agent's loop does with one probe: sleep in epoll until the fd is
 * ready or the deadline passes, step, re-arm when the events changed. No
 * polling, so a probe that asks for the wrong events times out. Gives up
 * (cancelling, returning PENDING) after 3 s; never asserts, so the caller
 * can clean up its server first.
 */
static enum cb_probe_res drive(struct cb_probe *p, enum cb_probe_res r, uint64_t *elapsed)
{
	uint64_t t0 = now_ms(), give_up = t0 + 3000;
	struct epoll_event ev;
	uint32_t armed;
	int efd;

	if (r != CB_PROBE_PENDING)
		goto out;
	efd = epoll_create1(EPOLL_CLOEXEC);
	if (efd < 0) {
		cb_probe_cancel(p);
		goto out;
	}
	ev.events = armed = p->events;
	ev.data.fd = p->fd;
	if (epoll_ctl(efd, EPOLL_CTL_ADD, p->fd, &ev) < 0)
		goto done;
	for (uint64_t t = now_ms(); t < give_up; t = now_ms()) {
		uint64_t until = p->deadline_ms < give_up ? p->deadline_ms : give_up;

		if (epoll_wait(efd, &ev, 1, until > t ? (int)(until - t) : 0) < 0 && errno != EINTR)
			break;
		r = cb_probe_step(p, now_ms());
		if (r != CB_PROBE_PENDING)
			break;
		if (p->events != armed) {
			ev.events = armed = p->events;
			ev.data.fd = p->fd;
			if (epoll_ctl(efd, EPOLL_CTL_MOD, p->fd, &ev) < 0)
				break;
		}
	}
done:
	if (r == CB_PROBE_PENDING)
		cb_probe_cancel(p);
	close(efd);
out:
	if (elapsed)
		*elapsed = now_ms() - t0;
	return r;
}

static void assert_idle(const struct cb_probe *p)
{
	assert_int_equal(p->fd, -1);
	assert_int_equal(p->events, 0);
}

static void test_tcp_ok(void **state)
{
	struct cb_endpoint ep;
	struct cb_probe p;
	int lfd = loopback_socket(AF_INET, 1, &ep);
	enum cb_probe_res r;

	(void)state;
	assert_true(lfd >= 0);
	r = cb_probe_start(&p, CB_CHECK_TCP, &ep, NULL, now_ms(), 2000);
	if (r == CB_PROBE_PENDING) {
		assert_true(p.fd >= 0);
		assert_int_equal(p.events, EPOLLOUT);
	}
	r = drive(&p, r, NULL);
	close(lfd);
	assert_int_equal(r, CB_PROBE_OK);
	assert_string_equal(p.why, "");
	assert_idle(&p);
	/* a late step repeats the verdict rather than inventing one */
	assert_int_equal(cb_probe_step(&p, now_ms()), CB_PROBE_OK);
}

/* Bound but not listening: the SYN is answered with a RST, no port race. */
static void test_tcp_refused(void **state)
{
	struct cb_endpoint ep;
	struct cb_probe p;
	int fd = loopback_socket(AF_INET, 0, &ep);
	enum cb_probe_res r;

	(void)state;
	assert_true(fd >= 0);
	r = drive(&p, cb_probe_start(&p, CB_CHECK_TCP, &ep, NULL, now_ms(), 2000), NULL);
	close(fd);
	assert_int_equal(r, CB_PROBE_FAIL);
	print_message("      why: %s\n", p.why);
	assert_non_null(strstr(p.why, "refused"));
	assert_idle(&p);
}

static void test_tcp6_ok(void **state)
{
	struct cb_endpoint ep;
	struct cb_probe p;
	int lfd = loopback_socket(AF_INET6, 1, &ep);
	enum cb_probe_res r;

	(void)state;
	if (lfd < 0)
		skip();   /* no ::1 here (IPv6 disabled) */
	r = drive(&p, cb_probe_start(&p, CB_CHECK_TCP, &ep, NULL, now_ms(), 2000), NULL);
	close(lfd);
	assert_int_equal(r, CB_PROBE_OK);
	assert_idle(&p);
}

static enum cb_probe_res http(struct srv *s, int family, const char *path, uint64_t timeout_ms,
			      struct cb_probe *p, uint64_t *elapsed)
{
	struct cb_endpoint ep;
	enum cb_probe_res r;

	assert_int_equal(srv_start(s, family, &ep), 0);
	r = drive(p, cb_probe_start(p, CB_CHECK_HTTP, &ep, path, now_ms(), timeout_ms), elapsed);
	srv_stop(s);
	s->req[s->req_len] = '\0';
	return r;
}

static void test_http_200_and_the_request(void **state)
{
	struct srv s = { .parts = { "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" } };
	struct cb_endpoint ep;
	struct cb_probe p;
	char want[256];

	(void)state;
	assert_int_equal(http(&s, AF_INET, "/healthz?full=1", 2000, &p, NULL), CB_PROBE_OK);
	assert_string_equal(p.why, "");
	assert_idle(&p);
	/* the port is only known now; rebuild the expected request from the listener */
	ep = p.ep;
	snprintf(want, sizeof(want),
		 "GET /healthz?full=1 HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
		 "User-Agent: canary-bpf-health\r\nConnection: close\r\n\r\n", ep.port);
	assert_string_equal(s.req, want);
}

static void test_http_301_is_healthy(void **state)
{
	struct srv s = { .parts = { "HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\n\r\n" } };
	struct cb_probe p;

	(void)state;
	assert_int_equal(http(&s, AF_INET, NULL, 2000, &p, NULL), CB_PROBE_OK);
	/* no path means the root */
	assert_non_null(strstr(s.req, "GET / HTTP/1.1\r\n"));
}

static void test_http_503_fails(void **state)
{
	struct srv s = { .parts = { "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n\r\n" } };
	struct cb_probe p;

	(void)state;
	assert_int_equal(http(&s, AF_INET, "/", 2000, &p, NULL), CB_PROBE_FAIL);
	assert_string_equal(p.why, "HTTP 503 Service Unavailable");
	assert_idle(&p);
}

/* Replies are logged as C-ish text, so the CRLFs do not break the output. */
static void escape(char *dst, size_t dlen, const char *src)
{
	size_t o = 0;

	for (; *src && o + 3 < dlen; src++) {
		if (*src == '\r' || *src == '\n') {
			dst[o++] = '\\';
			dst[o++] = *src == '\r' ? 'r' : 'n';
		} else {
			dst[o++] = *src >= 0x20 && *src < 0x7f ? *src : '?';
		}
	}
	dst[o] = '\0';
}

static void test_http_bad_replies_fail(void **state)
{
	static char longline[700];
	/* hold: the verdict must come from the bytes, not from the server hanging up */
	const struct {
		const char *reply;
		int hold;
		const char *why;
	} c[] = {
		{ "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", 1, "malformed" },
		{ "<html>hello</html>", 1, "malformed" },   /* no newline: fails on the first bytes */
		{ "\r\nHTTP/1.1 200 OK\r\n\r\n", 1, "malformed" },
		{ "HTTP/1.1 2000 OK\r\n\r\n", 1, "malformed" },
		{ "HTTP/1.1 20 OK\r\n\r\n", 1, "malformed" },
		{ "HTTP/1.1 099 Low\r\n\r\n", 1, "malformed" },
		{ "HTTP/1.1  200 OK\r\n\r\n", 1, "malformed" },
		{ "HTTP/1.1 200OK\r\n\r\n", 1, "malformed" },
		{ "HTTP/1.1 200 O\001K\r\n\r\n", 1, "malformed" },
		{ "HTTP/1.1 404 Not Found\r\n\r\n", 1, "HTTP 404 Not Found" },
		{ "HTTP/1.1 101 Switching Protocols\r\n\r\n", 1, "HTTP 101" },
		{ "HTTP/1.1 600\r\n\r\n", 1, "HTTP 600" },
		{ longline, 1, "longer than" },
		{ "HTTP/1.1 200 ", 0, "closed before the status line" },
		{ "", 0, "closed before the status line" },
	};

	(void)state;
	memcpy(longline, "HTTP/1.1 200 ", 13);
	memset(longline + 13, 'x', sizeof(longline) - 14);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct srv s = { .parts = { c[i].reply }, .hold = c[i].hold };
		struct cb_probe p;
		char shown[40];
		uint64_t ms;
		enum cb_probe_res r = http(&s, AF_INET, "/", 2000, &p, &ms);

		escape(shown, sizeof(shown), c[i].reply);
		print_message("      %-38s -> %s (%llu ms)\n", shown, p.why, (unsigned long long)ms);
		assert_int_equal(r, CB_PROBE_FAIL);
		assert_non_null(strstr(p.why, c[i].why));
		assert_true(ms < 1000);
		assert_idle(&p);
	}
}

static void test_http_status_line_split(void **state)
{
	struct srv s = {
		.parts = { "HTTP/1.", "1 204 No Content\r", "\n\r\n" },
		.pause_ms = 100,
		.hold = 1,
	};
	struct cb_probe p;
	uint64_t ms;

	(void)state;
	assert_int_equal(http(&s, AF_INET, "/", 2000, &p, &ms), CB_PROBE_OK);
	/* the verdict needed the last part, so the probe did wait for it */
	assert_true(ms >= 190);
}

/* 1xx replies are interim (RFC 9110 15.2): the final one after them decides. */
static void test_http_interim_reply_skipped(void **state)
{
	struct srv ok = {
		.parts = { "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n",
			   "\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n" },
		.pause_ms = 50,
	};
	struct srv bad = { .parts = { "HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 500 Oops\r\n\r\n" } };
	struct cb_probe p;

	(void)state;
	assert_int_equal(http(&ok, AF_INET, "/", 2000, &p, NULL), CB_PROBE_OK);
	assert_int_equal(http(&bad, AF_INET, "/", 2000, &p, NULL), CB_PROBE_FAIL);
	assert_string_equal(p.why, "HTTP 500 Oops");
}

static void test_http_silent_server_times_out(void **state)
{
	struct srv s = { .hold = 1 };
	struct cb_probe p;
	uint64_t ms;

	(void)state;
	assert_int_equal(http(&s, AF_INET, "/", 200, &p, &ms), CB_PROBE_FAIL);
	print_message("      why: %s (%llu ms)\n", p.why, (unsigned long long)ms);
	assert_non_null(strstr(p.why, "timeout after 200 ms"));
	assert_true(ms >= 200 && ms < 1000);
	assert_idle(&p);
	/* the request went out; it was the answer that never came */
	assert_non_null(strstr(s.req, "\r\n\r\n"));
}

/* A reset peer fails the probe; were MSG_NOSIGNAL missing, SIGPIPE would kill us. */
static void test_http_reset_fails_without_sigpipe(void **state)
{
	struct srv s = { .reset = 1 };
	struct cb_probe p;

	(void)state;
	signal(SIGPIPE, SIG_DFL);
	assert_int_equal(http(&s, AF_INET, "/", 2000, &p, NULL), CB_PROBE_FAIL);
	print_message("      why: %s\n", p.why);
	assert_idle(&p);
}

static void test_http6_host_header(void **state)
{
	struct srv s = { .parts = { "HTTP/1.0 200 OK\r\n\r\n" } };
	struct cb_endpoint ep;
	struct cb_probe p;
	enum cb_probe_res r;
	char host[64];

	(void)state;
	if (srv_start(&s, AF_INET6, &ep) < 0)
		skip();
	r = drive(&p, cb_probe_start(&p, CB_CHECK_HTTP, &ep, "/", now_ms(), 2000), NULL);
	srv_stop(&s);
	s.req[s.req_len] = '\0';
	assert_int_equal(r, CB_PROBE_OK);
	snprintf(host, sizeof(host), "\r\nHost: [::1]:%u\r\n", ep.port);
	assert_non_null(strstr(s.req, host));
}

/* The deadline wins over progress, whatever the socket has to say. */
static void test_step_at_deadline_fails(void **state)
{
	struct cb_endpoint ep;
	struct cb_probe p;
	int lfd = loopback_socket(AF_INET, 1, &ep);
	uint64_t t = now_ms();
	enum cb_probe_res r;

	(void)state;
	assert_true(lfd >= 0);
	r = cb_probe_start(&p, CB_CHECK_HTTP, &ep, "/", t, 1000);
	assert_int_equal(r, CB_PROBE_PENDING);
	assert_int_equal(p.deadline_ms, t + 1000);
	sleep_ms(20);   /* the handshake is done: only the deadline can fail it */
	r = cb_probe_step(&p, t + 1000);
	close(lfd);
	assert_int_equal(r, CB_PROBE_FAIL);
	assert_non_null(strstr(p.why, "timeout after 1000 ms"));
	assert_idle(&p);
}

static void test_cancel_and_bad_input(void **state)
{
	struct cb_endpoint ep;
	struct cb_probe p;
	int lfd = loopback_socket(AF_INET, 1, &ep);
	struct cb_endpoint bad = ep;

	(void)state;
	assert_true(lfd >= 0);
	assert_int_equal(cb_probe_start(&p, CB_CHECK_HTTP, &ep, "/", now_ms(), 1000), CB_PROBE_PENDING);
	cb_probe_cancel(&p);
	assert_idle(&p);
	assert_int_equal(cb_probe_step(&p, now_ms()), CB_PROBE_FAIL);
	assert_string_equal(p.why, "cancelled");
	cb_probe_cancel(&p);

	/* a request line is built from the path: nothing may smuggle a header in */
	assert_int_equal(cb_probe_start(&p, CB_CHECK_HTTP, &ep, "/a b", now_ms(), 1000), CB_PROBE_FAIL);
	assert_idle(&p);
	assert_int_equal(cb_probe_start(&p, CB_CHECK_HTTP, &ep, "/a\r\nX: y", now_ms(), 1000),
			 CB_PROBE_FAIL);
	assert_int_equal(cb_probe_start(&p, CB_CHECK_HTTP, &ep, "healthz", now_ms(), 1000), CB_PROBE_FAIL);
	assert_non_null(strstr(p.why, "path"));
	bad.family = 5;
	assert_int_equal(cb_probe_start(&p, CB_CHECK_TCP, &bad, NULL, now_ms(), 1000), CB_PROBE_FAIL);
	assert_non_null(strstr(p.why, "family"));
	bad = ep;
	bad.port = 0;
	assert_int_equal(cb_probe_start(&p, CB_CHECK_TCP, &bad, NULL, now_ms(), 1000), CB_PROBE_FAIL);
	assert_int_equal(cb_probe_start(&p, 7, &ep, NULL, now_ms(), 1000), CB_PROBE_FAIL);
	assert_idle(&p);

	/* zeroed is idle: cancel must not close fd 0, step must not claim progress */
	memset(&p, 0, sizeof(p));
	cb_probe_cancel(&p);
	assert_int_equal(cb_probe_step(&p, now_ms()), CB_PROBE_FAIL);
	cb_probe_init(&p);
	assert_int_equal(p.fd, -1);
	close(lfd);
}

static void test_hysteresis(void **state)
{
	struct cb_health_state s = { .up = 1 };
	const enum cb_probe_res F = CB_PROBE_FAIL, O = CB_PROBE_OK;

	(void)state;
	/* unhealthy_after 3, healthy_after 2 */
	assert_int_equal(cb_health_feed(&s, F, "connect: Connection refused", 3, 2), 0);
	assert_int_equal(cb_health_feed(&s, F, "HTTP 503", 3, 2), 0);
	assert_int_equal(s.up, 1);
	assert_int_equal(s.fail_run, 2);
	assert_string_equal(s.last_why, "HTTP 503");
	/* one success in between: the failures start counting again */
	assert_int_equal(cb_health_feed(&s, O, NULL, 3, 2), 0);
	assert_int_equal(s.fail_run, 0);
	assert_int_equal(cb_health_feed(&s, F, "x", 3, 2), 0);
	assert_int_equal(cb_health_feed(&s, F, "x", 3, 2), 0);
	assert_int_equal(s.up, 1);
	assert_int_equal(cb_health_feed(&s, F, "timeout after 1000 ms", 3, 2), 1);
	assert_int_equal(s.up, 0);
	assert_int_equal(cb_health_feed(&s, F, NULL, 3, 2), 0);
	assert_string_equal(s.last_why, "unknown");
	/* down: a lone success is not enough, a failure resets the run */
	assert_int_equal(cb_health_feed(&s, O, NULL, 3, 2), 0);
	assert_int_equal(cb_health_feed(&s, F, "HTTP 500", 3, 2), 0);
	assert_int_equal(cb_health_feed(&s, O, NULL, 3, 2), 0);
	assert_int_equal(s.up, 0);
	assert_int_equal(cb_health_feed(&s, CB_PROBE_PENDING, NULL, 3, 2), 0);
	assert_int_equal(s.ok_run, 1);
	assert_int_equal(cb_health_feed(&s, O, NULL, 3, 2), 1);
	assert_int_equal(s.up, 1);
	assert_string_equal(s.last_why, "");
	assert_int_equal(cb_health_feed(&s, O, NULL, 3, 2), 0);

	/* zeroed is down; thresholds of 0 act as 1 */
	memset(&s, 0, sizeof(s));
	assert_int_equal(cb_health_feed(&s, O, NULL, 0, 0), 1);
	assert_int_equal(cb_health_feed(&s, F, "x", 0, 0), 1);
	assert_int_equal(s.up, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fds_setup, fds_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_tcp_ok),
		T(test_tcp_refused),
		T(test_tcp6_ok),
		T(test_http_200_and_the_request),
		T(test_http_301_is_healthy),
		T(test_http_503_fails),
		T(test_http_bad_replies_fail),
		T(test_http_status_line_split),
		T(test_http_interim_reply_skipped),
		T(test_http_silent_server_times_out),
		T(test_http_reset_fails_without_sigpipe),
		T(test_http6_host_header),
		T(test_step_at_deadline_fails),
		T(test_cancel_and_bad_input),
		T(test_hysteresis),
	};

	return cmocka_run_group_tests_name("probe", tests, NULL, NULL);
}
