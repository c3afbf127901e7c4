// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cbclient rate: new connections at a fixed rate, with a timeline (see cbclient.c). */
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

/* Why a rate connection failed: errors_by's keys, in this order. */
enum { E_REFUSED, E_TIMEOUT, E_RESET, E_OTHER, E_KINDS };
static const char *const kind_name[E_KINDS] = { "refused", "timeout", "reset", "other" };

struct rconn {
	int fd;              /* -1: free slot */
	bool reading;        /* the request is sent: wait for the response */
	size_t len;
	long long deadline;  /* monotonic ms */
	long long start;     /* realtime ms, for the timeline */
	char buf[RESP_MAX];
};

struct rrun {
	struct tally backends, statuses, first, last;
	long ok, by[E_KINDS];
	FILE *log;
};

/* CLOCK_REALTIME ms: a test script compares them with its own clock. */
static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int kind_of(int err)
{
	return err == ECONNREFUSED ? E_REFUSED : err == ECONNRESET || err == EPIPE ? E_RESET :
	       err == ETIMEDOUT ? E_TIMEOUT : E_OTHER;
}

/* A connection started at START is over: failed with KIND, or R when KIND < 0. */
static void rate_done(struct rrun *run, long long start, int kind, const struct resp *r)
{
	long long end = wall_ms();
	char code[8];

	if (kind >= 0) {
		run->by[kind]++;
		if (run->log)
			fprintf(run->log, "%lld %lld error:%s\n", start, end, kind_name[kind]);
		return;
	}
	run->ok++;
	snprintf(code, sizeof(code), "%d", r->status);
	tally_add(&run->backends, r->name, 1);
	tally_add(&run->statuses, code, 1);
	tally_set(&run->first, r->name, end, true);
	tally_set(&run->last, r->name, end, false);
	if (!run->log)
		return;
	/* The name comes from the network: keep the line's fields apart. */
	fprintf(run->log, "%lld %lld ", start, end);
	for (const unsigned char *p = (const unsigned char *)r->name; *p; p++)
		putc(*p > 0x20 && *p < 0x7f ? *p : '?', run->log);
	fprintf(run->log, " %s\n", code);
}

static void rate_close(struct rrun *run, struct rconn *c, int kind, const struct resp *r)
{
	rate_done(run, c->start, kind, r);
	close(c->fd);
	c->fd = -1;
}

/* Start a connection in the free slot C. A connect refused at once ends it. */
static void rate_start(struct rrun *run, struct rconn *c, const struct sockaddr_storage *ss,
		       socklen_t sl, long timeout_ms)
{
	int one = 1;

	c->start = wall_ms();
	c->deadline = now_ms() + timeout_ms;
	c->reading = false;
	c->len = 0;
	c->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		rate_done(run, c->start, E_OTHER, NULL);
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (const struct sockaddr *)ss, sl) && errno != EINPROGRESS)
		rate_close(run, c, kind_of(errno), NULL);
}

/* Poll reported something on C: the connect is done, or the response moved on. */
static void rate_io(struct rrun *run, struct rconn *c)
{
	int err = 0;
	socklen_t elen = sizeof(err);
	struct resp r;
	long used;

	if (!c->reading) {
		ssize_t w;

		/* The connect's result is in SO_ERROR. The request is far smaller
		 * than a new socket's send buffer: it goes whole or not at all. */
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) || err) {
			rate_close(run, c, err ? kind_of(err) : E_OTHER, NULL);
			return;
		}
		w = send(c->fd, REQ_CLOSE, sizeof(REQ_CLOSE) - 1, MSG_NOSIGNAL);
		if (w != (ssize_t)sizeof(REQ_CLOSE) - 1)
			rate_close(run, c, w < 0 ? kind_of(errno) : E_OTHER, NULL);
		c->reading = true; /* harmless on a closed slot: a start resets it */
		return;
	}
	for (;;) {
		ssize_t got;

		if (c->len == sizeof(c->buf)) {
			rate_close(run, c, E_OTHER, NULL);
			return;
		}
		got = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (got == 0)
			break;
		if (got > 0) {
			c->len += (size_t)got;
		} else if (errno == EAGAIN) {
			return;
		} else if (errno != EINTR) {
			rate_close(run, c, kind_of(errno), NULL);
			return;
		}
	}
	/* The server closed: as in count, exactly one complete response. */
	used = parse_resp(c->buf, c->len, true, &r);
	rate_close(run, c, used > 0 && (size_t)used == c->len ? -1 : E_OTHER, &r);
}

