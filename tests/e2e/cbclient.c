// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cbclient: the HTTP client of the end-to-end tests. It talks to the lab's
 * nginx backends (directly or through a canary-bpf VIP) and reports, as one
 * JSON line, which backend answered: every backend answers its own name as
 * the first line of the body.
 *
 *   cbclient count     --addr IP --port N -n COUNT [--timeout-ms T] [--budget-ms B]
 *       COUNT sequential new connections, one request each (Connection: close).
 *       With a budget, connections not done within B ms in all are errors, so
 *       a broken path costs B, not COUNT timeouts.
 *       {"total":N,"ok":N,"errors":N,"backends":{"s1":n,...},"statuses":{"200":n}}
 *
 *   cbclient keepalive --addr IP --port N -c CONNS --duration-ms D
 *                      [--interval-ms I] [--timeout-ms T]
 *       CONNS persistent connections, one request on each in turn for D ms.
 *       {"connections":C,"requests":R,"errors":E,"changed":X,
 *        "backends":{...},"failed":{...}}
 *       backends: connections per backend of their first response; changed:
 *       connections that later got an answer from another backend; failed:
 *       failed connections per backend of their first response ("(none)"
 *       before one). A failed connect or request counts one error and ends
 *       its connection (no reconnect).
 *
 *   cbclient rate      --addr IP --port N --rate R --duration-ms D
 *                      [--timeout-ms T] [--log FILE]
 *       R new connections per second for D ms, one request each (Connection:
 *       close): connection i starts i*1000/R ms after the first, R*D/1000 in
 *       all. They run concurrently, each bounded by T, so a slow or dead
 *       backend does not slow the rate: the run ends at most T ms after the
 *       last start. One due while CONNS_MAX (or as many as RLIMIT_NOFILE
 *       allows) are in flight fails at once ("other"): the schedule is kept.
 *       {"total":N,"ok":N,"errors":E,"backends":{...},"statuses":{...},
 *        "first_ms":{"s1":T,...},"last_ms":{...},
 *        "errors_by":{"refused":n,"timeout":n,"reset":n,"other":n}}
 *       ok: complete responses (any status); first_ms, last_ms: the first and
 *       last response of each backend, CLOCK_REALTIME ms since the epoch (as
 *       `date +%s%3N`); other: a truncated or bad response, a local failure.
 *       The log (created 0600) has a line per connection as it ends: "START
 *       END NAME STATUS" or "START END error:KIND", in realtime ms (bytes of
 *       NAME that are not graphic are written '?').
 *
 * Addresses are numeric only (no DNS): the tests must never leave the lab.
 * Every wait is bounded by the timeout (default 2000 ms per connection or
 * request). Exit status: 0 when the run completed (errors are data, not
 * failures of the tool), 1 when it could not run (or write rate's log), 2
 * for bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cbclient.h"

static const char REQ_KEEP[] = "GET / HTTP/1.1\r\nHost: cb\r\nConnection: keep-alive\r\n\r\n";

static int tally_index(struct tally *t, const char *key)
{
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->e[i].key, key))
			return i;
	if (t->n == TALLY_MAX)
		key = "(other)"; /* a lab has five backends; this is a safety net */
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->e[i].key, key))
			return i;
	if (t->n == TALLY_MAX)
		return t->n - 1;
	snprintf(t->e[t->n].key, NAME_MAX_LEN, "%s", key);
	t->e[t->n].count = 0;
	return t->n++;
}

void tally_add(struct tally *t, const char *key, long by)
{
	t->e[tally_index(t, key)].count += by;
}

/* Set KEY to V; KEEP_FIRST keeps the value it got when it was first seen. */
void tally_set(struct tally *t, const char *key, long long v, bool keep_first)
{
	int n = t->n, i = tally_index(t, key);

	if (!keep_first || t->n > n)
		t->e[i].count = v;
}

static int tally_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b); /* key is the first member */
}

/* Keys come from the network: print them as JSON strings, escaped. */
void json_tally(const char *field, struct tally *t)
{
	qsort(t->e, t->n, sizeof(t->e[0]), tally_cmp);
	printf(",\"%s\":{", field);
	for (int i = 0; i < t->n; i++) {
		printf("%s\"", i ? "," : "");
		for (const unsigned char *p = (const unsigned char *)t->e[i].key; *p; p++) {
			if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
				printf("\\u%04x", *p);
			else
				putchar(*p);
		}
		printf("\":%lld", t->e[i].count);
	}
	printf("}");
}

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Wait for EVENTS on FD until DEADLINE (monotonic ms). 0 ready, -1 timeout/error. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int r;

		if (left <= 0)
			return -1;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int parse_addr(const char *s, long port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return 0;
	}
	return -1;
}

/* A connected non-blocking TCP socket, or -1. */
static int conn_open(const struct sockaddr_storage *ss, socklen_t len, long long deadline)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err = 0, one = 1;
	socklen_t elen = sizeof(err);

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)ss, len) == 0)
		return fd;
	if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) || err) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
	while (len) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);

		if (w > 0) {
			buf += w;
			len -= (size_t)w;
		} else if (w < 0 && errno == EAGAIN) {
			if (wait_fd(fd, POLLOUT, deadline))
				return -1;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else {
			return -1;
		}
	}
	return 0;
}


