// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The HTTP server (user/agent/http.c) on loopback: the test's main thread drives
 * it as the agent's loop does (epoll on its fd, cb_http_run), a client
 * thread speaks plain HTTP/1.1 to it over a real socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "http.h"

struct exchange {
	uint16_t port;
	const char *request;
	char reply[8192];
	volatile int done;
};

static unsigned int handler(void *arg, const char *path, struct cb_buf *body, const char **ctype)
{
	int *calls = arg;

	(*calls)++;
	if (!strcmp(path, "/metrics")) {
		*ctype = "text/plain; version=0.0.4; charset=utf-8";
		cb_buf_printf(body, "x_total 42\n");
		return 200;
	}
	cb_buf_printf(body, "nothing at %s\n", path);
	return 404;
}

static void *client(void *p)
{
	struct exchange *x = p;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(x->port) };
	struct timeval tv = { .tv_sec = 5 };
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    write(fd, x->request, strlen(x->request)) == (ssize_t)strlen(x->request))
		while (got < sizeof(x->reply) - 1 &&
		       (n = read(fd, x->reply + got, sizeof(x->reply) - 1 - got)) > 0)
			got += (size_t)n;
	x->reply[got] = '\0';
	if (fd >= 0)
		close(fd);
	x->done = 1;
	return NULL;
}

/* Serve until the client has its answer (or 5 s pass), as the agent's loop would. */
static void exchange(struct cb_http *h, struct exchange *x)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	int ep = epoll_create1(0);
	time_t end = time(NULL) + 5;
	pthread_t t;

	assert_true(ep >= 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, cb_http_fd(h), &ev), 0);
	x->port = cb_http_port(h);
	assert_int_equal(pthread_create(&t, NULL, client, x), 0);
	while (!x->done && time(NULL) < end) {
		int wait = cb_http_timeout_ms(h);

		epoll_wait(ep, &out, 1, wait < 0 || wait > 50 ? 50 : wait);
		cb_http_run(h);
	}
	pthread_join(t, NULL);
	close(ep);
}

static struct cb_http *start(int *calls)
{
	struct cb_endpoint addr = { .family = CB_AF_INET, .port = 0 };
	struct cb_http *h = NULL;
	struct cb_err err;

	inet_pton(AF_INET, "127.0.0.1", &addr.addr.v4);
	assert_int_equal(cb_http_start(&h, &addr, handler, calls, "/metrics", &err), 0);
	assert_true(cb_http_port(h) > 0);
	return h;
}

static void test_get_head_and_not_found(void **state)
{
	struct exchange x = { .request = "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" };
	int calls = 0;
	struct cb_http *h = start(&calls);

	(void)state;
	exchange(h, &x);
	assert_non_null(strstr(x.reply, "HTTP/1.1 200"));
	assert_non_null(strstr(x.reply, "text/plain; version=0.0.4"));
	assert_non_null(strstr(x.reply, "\r\n\r\nx_total 42\n"));

	memset(&x, 0, sizeof(x));
	x.request = "HEAD /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	exchange(h, &x);
	assert_non_null(strstr(x.reply, "HTTP/1.1 200"));
	assert_null(strstr(x.reply, "x_total"));

	memset(&x, 0, sizeof(x));
	x.request = "GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	exchange(h, &x);
	assert_non_null(strstr(x.reply, "HTTP/1.1 404"));
	assert_non_null(strstr(x.reply, "nothing at /nope"));
	/* The HEAD came within a second of the GET: it was sent the same render. */
	assert_int_equal(calls, 2);
	cb_http_stop(h);
}

/* Anything but GET and HEAD: 405 naming what is allowed, and the handler never runs. */
static void test_other_methods_refused(void **state)
{
	struct exchange x = {
		.request = "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
			   "Connection: close\r\n\r\nhello",
	};
	int calls = 0;
	struct cb_http *h = start(&calls);

	(void)state;
	exchange(h, &x);
	assert_non_null(strstr(x.reply, "HTTP/1.1 405"));
	assert_non_null(strstr(x.reply, "Allow: GET, HEAD"));
	assert_int_equal(calls, 0);
	cb_http_stop(h);
}

