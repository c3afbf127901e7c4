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
 * Addresses are numeric only (no DNS): the tests must never leave the lab.
 * Every wait is bounded by the timeout (default 2000 ms per connection or
 * request). Exit status: 0 when the run completed (errors are data, not
 * failures of the tool), 1 when it could not run, 2 for bad usage.
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RESP_MAX 16384
#define NAME_MAX_LEN 32
#define TALLY_MAX 64
#define CONNS_MAX 4096

static const char REQ_CLOSE[] = "GET / HTTP/1.1\r\nHost: cb\r\nConnection: close\r\n\r\n";
static const char REQ_KEEP[] = "GET / HTTP/1.1\r\nHost: cb\r\nConnection: keep-alive\r\n\r\n";

struct opts {
	const char *addr;
	long port, n, conns, duration_ms, interval_ms, timeout_ms, budget_ms;
};

/* Counts by a short string key, in first-seen order; printed sorted. */
struct tally {
	struct {
		char key[NAME_MAX_LEN];
		long count;
	} e[TALLY_MAX];
	int n;
};

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

static void tally_add(struct tally *t, const char *key, long by)
{
	t->e[tally_index(t, key)].count += by;
}

static int tally_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b); /* key is the first member */
}

/* Keys come from the network: print them as JSON strings, escaped. */
static void json_tally(const char *field, struct tally *t)
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
		printf("\":%ld", t->e[i].count);
	}
	printf("}");
}

static long long now_ms(void)
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

struct resp {
	int status;
	char name[NAME_MAX_LEN];
};

/*
 * Parse one complete response in BUF[0..LEN). Returns the bytes it spans,
 * 0 if more bytes are needed, -1 if it is malformed. Without Content-Length
 * the body runs to the end of BUF (the caller read until EOF).
 */
static long parse_resp(const char *buf, size_t len, bool at_eof, struct resp *r)
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
		if (o->interval_ms > 0 && now_ms() + o->interval_ms < end)
			sleep_ms(o->interval_ms);
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
		   "                          [--interval-ms I] [--timeout-ms T]\n");
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
	struct opts o = { .port = -1, .n = -1, .conns = -1, .duration_ms = -1, .timeout_ms = 2000 };
	struct sockaddr_storage ss;
	socklen_t sl;
	bool count;

	if (argc < 2 || (strcmp(argv[1], "count") && strcmp(argv[1], "keepalive"))) {
		usage(stderr);
		return 2;
	}
	count = !strcmp(argv[1], "count");
	for (int i = 2; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool good = v != NULL;

		if (good && !strcmp(k, "--addr"))
			o.addr = v;
		else if (good && !strcmp(k, "--port"))
			good = num_arg(v, 1, 65535, &o.port);
		else if (good && count && !strcmp(k, "-n"))
			good = num_arg(v, 0, 10000000, &o.n);
		else if (good && !count && !strcmp(k, "-c"))
			good = num_arg(v, 1, CONNS_MAX, &o.conns);
		else if (good && !count && !strcmp(k, "--duration-ms"))
			good = num_arg(v, 0, 3600000, &o.duration_ms);
		else if (good && !count && !strcmp(k, "--interval-ms"))
			good = num_arg(v, 0, 60000, &o.interval_ms);
		else if (good && count && !strcmp(k, "--budget-ms"))
			good = num_arg(v, 1, 86400000, &o.budget_ms);
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
	if (!o.addr || o.port < 0 || (count && o.n < 0) ||
	    (!count && (o.conns < 0 || o.duration_ms < 0))) {
		usage(stderr);
		return 2;
	}
	if (parse_addr(o.addr, o.port, &ss, &sl)) {
		fprintf(stderr, "cbclient: '%s' is not a numeric IPv4 or IPv6 address\n", o.addr);
		return 2;
	}
	return count ? cmd_count(&o, &ss, sl) : cmd_keepalive(&o, &ss, sl);
}
