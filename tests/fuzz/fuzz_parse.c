// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Every parser of user/lib/parse.h (and cb_parse_duration) on the same input
 * string, with the invariants they promise:
 *
 * - a failure leaves a reason in err (non-empty, terminated);
 * - a success yields a value the formatter writes back as text that parses
 *   to the same value (parse -> cb_fmt_* -> parse is the identity);
 * - the parsers agree with each other: an address is an endpoint without a
 *   port, an endpoint with a port is a listen address, a CIDR has no host bits;
 * - percents, ports, durations and names are accepted exactly when a
 *   straightforward reference reading of their grammar accepts them.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>

#include "fuzz.h"
#include "config.h"
#include "parse.h"

static int ep_eq(const struct cb_endpoint *a, const struct cb_endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	       !memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

static void failed(const char *what, const char *s, const struct cb_err *err)
{
	FUZZ_CHECK(err->msg[0] && strnlen(err->msg, sizeof(err->msg)) < sizeof(err->msg),
		   "%s('%s') failed without a reason", what, s);
}

static void family_ok(const char *what, const char *s, const struct cb_endpoint *e)
{
	FUZZ_CHECK(e->family == CB_AF_INET || e->family == CB_AF_INET6,
		   "%s('%s'): family %u", what, s, e->family);
}

/* The formatter's text for e, and that text parsed back by parse. */
static void round_trip(const char *what, const char *s, const struct cb_endpoint *e,
		       int (*parse)(const char *, struct cb_endpoint *, struct cb_err *), int with_port)
{
	char text[80];
	struct cb_endpoint back;
	struct cb_err err = { { 0 } };

	if (with_port)
		cb_fmt_endpoint(e, text, sizeof(text));
	else
		cb_fmt_addr(&e->addr, e->family, text, sizeof(text));
	FUZZ_CHECK(!parse(text, &back, &err), "%s('%s') -> '%s' does not parse back: %s", what, s,
		   text, err.msg);
	FUZZ_CHECK(ep_eq(&back, e), "%s('%s') -> '%s' parses to another value", what, s, text);
}

/* Reference: 1..3 digits, optionally '.' and 1..2 digits, at most 100. */
static long ref_percent(const char *s)
{
	size_t i = 0, w = 0, f = 0;
	long whole = 0, frac = 0;

	while (isdigit((unsigned char)s[i]) && w < 4)
		whole = whole * 10 + (s[i++] - '0'), w++;
	if (w == 0 || w > 3)
		return -1;
	if (s[i] == '.') {
		i++;
		while (isdigit((unsigned char)s[i]) && f < 3)
			frac = frac * 10 + (s[i++] - '0'), f++;
		if (f == 0 || f > 2)
			return -1;
		if (f == 1)
			frac *= 10;
	}
	if (s[i] || whole * 100 + frac > CB_WEIGHT_MAX)
		return -1;
	return whole * 100 + frac;
}

/* Reference: digits only (leading zeros allowed), value 1..65535. */
static long ref_port(const char *s)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (*s - '0');
		if (v > 65535)
			v = 65536;   /* saturate: still out of range, no overflow */
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

/* Reference: digits (value at most 10^9), then exactly one of ms, s, m, h. */
static int ref_duration(const char *s, uint64_t *ms)
{
	uint64_t v = 0;
	int big = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > 1000000000ULL)
			big = 1, v = 1000000001ULL;
	}
	if (big)
		return -1;
	if (!strcmp(p, "ms"))
		*ms = v;
	else if (!strcmp(p, "s"))
		*ms = v * 1000;
	else if (!strcmp(p, "m"))
		*ms = v * 60000;
	else if (!strcmp(p, "h"))
		*ms = v * 3600000;
	else
		return -1;
	return 0;
}

static int ref_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CB_NAME_MAX || !isalnum((unsigned char)s[0]))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return -1;
	return 0;
}

static void fuzz_addresses(const char *s)
{
	struct cb_endpoint a, e, l;
	struct cb_err err = { { 0 } };
	int ra, re, rl;

	ra = cb_parse_addr(s, &a, &err);
	if (ra) {
		failed("cb_parse_addr", s, &err);
	} else {
		family_ok("cb_parse_addr", s, &a);
		FUZZ_CHECK(a.port == 0, "cb_parse_addr('%s') gave a port", s);
		round_trip("cb_parse_addr", s, &a, cb_parse_addr, 0);
	}

	err.msg[0] = 0;
	re = cb_parse_endpoint(s, &e, &err);
	if (re) {
		failed("cb_parse_endpoint", s, &err);
		FUZZ_CHECK(ra, "'%s' is an address but not an endpoint", s);
	} else {
		family_ok("cb_parse_endpoint", s, &e);
		/* A bare address is an endpoint without a port, and the same address. */
		if (!ra)
			FUZZ_CHECK(ep_eq(&a, &e), "'%s': address and endpoint differ", s);
		/* port 0 means "none given": formatted with a port it would read ":0". */
		round_trip("cb_parse_endpoint", s, &e, cb_parse_endpoint, e.port != 0);
		/* Without a port ("10.0.0.1", "[fd00::1]") it is a usable address. */
		if (e.port == 0)
			round_trip("cb_parse_endpoint", s, &e, cb_parse_addr, 0);
	}

	err.msg[0] = 0;
	rl = cb_parse_listen(s, &l, &err);
	if (rl) {
		failed("cb_parse_listen", s, &err);
		/* Every endpoint with a port is a listen address. */
		FUZZ_CHECK(re || e.port == 0, "'%s' is an endpoint with a port but not a listen address", s);
	} else {
		family_ok("cb_parse_listen", s, &l);
		FUZZ_CHECK(l.port != 0, "cb_parse_listen('%s') without a port", s);
		round_trip("cb_parse_listen", s, &l, cb_parse_listen, 1);
		if (!re)
			FUZZ_CHECK(ep_eq(&l, &e), "'%s': endpoint and listen address differ", s);
	}
}