/*
 * Parse one complete response in BUF[0..LEN). Returns the bytes it spans,
 * 0 if more bytes are needed, -1 if it is malformed. Without Content-Length
 * the body runs to the end of BUF (the caller read until EOF).
 */
long parse_resp(const char *buf, size_t len, bool at_eof, struct resp *r)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4), *body, *p;
	long clen = -1;
	size_t blen, n;

	if (!end)
		return at_eof ? -1 : 0;
	if (len < 12 || memcmp(buf, "HTTP/1.", 7) || buf[8] != ' ')
		return -1;
	r->status = atoi(buf + 9);
	if (r->status < 100 || r->status > 599)
		return -1;
	for (p = memchr(buf, '\n', (size_t)(end - buf)); p && p < end; p = memchr(p, '\n', (size_t)(end - p))) {
		p++;
		if (end - p >= 15 && !strncasecmp(p, "Content-Length:", 15))
			clen = strtol(p + 15, NULL, 10);
	}
	body = end + 4;
	blen = len - (size_t)(body - buf);
	if (clen >= 0) {
		if (blen < (size_t)clen)
			return at_eof ? -1 : 0;
		blen = (size_t)clen;
	} else if (!at_eof) {
		return 0;
	}
	n = 0;
	while (n < blen && body[n] != '\n' && body[n] != '\r' && n < NAME_MAX_LEN - 1)
		n++;
	if (n == 0)
		return -1; /* every lab backend names itself */
	memcpy(r->name, body, n);
	r->name[n] = '\0';
	return (long)(body - buf) + (long)blen;
}

/*
 * Read one response. UNTIL_EOF: the server closes after it (Connection:
 * close), read to the end. Otherwise it must be exactly one response: with
 * one request in flight anything after it is a protocol error.
 */
static int read_resp(int fd, bool until_eof, long long deadline, struct resp *r)
{
	char buf[RESP_MAX];
	size_t len = 0;
	long used = 0;

	for (;;) {
		ssize_t got;

		if (len == sizeof(buf))
			return -1;
		got = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == EAGAIN) {
			if (wait_fd(fd, POLLIN, deadline))
				return -1;
			continue;
		}
		if (got < 0)
			return -1; /* a reset lands here */
		len += (size_t)got;
		if (got == 0 || !until_eof) {
			used = parse_resp(buf, len, got == 0, r);
			if (used < 0 || (used == 0 && got == 0))
				return -1;
			if (used > 0)
				return (size_t)used == len ? 0 : -1;
		}
	}
}

static int cmd_count(const struct opts *o, const struct sockaddr_storage *ss, socklen_t sl)
{
	struct tally backends = { 0 }, statuses = { 0 };
	long long budget_end = o->budget_ms ? now_ms() + o->budget_ms : 0;
	long ok = 0, errors = 0;

	for (long i = 0; i < o->n; i++) {
		long long deadline = now_ms() + o->timeout_ms;
		struct resp r;
		int fd;

		if (budget_end && deadline > budget_end)
			deadline = budget_end;
		fd = deadline > now_ms() ? conn_open(ss, sl, deadline) : -1;

		if (fd < 0 || send_all(fd, REQ_CLOSE, sizeof(REQ_CLOSE) - 1, deadline) ||
		    read_resp(fd, true, deadline, &r)) {
			errors++;
		} else {
			char code[8];

			ok++;
			tally_add(&backends, r.name, 1);
			snprintf(code, sizeof(code), "%d", r.status);
			tally_add(&statuses, code, 1);
		}
		if (fd >= 0)
			close(fd);
	}
	printf("{\"total\":%ld,\"ok\":%ld,\"errors\":%ld", o->n, ok, errors);
	json_tally("backends", &backends);
	json_tally("statuses", &statuses);
	printf("}\n");
	return 0;
}

struct kconn {
	int fd;              /* -1 once failed */
	char first[NAME_MAX_LEN];
	bool changed;
};

