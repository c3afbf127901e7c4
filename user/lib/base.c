// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Endpoints, errors, formatting and the clock: see base.h. */
#include "base.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int cb_endpoint_cmp(const void *a, const void *b)
{
	const struct cb_endpoint *x = a, *y = b;
	int c = memcmp(x->addr.b, y->addr.b, sizeof(x->addr.b));

	if (c)
		return c;
	return (int)x->port - (int)y->port;
}

int cb_endpoint_eq(const struct cb_endpoint *a, const struct cb_endpoint *b)
{
	return a->family == b->family && !cb_endpoint_cmp(a, b);
}

int cb_err_set(struct cb_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void cb_fmt_addr(const union cb_addr *a, uint8_t family, char *buf, size_t len)
{
	if (!inet_ntop(family == CB_AF_INET ? AF_INET : AF_INET6, a->b, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

void cb_fmt_endpoint(const struct cb_endpoint *e, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	cb_fmt_addr(&e->addr, e->family, a, sizeof(a));
	if (e->family == CB_AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, e->port);
	else
		snprintf(buf, len, "%s:%u", a, e->port);
}

void cb_fmt_percent(uint32_t bp, char *buf, size_t len)
{
	if (bp % 100 == 0)
		snprintf(buf, len, "%u", bp / 100);
	else if (bp % 10 == 0)
		snprintf(buf, len, "%u.%u", bp / 100, bp % 100 / 10);
	else
		snprintf(buf, len, "%u.%02u", bp / 100, bp % 100);
}

const char *cb_track_name(unsigned int track)
{
	return track == CB_TRACK_CANARY ? "canary" : "stable";
}

const char *cb_proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

const char *cb_affinity_name(uint8_t affinity)
{
	return affinity == CB_AFFINITY_CLIENT ? "client" : "connection";
}

uint64_t cb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t cb_fnv1a(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}
