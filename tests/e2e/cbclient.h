/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What cbclient's modes share: options, tallies, clocks, sockets, HTTP responses. */
#ifndef CBCLIENT_H
#define CBCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#define RESP_MAX 16384
#define NAME_MAX_LEN 32
#define TALLY_MAX 64
#define CONNS_MAX 4096

/* One request per connection: the backend closes after its answer. */
static const char REQ_CLOSE[] = "GET / HTTP/1.1\r\nHost: cb\r\nConnection: close\r\n\r\n";

struct opts {
	const char *addr, *log;
	long port, n, conns, duration_ms, interval_ms, timeout_ms, budget_ms, rate;
};

/* Counts by a short string key, in first-seen order; printed sorted. */
struct tally {
	struct {
		char key[NAME_MAX_LEN];
		long long count; /* or a realtime ms (rate's first_ms, last_ms) */
	} e[TALLY_MAX];
	int n;
};

/* A parsed response: its status and the backend's name (first body line). */
struct resp {
	int status;
	char name[NAME_MAX_LEN];
};

/* Defined in cbclient.c; cbclient_rate.c is the rate mode. */
void tally_add(struct tally *t, const char *key, long by);
void tally_set(struct tally *t, const char *key, long long v, bool keep_first);
void json_tally(const char *field, struct tally *t);
long long now_ms(void);
long parse_resp(const char *buf, size_t len, bool at_eof, struct resp *r);

int cmd_rate(const struct opts *o, const struct sockaddr_storage *ss, socklen_t sl);

#endif
