// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * slowsrv: a tiny HTTP/1.1 backend for the end-to-end tests of the health
 * signals. It answers every request after a fixed delay, with a fixed status
 * and the body "NAME\n" (the lab's backends name themselves, see cbclient).
 *
 *   slowsrv --addr IP --port N --delay-ms D [--name NAME] [--status CODE]
 *           [--fail-every K]
 *
 * With --fail-every K, the k-th request the process answers (counting from 1
 * across all connections) gets 500 instead of CODE when k % K == 0: an exact
 * error rate (K=20 is 5 %, K=1000 is 0.1 %), not a random one, so a test can
 * predict what the health signals must see. The body stays "NAME\n".
 *
 * IP is numeric (IPv4 or IPv6). One process, one poll loop, at most
 * CONNS_MAX connections at a time (more wait in the listen backlog). Each
 * connection's requests are served in order, one at a time: a request is
 * answered D ms after it has fully arrived, then the next one is read
 * (keep-alive; "Connection: close" or HTTP/1.0 without keep-alive ends the
 * connection after the answer). Request bodies (Content-Length) are read and
 * ignored; chunked request bodies are refused (the connection is closed).
 * Runs in the foreground until killed; prints one line when it listens.
 * Exit status: 1 when it cannot listen, 2 for bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX 1000
#define IN_MAX 8192
#define OUT_MAX 512
#define NAME_MAX_LEN 64

struct conn {
	int fd;                 /* -1: free slot */
	char in[IN_MAX];
	size_t in_len;
	long long due;          /* when the pending answer is due (ns); -1: none */
	bool close_after;       /* the pending answer ends the connection */
	bool peer_done;         /* the client has shut down its side */
	char out[OUT_MAX];
	size_t out_len, out_off; /* an answer being written */
};

static struct conn conns[CONNS_MAX];
static struct pollfd pfds[CONNS_MAX + 1];
static int pslot[CONNS_MAX + 1]; /* conns index of pfds[i], -1 for the listener */

static int conns_max = CONNS_MAX; /* lowered to fit RLIMIT_NOFILE */
static int nconns;
static long delay_ms;
static int status = 200;
static long fail_every;             /* 0: never fail */
static unsigned long long served;   /* answers formatted so far */
static const char *name = "slowsrv";

/* CLOCK_MONOTONIC in ns: a delay is never cut short by rounding. */
static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static const char *reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 201: return "Created";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	nconns--;
}

/* Is header NAME (with its colon, e.g. "Connection:") in HDR, and does its
 * value contain WORD? HDR spans the request head, without the final CRLFCRLF. */
static bool header_has(const char *hdr, size_t len, const char *hname, const char *word)
{
	size_t hl = strlen(hname), wl = word ? strlen(word) : 0;
	const char *p = memchr(hdr, '\n', len), *end = hdr + len;

	for (; p && p < end; p = memchr(p, '\n', (size_t)(end - p))) {
		const char *eol;

		p++;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if ((size_t)(eol - p) < hl || strncasecmp(p, hname, hl))
			continue;
		if (!word)
			return true;
		for (const char *q = p + hl; q + wl <= eol; q++)
			if (!strncasecmp(q, word, wl))
				return true;
	}
	return false;
}

/* The value of Content-Length in HDR; 0 when absent, -1 when malformed. */
static long content_length(const char *hdr, size_t len)
{
	const char *p = memchr(hdr, '\n', len), *end = hdr + len;

	for (; p && p < end; p = memchr(p, '\n', (size_t)(end - p))) {
		char num[24];
		size_t n = 0;
		char *e;
		long v;

		p++;
		if (end - p < 15 || strncasecmp(p, "Content-Length:", 15))
			continue;
		for (p += 15; p < end && (*p == ' ' || *p == '\t'); p++)
			;
		while (p + n < end && p[n] >= '0' && p[n] <= '9' && n < sizeof(num) - 1)
			n++;
		memcpy(num, p, n);
		num[n] = '\0';
		v = strtol(num, &e, 10);
		return n && !*e && v <= IN_MAX ? v : -1;
	}
	return 0;
}

/*
 * If a whole request is buffered, consume it and schedule its answer.
 * Returns 0 (scheduled or more bytes needed) or -1 (close the connection).
 */