int cmd_rate(const struct opts *o, const struct sockaddr_storage *ss, socklen_t sl)
{
	long long total = (long long)o->rate * o->duration_ms / 1000, started = 0, t0;
	/* In flight: the starts of one timeout, and a second of slack for a late loop. */
	long long slots = (long long)o->rate * (o->timeout_ms + 1000) / 1000 + 16;
	static struct pollfd p[CONNS_MAX];
	struct rrun run = { 0 };
	struct rconn *c;
	struct rlimit rl;
	int ret = 0;

	if (slots > CONNS_MAX)
		slots = CONNS_MAX;
	/* One fd each, and poll() wants nfds within RLIMIT_NOFILE: raise it if allowed. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < (rlim_t)slots + 16) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)slots + 16 ? rl.rlim_max : (rlim_t)slots + 16;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			getrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < (rlim_t)slots + 16)
			slots = rl.rlim_cur > 32 ? (long long)rl.rlim_cur - 16 : 16;
	}
	c = calloc((size_t)slots, sizeof(*c));
	if (!c) {
		perror("cbclient: calloc");
		return 1;
	}
	for (long long i = 0; i < slots; i++)
		c[i].fd = -1;
	if (o->log) {
		int fd = open(o->log, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

		if (fd < 0 || !(run.log = fdopen(fd, "w"))) {
			fprintf(stderr, "cbclient: %s: %s\n", o->log, strerror(errno));
			return 1;
		}
	}
	t0 = now_ms();
	for (;;) {
		long long now = now_ms(), next = -1, hi = 0;
		int n;

		/* Every connection due, even late ones: the total is the schedule's. */
		for (; started < total && t0 + started * 1000 / o->rate <= now; started++) {
			long long i = 0;

			while (i < slots && c[i].fd >= 0)
				i++;
			if (i < slots)
				rate_start(&run, &c[i], ss, sl, o->timeout_ms);
			else
				rate_done(&run, wall_ms(), E_OTHER, NULL);
		}
		if (started < total)
			next = t0 + started * 1000 / o->rate;
		for (long long i = 0; i < slots; i++) {
			p[i] = (struct pollfd){ .fd = -1 };
			if (c[i].fd >= 0 && c[i].deadline <= now)
				rate_close(&run, &c[i], E_TIMEOUT, NULL);
			if (c[i].fd < 0)
				continue;
			p[i] = (struct pollfd){ .fd = c[i].fd, .events = c[i].reading ? POLLIN : POLLOUT };
			if (next < 0 || c[i].deadline < next)
				next = c[i].deadline;
			hi = i + 1;
		}
		if (next < 0)
			break; /* all started, none in flight */
		n = poll(p, (nfds_t)hi, (int)(next - now));
		if (n < 0 && errno != EINTR) {
			perror("cbclient: poll");
			return 1;
		}
		for (long long i = 0; i < hi && n > 0; i++)
			if (p[i].revents && c[i].fd >= 0)
				rate_io(&run, &c[i]);
	}
	free(c);
	if (run.log && fclose(run.log)) {
		perror("cbclient: writing the log");
		ret = 1;
	}
	printf("{\"total\":%lld,\"ok\":%ld,\"errors\":%lld", total, run.ok, total - run.ok);
	json_tally("backends", &run.backends);
	json_tally("statuses", &run.statuses);
	json_tally("first_ms", &run.first);
	json_tally("last_ms", &run.last);
	printf(",\"errors_by\":{");
	for (int k = 0; k < E_KINDS; k++)
		printf("%s\"%s\":%ld", k ? "," : "", kind_name[k], run.by[k]);
	printf("}}\n");
	return ret;
}