static void fuzz_cidr(const char *s)
{
	struct cb_endpoint net, back;
	struct cb_err err = { { 0 } };
	unsigned int len, blen, bits;
	char addr[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 8];

	if (cb_parse_cidr(s, &net, &len, &err)) {
		failed("cb_parse_cidr", s, &err);
		return;
	}
	family_ok("cb_parse_cidr", s, &net);
	bits = net.family == CB_AF_INET ? 32 : 128;
	FUZZ_CHECK(len <= bits, "cb_parse_cidr('%s'): length %u", s, len);
	for (unsigned int b = len; b < bits; b++)
		FUZZ_CHECK(!(net.addr.b[b / 8] & (0x80 >> (b % 8))), "cb_parse_cidr('%s'): host bit %u set",
			   s, b);
	cb_fmt_addr(&net.addr, net.family, addr, sizeof(addr));
	snprintf(text, sizeof(text), "%s/%u", addr, len);
	FUZZ_CHECK(!cb_parse_cidr(text, &back, &blen, &err), "cb_parse_cidr('%s') -> '%s' fails: %s",
		   s, text, err.msg);
	FUZZ_CHECK(ep_eq(&back, &net) && blen == len, "cb_parse_cidr('%s') -> '%s' differs", s, text);
}

static void fuzz_numbers(const char *s)
{
	struct cb_err err = { { 0 } };
	char text[32];
	uint32_t bp, bp2;
	uint16_t port, port2;
	uint64_t ms, ms2, ref_ms = 0;
	long ref;
	int r;

	r = cb_parse_percent(s, &bp, &err);
	ref = ref_percent(s);
	FUZZ_CHECK(!r == (ref >= 0), "cb_parse_percent('%s') = %d, reference %ld", s, r, ref);
	if (r) {
		failed("cb_parse_percent", s, &err);
	} else {
		FUZZ_CHECK(bp == (uint32_t)ref, "cb_parse_percent('%s') = %u bp, reference %ld", s, bp, ref);
		cb_fmt_percent(bp, text, sizeof(text));
		FUZZ_CHECK(!cb_parse_percent(text, &bp2, &err) && bp2 == bp,
			   "percent '%s' -> %u -> '%s' does not read back", s, bp, text);
	}

	err.msg[0] = 0;
	r = cb_parse_port(s, &port, &err);
	ref = ref_port(s);
	FUZZ_CHECK(!r == (ref >= 0), "cb_parse_port('%s') = %d, reference %ld", s, r, ref);
	if (r) {
		failed("cb_parse_port", s, &err);
	} else {
		FUZZ_CHECK(port == ref, "cb_parse_port('%s') = %u, reference %ld", s, port, ref);
		snprintf(text, sizeof(text), "%u", port);
		FUZZ_CHECK(!cb_parse_port(text, &port2, &err) && port2 == port,
			   "port '%s' -> '%s' does not read back", s, text);
	}

	r = cb_parse_duration(s, &ms);
	FUZZ_CHECK(!r == !ref_duration(s, &ref_ms), "cb_parse_duration('%s') = %d", s, r);
	if (!r) {
		FUZZ_CHECK(ms == ref_ms, "cb_parse_duration('%s') = %llu ms, reference %llu", s,
			   (unsigned long long)ms, (unsigned long long)ref_ms);
		/*
		 * Written back in the largest unit that divides it (there is no
		 * cb_fmt_duration; this is how a person would write it): the
		 * number is then at most the one parsed, so it is in range.
		 */
		static const struct { const char *unit; uint64_t ms; } u[] = {
			{ "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 },
		};
		size_t k = 0;

		while (ms % u[k].ms)
			k++;
		snprintf(text, sizeof(text), "%llu%s", (unsigned long long)(ms / u[k].ms), u[k].unit);
		FUZZ_CHECK(!cb_parse_duration(text, &ms2) && ms2 == ms,
			   "duration '%s' -> '%s' does not read back", s, text);
	}
}

static void fuzz_words(const char *s)
{
	struct cb_err err = { { 0 } };
	unsigned int track;
	uint8_t proto, aff;
	int r;

	r = cb_parse_name(s, &err);
	FUZZ_CHECK(!r == !ref_name(s), "cb_parse_name('%s') = %d", s, r);
	if (r)
		failed("cb_parse_name", s, &err);

	err.msg[0] = 0;
	if (cb_parse_track(s, &track, &err))
		failed("cb_parse_track", s, &err);
	else
		FUZZ_CHECK(!strcmp(cb_track_name(track), s), "track '%s' is named back '%s'", s,
			   cb_track_name(track));
	err.msg[0] = 0;
	if (cb_parse_proto(s, &proto, &err))
		failed("cb_parse_proto", s, &err);
	else
		FUZZ_CHECK(!strcmp(cb_proto_name(proto), s), "proto '%s' is named back '%s'", s,
			   cb_proto_name(proto));
	err.msg[0] = 0;
	if (cb_parse_affinity(s, &aff, &err))
		failed("cb_parse_affinity", s, &err);
	else
		FUZZ_CHECK(!strcmp(cb_affinity_name(aff), s), "affinity '%s' is named back '%s'", s,
			   cb_affinity_name(aff));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);

	fuzz_addresses(s);
	fuzz_cidr(s);
	fuzz_numbers(s);
	fuzz_words(s);
	free(s);
	return 0;
}