static int cmd_keepalive(const struct opts *o, const struct sockaddr_storage *ss, socklen_t sl)
{
	struct kconn *c = calloc((size_t)o->conns, sizeof(*c));
	struct tally backends = { 0 }, failed = { 0 };
	long requests = 0, errors = 0, changed = 0, live = 0;
	long long end;

	if (!c) {
		perror("cbclient: calloc");
		return 1;
	}
	for (long i = 0; i < o->conns; i++) {
		c[i].fd = conn_open(ss, sl, now_ms() + o->timeout_ms);
		if (c[i].fd >= 0) {
			live++;
			continue;
		}
		errors++;
		tally_add(&failed, "(none)", 1);
	}
	end = now_ms() + o->duration_ms;
	while (live && now_ms() < end) {
		for (long i = 0; i < o->conns; i++) {
			long long deadline = now_ms() + o->timeout_ms;
			struct resp r;

			if (c[i].fd < 0)
				continue;
			if (send_all(c[i].fd, REQ_KEEP, sizeof(REQ_KEEP) - 1, deadline) ||
			    read_resp(c[i].fd, false, deadline, &r)) {
				errors++;
				close(c[i].fd);
				c[i].fd = -1;
				live--;
				tally_add(&failed, c[i].first[0] ? c[i].first : "(none)", 1);
				continue;
			}
			requests++;
			if (!c[i].first[0]) {
				snprintf(c[i].first, sizeof(c[i].first), "%s", r.name);
				tally_add(&backends, r.name, 1);
			} else if (strcmp(c[i].first, r.name) && !c[i].changed) {
				c[i].changed = true;
				changed++;
			}
		}
		/* Paced: the round after the last whole interval is the last (no burst till the end). */
		if (o->interval_ms > 0) {
			if (now_ms() + o->interval_ms >= end)
				break;
			sleep_ms(o->interval_ms);
		}
	}
	for (long i = 0; i < o->conns; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	free(c);
	printf("{\"connections\":%ld,\"requests\":%ld,\"errors\":%ld,\"changed\":%ld", o->conns,
	       requests, errors, changed);
	json_tally("backends", &backends);
	json_tally("failed", &failed);
	printf("}\n");
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: cbclient count --addr IP --port N -n COUNT [--timeout-ms T] [--budget-ms B]\n"
		   "       cbclient keepalive --addr IP --port N -c CONNS --duration-ms D\n"
		   "                          [--interval-ms I] [--timeout-ms T]\n"
		   "       cbclient rate --addr IP --port N --rate R --duration-ms D\n"
		   "                     [--timeout-ms T] [--log FILE]\n");
}

static bool num_arg(const char *s, long min, long max, long *out)
{
	char *e;
	long v;

	errno = 0;
	v = strtol(s, &e, 10);
	if (errno || e == s || *e || v < min || v > max)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	struct opts o = { .port = -1, .n = -1, .conns = -1, .duration_ms = -1, .timeout_ms = 2000,
			  .rate = -1 };
	enum { COUNT, KEEPALIVE, RATE } mode;
	struct sockaddr_storage ss;
	socklen_t sl;

	if (argc < 2 || (strcmp(argv[1], "count") && strcmp(argv[1], "keepalive") &&
			 strcmp(argv[1], "rate"))) {
		usage(stderr);
		return 2;
	}
	mode = !strcmp(argv[1], "count") ? COUNT : !strcmp(argv[1], "keepalive") ? KEEPALIVE : RATE;
	for (int i = 2; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool good = v != NULL;

		if (good && !strcmp(k, "--addr"))
			o.addr = v;
		else if (good && !strcmp(k, "--port"))
			good = num_arg(v, 1, 65535, &o.port);
		else if (good && mode == COUNT && !strcmp(k, "-n"))
			good = num_arg(v, 0, 10000000, &o.n);
		else if (good && mode == KEEPALIVE && !strcmp(k, "-c"))
			good = num_arg(v, 1, CONNS_MAX, &o.conns);
		else if (good && mode != COUNT && !strcmp(k, "--duration-ms"))
			good = num_arg(v, 0, 3600000, &o.duration_ms);
		else if (good && mode == KEEPALIVE && !strcmp(k, "--interval-ms"))
			good = num_arg(v, 0, 60000, &o.interval_ms);
		else if (good && mode == COUNT && !strcmp(k, "--budget-ms"))
			good = num_arg(v, 1, 86400000, &o.budget_ms);
		else if (good && mode == RATE && !strcmp(k, "--rate"))
			good = num_arg(v, 1, 100000, &o.rate);
		else if (good && mode == RATE && !strcmp(k, "--log"))
			good = *(o.log = v) != '\0';
		else if (good && !strcmp(k, "--timeout-ms"))
			good = num_arg(v, 1, 600000, &o.timeout_ms);
		else
			good = false;
		if (!good) {
			fprintf(stderr, "cbclient: bad argument '%s'\n", k);
			usage(stderr);
			return 2;
		}
	}
	/* rate: as many connections in all as count allows. */
	if (!o.addr || o.port < 0 || (mode == COUNT && o.n < 0) ||
	    (mode == KEEPALIVE && (o.conns < 0 || o.duration_ms < 0)) ||
	    (mode == RATE && (o.rate < 0 || o.duration_ms < 0 ||
			      (long long)o.rate * o.duration_ms / 1000 > 10000000))) {
		usage(stderr);
		return 2;
	}
	if (parse_addr(o.addr, o.port, &ss, &sl)) {
		fprintf(stderr, "cbclient: '%s' is not a numeric IPv4 or IPv6 address\n", o.addr);
		return 2;
	}
	return mode == COUNT ? cmd_count(&o, &ss, sl) :
	       mode == KEEPALIVE ? cmd_keepalive(&o, &ss, sl) : cmd_rate(&o, &ss, sl);
}