static int take_request(struct conn *c)
{
	const char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
	size_t head, total;
	long clen;
	bool http10;

	if (c->due >= 0 || c->out_len)
		return 0; /* one request at a time: the next waits for this answer */
	if (!end)
		return c->in_len == IN_MAX ? -1 : 0;
	head = (size_t)(end - c->in);
	if (header_has(c->in, head, "Transfer-Encoding:", NULL))
		return -1;
	clen = content_length(c->in, head);
	if (clen < 0)
		return -1;
	total = head + 4 + (size_t)clen;
	if (total > IN_MAX)
		return -1;
	if (c->in_len < total)
		return 0;
	/* The request line ends the first line: check its version there. */
	{
		const char *eol = memchr(c->in, '\r', head + 1);

		if (!eol || eol - c->in < 8 || memcmp(eol - 8, "HTTP/1.", 7))
			return -1;
		http10 = eol[-1] == '0';
	}
	c->close_after = header_has(c->in, head, "Connection:", "close") ||
			 (http10 && !header_has(c->in, head, "Connection:", "keep-alive"));
	memmove(c->in, c->in + total, c->in_len - total);
	c->in_len -= total;
	c->due = now_ns() + delay_ms * 1000000LL;
	return 0;
}

/* Write what is left of the answer. 0: all written or would block; -1: error. */
static int flush_out(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (w > 0)
			c->out_off += (size_t)w;
		else if (w < 0 && errno == EINTR)
			continue;
		else if (w < 0 && errno == EAGAIN)
			return 0;
		else
			return -1;
	}
	return 0;
}

/* The answer is due: format and start writing it. */
static int answer(struct conn *c)
{
	/* Counted when answered, not when read: the k-th answer on the wire. */
	int code = fail_every && ++served % (unsigned long long)fail_every == 0 ? 500 : status;
	int n = snprintf(c->out, sizeof(c->out),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
			 "Connection: %s\r\n\r\n%s\n",
			 code, reason(code), strlen(name) + 1,
			 c->close_after ? "close" : "keep-alive", name);

	if (n < 0 || (size_t)n >= sizeof(c->out))
		return -1;
	c->out_len = (size_t)n;
	c->out_off = 0;
	c->due = -1;
	return flush_out(c);
}

/* After an answer is fully written: close, or go on with the next request. */
static int answered(struct conn *c)
{
	c->out_len = c->out_off = 0;
	if (c->close_after)
		return -1;
	if (take_request(c))
		return -1;
	if (c->due < 0 && c->peer_done)
		return -1;
	return 0;
}

static int read_in(struct conn *c)
{
	for (;;) {
		ssize_t got = recv(c->fd, c->in + c->in_len, IN_MAX - c->in_len, 0);

		if (got > 0) {
			c->in_len += (size_t)got;
			if (c->in_len == IN_MAX)
				break;
			continue;
		}
		if (got == 0) {
			c->peer_done = true;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			break;
		return -1;
	}
	if (take_request(c))
		return -1;
	/* A client that is gone and owes no answer: done. */
	return c->due < 0 && c->peer_done ? -1 : 0;
}

static void accept_all(int lfd)
{
	for (;;) {
		int i, fd, one = 1;

		if (nconns >= conns_max)
			return;
		for (i = 0; conns[i].fd >= 0; i++)
			;
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a connection gone before accept */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		memset(&conns[i], 0, sizeof(conns[i]));
		conns[i].fd = fd;
		conns[i].due = -1;
		nconns++;
	}
}

static int listen_on(const char *addr, long port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1;

	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		len = sizeof(*a6);
	} else {
		fprintf(stderr, "slowsrv: '%s' is not a numeric IPv4 or IPv6 address\n", addr);
		exit(2);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("slowsrv: socket");
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 1024)) {
		fprintf(stderr, "slowsrv: cannot listen on %s port %ld: %s\n", addr, port,
			strerror(errno));
		exit(1);
	}
	return fd;
}

static void usage(void)
{
	fprintf(stderr, "usage: slowsrv --addr IP --port N --delay-ms D [--name NAME] [--status CODE]\n"
			"               [--fail-every K]\n");
	exit(2);
}

