// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* inet_pton for either family, nothing else accepted. */
static int addr_text(const char *s, union cb_addr *a, uint8_t *family)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->b) == 1) {
		*family = CB_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->b) == 1) {
		*family = CB_AF_INET6;
		return 0;
	}
	return -1;
}

static int addr_usable(const char *s, const union cb_addr *a, uint8_t family, struct cb_err *err)
{
	if (family == CB_AF_INET) {
		uint8_t first = a->b[0];

		if (a->v4 == 0)
			return cb_err_set(err, -1, "'%s' is the unspecified address", s);
		if (a->v4 == 0xffffffff)
			return cb_err_set(err, -1, "'%s' is the broadcast address", s);
		if (first == 127)
			return cb_err_set(err, -1, "'%s' is a loopback address", s);
		if (first >= 224 && first <= 239)
			return cb_err_set(err, -1, "'%s' is a multicast address", s);
		if (first >= 240)
			return cb_err_set(err, -1, "'%s' is a reserved address", s);
		return 0;
	}
	static const uint8_t zero[16], loop[16] = { [15] = 1 };

	if (!memcmp(a->b, zero, 16))
		return cb_err_set(err, -1, "'%s' is the unspecified address", s);
	if (!memcmp(a->b, loop, 16))
		return cb_err_set(err, -1, "'%s' is the loopback address", s);
	if (a->b[0] == 0xff)
		return cb_err_set(err, -1, "'%s' is a multicast address", s);
	if (a->v6[0] == 0 && a->v6[1] == 0 && a->b[8] == 0 && a->b[9] == 0 &&
	    a->b[10] == 0xff && a->b[11] == 0xff)
		return cb_err_set(err, -1, "'%s' is IPv4-mapped: use the IPv4 address", s);
	return 0;
}

int cb_parse_addr(const char *s, struct cb_endpoint *out, struct cb_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return cb_err_set(err, -1, "empty address");
	if (addr_text(s, &out->addr, &out->family))
		return cb_err_set(err, -1, "'%s' is not an IPv4 or IPv6 address", s);
	return addr_usable(s, &out->addr, out->family, err);
}

int cb_parse_port(const char *s, uint16_t *out, struct cb_err *err)
{
	unsigned long v = 0;

	if (!s || !*s)
		return cb_err_set(err, -1, "empty port");
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return cb_err_set(err, -1, "port '%s' is not a number", s);
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 65535)
			return cb_err_set(err, -1, "port '%s' is out of range 1..65535", s);
	}
	if (v == 0)
		return cb_err_set(err, -1, "port 0 is not a port (1..65535)");
	*out = (uint16_t)v;
	return 0;
}

/* IP[:PORT] or [IPv6][:PORT]; a listen address may be any address but needs its port. */
static int endpoint_text(const char *s, struct cb_endpoint *out, int listen, struct cb_err *err)
{
	char host[INET6_ADDRSTRLEN + 8];
	const char *port = NULL;
	uint16_t p = 0;

	if (!s || !*s)
		return cb_err_set(err, -1, "empty address");
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || (size_t)(end - s - 1) >= sizeof(host))
			return cb_err_set(err, -1, "'%s': expected [IPv6]:PORT", s);
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = 0;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			return cb_err_set(err, -1, "'%s': expected [IPv6]:PORT", s);
	} else {
		const char *colon = strchr(s, ':');

		if (strlen(s) >= sizeof(host))
			return cb_err_set(err, -1, "'%s' is not an address", s);
		strcpy(host, s);
		/* One colon: IPv4:PORT. More: a bare IPv6 address. */
		if (colon && !strchr(colon + 1, ':')) {
			host[colon - s] = 0;
			port = colon + 1;
		}
	}
	if (listen) {
		memset(out, 0, sizeof(*out));
		if (addr_text(host, &out->addr, &out->family))
			return cb_err_set(err, -1, "'%s' is not an IPv4 or IPv6 address", host);
		if (!port)
			return cb_err_set(err, -1, "'%s': expected ADDR:PORT or [IPv6]:PORT", s);
	} else if (cb_parse_addr(host, out, err)) {
		return -1;
	}
	if (port && cb_parse_port(port, &p, err))
		return -1;
	out->port = p;
	return 0;
}

int cb_parse_endpoint(const char *s, struct cb_endpoint *out, struct cb_err *err)
{
	return endpoint_text(s, out, 0, err);
}

int cb_parse_listen(const char *s, struct cb_endpoint *out, struct cb_err *err)
{
	return endpoint_text(s, out, 1, err);
}