/* A port that is taken: one error naming the address and the reason. */
static void test_port_in_use_is_an_error(void **state)
{
	struct cb_endpoint addr = { .family = CB_AF_INET };
	struct cb_http *h2 = NULL;
	struct cb_err err;
	int calls = 0;
	struct cb_http *h = start(&calls);

	(void)state;
	inet_pton(AF_INET, "127.0.0.1", &addr.addr.v4);
	addr.port = cb_http_port(h);
	assert_true(cb_http_start(&h2, &addr, handler, &calls, NULL, &err) < 0);
	assert_null(h2);
	assert_non_null(strstr(err.msg, "127.0.0.1"));
	assert_non_null(strstr(err.msg, "in use"));
	cb_http_stop(h);
}

static int slow_open(uint16_t port, const char *first)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_true(fd >= 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS)
		fail_msg("connect: %s", strerror(errno));
	(void)!write(fd, first, strlen(first));
	return fd;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Serve for ms milliseconds, as the loop would, with nobody waiting on an answer. */
static void serve_for(struct cb_http *h, int ms)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	uint64_t end = now_ms() + (uint64_t)ms;
	int ep = epoll_create1(0);

	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, cb_http_fd(h), &ev), 0);
	while (now_ms() < end) {
		int wait = cb_http_timeout_ms(h);

		epoll_wait(ep, &out, 1, wait < 0 || wait > 20 ? 20 : wait);
		cb_http_run(h);
	}
	close(ep);
}

/*
 * 80 slow clients hold connections with half a request each: /healthz is
 * still answered at once, 12 times of 12; at the deadline they are cut.
 */
static void test_slow_clients_cannot_starve(void **state)
{
	int calls = 0, fds[80], answered = 0;
	struct cb_http *h = start(&calls);
	char buf[64];

	(void)state;
	for (int i = 0; i < 80; i++)
		fds[i] = slow_open(cb_http_port(h), "GET /healthz HTTP/1.1\r\nHost: t\r\n");
	serve_for(h, 200);
	for (int i = 0; i < 12; i++) {
		struct exchange x = { .request = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" };
		uint64_t t0 = now_ms();

		exchange(h, &x);
		if (strstr(x.reply, "HTTP/1.1 404") && now_ms() - t0 < 1000)
			answered++;
	}
	assert_int_equal(answered, 12);
	assert_int_equal(cb_http_cut_total(h), 0);
	/* Each trickles a header line in now and then: the deadline ends them all the same. */
	for (int round = 0; round < 6; round++) {
		for (int i = 0; i < 80; i++)
			(void)!write(fds[i], "X-Slow: 1\r\n", 11);
		serve_for(h, 1000);
	}
	assert_int_equal(cb_http_cut_total(h), 80);
	for (int i = 0; i < 80; i++) {
		ssize_t n = read(fds[i], buf, sizeof(buf));

		/* The server's end is closed: end of stream (or a reset), not "try again". */
		if (!(n == 0 || (n < 0 && errno == ECONNRESET)))
			fail_msg("client %d: read %zd (%s): still open", i, n, n < 0 ? strerror(errno) : "data");
		close(fds[i]);
	}
	cb_http_stop(h);
}

/* Scrapers within a second share one render; slow readers cannot pile copies up. */
static void test_metrics_rendered_once_for_all(void **state)
{
	int calls = 0;
	struct cb_http *h = start(&calls);

	(void)state;
	for (int i = 0; i < 5; i++) {
		struct exchange x = { .request = "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" };

		exchange(h, &x);
		assert_non_null(strstr(x.reply, "x_total 42"));
	}
	assert_int_equal(calls, 1);
	serve_for(h, 1100);
	{
		struct exchange x = { .request = "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" };

		exchange(h, &x);
		assert_non_null(strstr(x.reply, "x_total 42"));
	}
	assert_int_equal(calls, 2);
	cb_http_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_head_and_not_found),
		cmocka_unit_test(test_other_methods_refused),
		cmocka_unit_test(test_port_in_use_is_an_error),
		cmocka_unit_test(test_slow_clients_cannot_starve),
		cmocka_unit_test(test_metrics_rendered_once_for_all),
	};

	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