static long num_arg(const char *s, long min, long max)
{
	char *e;
	long v;

	errno = 0;
	v = strtol(s, &e, 10);
	if (errno || e == s || *e || v < min || v > max)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	const char *addr = NULL;
	long port = -1;
	int lfd;

	delay_ms = -1;
	for (int i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		if (!strcmp(k, "--addr"))
			addr = v;
		else if (!strcmp(k, "--port"))
			port = num_arg(v, 1, 65535);
		else if (!strcmp(k, "--delay-ms"))
			delay_ms = num_arg(v, 0, 600000);
		else if (!strcmp(k, "--status"))
			status = (int)num_arg(v, 200, 599);
		else if (!strcmp(k, "--fail-every"))
			fail_every = num_arg(v, 1, 1000000000);
		else if (!strcmp(k, "--name"))
			name = v;
		else
			usage();
	}
	if (!addr || port < 0 || delay_ms < 0)
		usage();
	/* The body is the name and a newline; 204 and 304 have no body. */
	if (!*name || strlen(name) >= NAME_MAX_LEN || strpbrk(name, "\r\n") ||
	    status == 204 || status == 304)
		usage();
	signal(SIGPIPE, SIG_IGN);
	{
		struct rlimit rl;

		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < (rlim_t)CONNS_MAX + 16)
			conns_max = rl.rlim_cur > 32 ? (int)rl.rlim_cur - 16 : 16;
	}
	for (int i = 0; i < CONNS_MAX; i++)
		conns[i].fd = -1;
	lfd = listen_on(addr, port);
	/* The fail rate is appended, so the line is unchanged without it. */
	printf("slowsrv %s: listening on %s port %ld, delay %ld ms, status %d", name, addr, port,
	       delay_ms, status);
	if (fail_every)
		printf(", 500 every %ld answers", fail_every);
	printf("\n");
	fflush(stdout);

	for (;;) {
		long long now = now_ns(), next = -1;
		struct timespec ts, *timeout = NULL;
		int np = 0, r;

		/* All slots taken: leave the rest in the backlog. */
		pfds[np] = (struct pollfd){ .fd = nconns < conns_max ? lfd : -1, .events = POLLIN };
		pslot[np++] = -1;
		for (int i = 0; i < CONNS_MAX; i++) {
			struct conn *c = &conns[i];
			short ev;

			if (c->fd < 0)
				continue;
			if (c->out_len)
				ev = POLLOUT;
			else if (c->due >= 0)
				ev = 0; /* waiting for the delay: read nothing more */
			else
				ev = POLLIN;
			if (c->due >= 0 && (next < 0 || c->due < next))
				next = c->due;
			/* Nothing to wait for on a half-closed idle socket (no
			 * POLLHUP storm): the timer alone moves it on. */
			pfds[np] = (struct pollfd){ .fd = ev || !c->peer_done ? c->fd : -1,
						    .events = ev };
			pslot[np++] = i;
		}
		if (next >= 0) {
			long long left = next > now ? next - now : 0;

			ts.tv_sec = left / 1000000000LL;
			ts.tv_nsec = left % 1000000000LL;
			timeout = &ts;
		}
		r = ppoll(pfds, (nfds_t)np, timeout, NULL);
		if (r < 0 && errno != EINTR) {
			perror("slowsrv: poll");
			return 1;
		}
		now = now_ns();
		for (int k = 1; k < np && r > 0; k++) {
			struct conn *c = &conns[pslot[k]];
			short re = pfds[k].revents;
			int bad = 0;

			if (!re || c->fd < 0)
				continue;
			if (c->out_len && (re & (POLLOUT | POLLERR | POLLHUP)))
				bad = flush_out(c) || (c->out_off == c->out_len && answered(c));
			else if (re & (POLLIN | POLLERR | POLLHUP))
				bad = read_in(c);
			else if (re & POLLNVAL)
				bad = -1;
			if (bad)
				conn_close(c);
		}
		/* Answers that are due. */
		for (int i = 0; i < CONNS_MAX; i++) {
			struct conn *c = &conns[i];

			if (c->fd < 0 || c->due < 0 || c->due > now)
				continue;
			if (answer(c) || (c->out_off == c->out_len && answered(c)))
				conn_close(c);
		}
		if (r > 0 && (pfds[0].revents & POLLIN))
			accept_all(lfd);
	}
}