int cb_parse_cidr(const char *s, struct cb_endpoint *net, unsigned int *len, struct cb_err *err)
{
	char host[INET6_ADDRSTRLEN + 1], fixed[INET6_ADDRSTRLEN];
	const char *slash;
	unsigned int bits, l = 0;
	union cb_addr masked;

	if (!s || !*s)
		return cb_err_set(err, -1, "empty CIDR");
	slash = strchr(s, '/');
	if (!slash || !slash[1])
		return cb_err_set(err, -1, "'%s' is not a CIDR (ADDRESS/LENGTH)", s);
	if ((size_t)(slash - s) >= sizeof(host))
		return cb_err_set(err, -1, "'%s' is not a CIDR", s);
	memcpy(host, s, (size_t)(slash - s));
	host[slash - s] = 0;
	memset(net, 0, sizeof(*net));
	if (addr_text(host, &net->addr, &net->family))
		return cb_err_set(err, -1, "'%s' is not an IPv4 or IPv6 address", host);
	bits = net->family == CB_AF_INET ? 32 : 128;
	for (const char *p = slash + 1; *p; p++) {
		if (!isdigit((unsigned char)*p) || l > bits)
			return cb_err_set(err, -1, "prefix length in '%s' must be 0..%u", s, bits);
		l = l * 10 + (unsigned int)(*p - '0');
	}
	if (l > bits)
		return cb_err_set(err, -1, "prefix length in '%s' must be 0..%u", s, bits);
	masked = net->addr;
	for (unsigned int b = l; b < bits; b++)
		masked.b[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	if (memcmp(&masked, &net->addr, sizeof(masked))) {
		cb_fmt_addr(&masked, net->family, fixed, sizeof(fixed));
		return cb_err_set(err, -1, "'%s' has host bits set (did you mean %s/%u?)", s, fixed, l);
	}
	*len = l;
	return 0;
}

int cb_parse_percent(const char *s, uint32_t *bp, struct cb_err *err)
{
	uint32_t whole = 0, frac = 0;
	int digits = 0, decimals = -1;

	if (!s || !*s)
		return cb_err_set(err, -1, "empty percent (expected 0..100, at most two decimals)");
	for (const char *p = s; *p; p++) {
		if (*p == '.' && decimals < 0 && digits > 0) {
			decimals = 0;
			continue;
		}
		if (!isdigit((unsigned char)*p))
			return cb_err_set(err, -1, "'%s' is not a percent (expected 0..100, at most two decimals)", s);
		if (decimals >= 0) {
			if (++decimals > 2)
				return cb_err_set(err, -1, "'%s' has more than two decimals (steps are 0.01 %%)", s);
			frac = frac * 10 + (uint32_t)(*p - '0');
		} else {
			if (++digits > 3)
				return cb_err_set(err, -1, "'%s' is above 100", s);
			whole = whole * 10 + (uint32_t)(*p - '0');
		}
	}
	if (decimals == 0)
		return cb_err_set(err, -1, "'%s' is not a percent (digits expected after '.')", s);
	if (decimals == 1)
		frac *= 10;
	if (whole * 100 + frac > CB_WEIGHT_MAX)
		return cb_err_set(err, -1, "'%s' is above 100", s);
	*bp = whole * 100 + frac;
	return 0;
}

int cb_parse_name(const char *s, struct cb_err *err)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0)
		return cb_err_set(err, -1, "empty name");
	if (n > CB_NAME_MAX)
		return cb_err_set(err, -1, "name is %zu characters long (at most %d)", n, CB_NAME_MAX);
	if (!isalnum((unsigned char)s[0]))
		return cb_err_set(err, -1, "name '%s' must start with a letter or digit", s);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return cb_err_set(err, -1, "name '%s' may only hold letters, digits, '.', '_' and '-'", s);
	return 0;
}

int cb_parse_track(const char *s, unsigned int *track, struct cb_err *err)
{
	if (s && !strcmp(s, "stable"))
		*track = CB_TRACK_STABLE;
	else if (s && !strcmp(s, "canary"))
		*track = CB_TRACK_CANARY;
	else
		return cb_err_set(err, -1, "'%s' is not a track (stable or canary)", s ? s : "");
	return 0;
}

int cb_parse_proto(const char *s, uint8_t *proto, struct cb_err *err)
{
	if (s && !strcmp(s, "tcp"))
		*proto = IPPROTO_TCP;
	else if (s && !strcmp(s, "udp"))
		*proto = IPPROTO_UDP;
	else
		return cb_err_set(err, -1, "'%s' is not a protocol (tcp or udp)", s ? s : "");
	return 0;
}

int cb_parse_affinity(const char *s, uint8_t *affinity, struct cb_err *err)
{
	if (s && !strcmp(s, "connection"))
		*affinity = CB_AFFINITY_CONNECTION;
	else if (s && !strcmp(s, "client"))
		*affinity = CB_AFFINITY_CLIENT;
	else
		return cb_err_set(err, -1, "'%s' is not an affinity (connection or client)", s ? s : "");
	return 0;
}

int cb_parse_duration(const char *s, uint64_t *ms)
{
	static const struct { const char *unit; uint64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};
	uint64_t v = 0;
	const char *p = s;

	if (!s || *p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > 1000000000ULL)
			return -1;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(p, units[i].unit)) {
			*ms = v * units[i].ms;
			return 0;
		}
	return -1;
}
