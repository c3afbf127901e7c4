// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The Prometheus exposition writer (user/agent/expo.h). The input gives a double,
 * a counter, a histogram and free text for HELP and label values; the
 * writer's output is then read back by a strict reader of the text format
 * (0.0.4) written here, and must give back exactly what was written:
 *
 * - cb_expo_fmt_double: strtod() of the text is the value (NaN, +Inf, -Inf
 *   spelled as Prometheus reads them), only number characters otherwise;
 * - HELP text and label values come back unescaped byte for byte; no raw
 *   newline or unescaped quote breaks a line or a value;
 * - histograms: le bounds increase, cumulative counts never decrease, each
 *   equals the datapath buckets folded independently here, +Inf == _count;
 * - cb_buf: len is the string length, no allocation failure, and a reset
 *   buffer written again holds the same text.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>

#include "fuzz.h"
#include "expo.h"
#include "hist.h"

#define NLABELS 3

struct reader {
	const char *p, *end;
};

/* One line without its '\n'; NULL at the end. */
static const char *next_line(struct reader *r, size_t *len)
{
	const char *nl, *line = r->p;

	if (r->p >= r->end)
		return NULL;
	nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	FUZZ_CHECK(nl, "last line without a newline");
	*len = (size_t)(nl - line);
	r->p = nl + 1;
	return line;
}

/* Unescape s[0..len) with the escapes allowed (HELP: \\ \n; label values also \"). */
static char *unescape(const char *s, size_t len, int quotes, size_t *used, char stop)
{
	char *out = malloc(len + 1);
	size_t o = 0, i = 0;

	if (!out)
		abort();
	for (; i < len && s[i] != stop; i++) {
		if (s[i] != '\\') {
			FUZZ_CHECK(!(quotes && s[i] == '"'), "unescaped quote");
			out[o++] = s[i];
			continue;
		}
		FUZZ_CHECK(i + 1 < len, "backslash at the end");
		i++;
		if (s[i] == '\\')
			out[o++] = '\\';
		else if (s[i] == 'n')
			out[o++] = '\n';
		else if (s[i] == '"' && quotes)
			out[o++] = '"';
		else
			FUZZ_CHECK(0, "invalid escape '\\%c'", s[i]);
	}
	out[o] = '\0';
	*used = i;
	return out;
}

static void expect_help(struct reader *r, const char *name, const char *type, const char *help)
{
	char want[128];
	size_t len, used, n;
	const char *l = next_line(r, &len);
	char *got;

	n = (size_t)snprintf(want, sizeof(want), "# HELP %s ", name);
	FUZZ_CHECK(l && len >= n && !memcmp(l, want, n), "no HELP line for %s", name);
	got = unescape(l + n, len - n, 0, &used, '\0');
	FUZZ_CHECK(used == len - n && !strcmp(got, help), "HELP of %s reads back as '%s'", name, got);
	free(got);
	l = next_line(r, &len);
	n = (size_t)snprintf(want, sizeof(want), "# TYPE %s %s", name, type);
	FUZZ_CHECK(l && len == n && !memcmp(l, want, n), "no TYPE line for %s", name);
}

/*
 * name{l1="v1",...[,le="x"]} VALUE: checks the series and labels, returns
 * the value text (terminated copy in val).
 */
static void expect_sample(struct reader *r, const char *name, const char *const *labels,
			  const char *le, char *val, size_t vlen)
{
	size_t len, n = strlen(name), at;
	const char *l = next_line(r, &len);
	int first = 1;

	FUZZ_CHECK(l && len > n && !memcmp(l, name, n), "no sample of %s", name);
	at = n;
	for (const char *const *p = labels; p && p[0]; p += 2) {
		size_t k = strlen(p[0]), used;
		char *got;

		FUZZ_CHECK(at + 1 + k + 2 <= len && l[at] == (first ? '{' : ',') &&
			   !memcmp(l + at + 1, p[0], k) && l[at + 1 + k] == '=' && l[at + 2 + k] == '"',
			   "%s: label %s missing", name, p[0]);
		at += 3 + k;
		got = unescape(l + at, len - at, 1, &used, '"');
		FUZZ_CHECK(at + used < len && l[at + used] == '"', "%s: label %s not closed", name, p[0]);
		FUZZ_CHECK(!strcmp(got, p[1]), "%s: label %s reads back as '%s'", name, p[0], got);
		free(got);
		at += used + 1;
		first = 0;
	}
	if (le) {
		size_t k = strlen(le);

		FUZZ_CHECK(at + 6 + k <= len && !memcmp(l + at, first ? "{le=\"" : ",le=\"", 5) &&
			   !memcmp(l + at + 5, le, k) && l[at + 5 + k] == '"', "%s: le missing", name);
		at += 6 + k;
		first = 0;
	}
	if (!first) {
		FUZZ_CHECK(at < len && l[at] == '}', "%s: labels not closed", name);
		at++;
	}
	FUZZ_CHECK(at < len && l[at] == ' ' && len - at - 1 < vlen && len - at - 1 > 0,
		   "%s: no value", name);
	memcpy(val, l + at + 1, len - at - 1);
	val[len - at - 1] = '\0';
	FUZZ_CHECK(!strpbrk(val, " \t"), "%s: value '%s' has blanks", name, val);
}

/* The exposition's float grammar, read as Prometheus does; 0 when it reads back as v. */
static int float_is(const char *text, double v)
{
	char *end;
	double got;

	if (isnan(v))
		return strcmp(text, "NaN");
	if (isinf(v))
		return strcmp(text, v > 0 ? "+Inf" : "-Inf");
	if (strspn(text, "0123456789.e+-") != strlen(text))
		return -1;
	errno = 0;
	got = strtod(text, &end);
	return *end || got != v;
}

static void check_fmt_double(double v)
{
	char out[40];

	memset(out, 'x', sizeof(out));
	cb_expo_fmt_double(v, out, sizeof(out));
	FUZZ_CHECK(memchr(out, '\0', sizeof(out)), "unterminated");
	FUZZ_CHECK(!float_is(out, v), "%a is written '%s'", v, out);
}

static uint64_t rd64(const uint8_t *d, size_t size, size_t at)
{
	uint64_t v = 0;

	for (size_t i = 0; i < 8; i++)
		v = v << 8 | (at + i < size ? d[at + i] : 0);
	return v;
}

static void write_all(struct cb_buf *b, const char *help, const char *const *labels, uint64_t u,
		      double v, const struct cb_expo_hist *eh)
{
	cb_expo_family(b, "fz_total", "counter", help);
	cb_expo_u64(b, "fz_total", labels, u);
	cb_expo_u64(b, "fz_total", NULL, u);
	cb_expo_family(b, "fz_ratio", "gauge", help);
	cb_expo_double(b, "fz_ratio", labels, v);
	cb_expo_family(b, "fz_seconds", "histogram", help);
	cb_expo_hist(b, "fz_seconds", labels, eh);
}

static void read_all(struct cb_buf *b, const char *help, const char *const *labels, uint64_t u,
		     double v, const struct cb_expo_hist *eh)
{
	struct reader r = { b->p, b->p + b->len };
	char val[64], le[40], *end;
	double last_le = 0;
	uint64_t last = 0;

	FUZZ_CHECK(!b->oom && b->len == strlen(b->p), "buffer: oom %d, len %zu, strlen %zu", b->oom,
		   b->len, strlen(b->p));
	expect_help(&r, "fz_total", "counter", help);
	expect_sample(&r, "fz_total", labels, NULL, val, sizeof(val));
	FUZZ_CHECK(strtoull(val, &end, 10) == u && !*end && val[0] != '-', "counter %s", val);
	expect_sample(&r, "fz_total", NULL, NULL, val, sizeof(val));
	FUZZ_CHECK(strtoull(val, &end, 10) == u && !*end, "counter %s", val);
	expect_help(&r, "fz_ratio", "gauge", help);
	expect_sample(&r, "fz_ratio", labels, NULL, val, sizeof(val));
	FUZZ_CHECK(!float_is(val, v), "gauge %a written '%s'", v, val);
	expect_help(&r, "fz_seconds", "histogram", help);
	for (int i = 0; i < CB_EXPO_LE_COUNT; i++) {
		double bound = (double)((uint64_t)CB_EXPO_LE_FIRST_US << i) / 1e6;

		cb_expo_fmt_double(bound, le, sizeof(le));
		FUZZ_CHECK(bound > last_le, "le %s not increasing", le);
		last_le = bound;
		expect_sample(&r, "fz_seconds_bucket", labels, le, val, sizeof(val));
		FUZZ_CHECK(strtoull(val, &end, 10) == eh->le[i] && !*end, "bucket %d: %s", i, val);
		FUZZ_CHECK(eh->le[i] >= last, "bucket %d decreases", i);
		last = eh->le[i];
	}
	expect_sample(&r, "fz_seconds_bucket", labels, "+Inf", val, sizeof(val));
	FUZZ_CHECK(strtoull(val, &end, 10) == eh->count && eh->count >= last, "+Inf bucket %s", val);
	expect_sample(&r, "fz_seconds_sum", labels, NULL, val, sizeof(val));
	FUZZ_CHECK(!float_is(val, (double)eh->sum_us / 1e6), "sum %s", val);
	expect_sample(&r, "fz_seconds_count", labels, NULL, val, sizeof(val));
	FUZZ_CHECK(strtoull(val, &end, 10) == eh->count, "count %s", val);
	FUZZ_CHECK(r.p == r.end, "more lines than written");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[NLABELS] = { "service", "track", "backend" };
	const char *labels[2 * NLABELS + 1] = { NULL }, *help = "";
	struct cb_expo_hist eh;
	struct cb_hist h = { 0 };
	struct cb_buf b = { 0 };
	uint64_t u = rd64(data, size, 8), bits = rd64(data, size, 0);
	double v;
	size_t nl = 0, tlen = size > 16 ? size - 16 : 0;
	char *text;

	memcpy(&v, &bits, sizeof(v));
	check_fmt_double(v);
	check_fmt_double((double)u);
	check_fmt_double((double)u / 1e6);

	/* After 16 bytes: HELP text, then label values, separated by NUL bytes. */
	text = fuzz_strndup(data + (size - tlen), tlen);
	help = text;
	for (char *p = text + strlen(text) + 1; nl < NLABELS && p <= text + tlen; p += strlen(p) + 1) {
		labels[2 * nl] = names[nl];
		labels[2 * nl + 1] = p;
		nl++;
	}
	labels[2 * nl] = NULL;

	/* Histogram buckets from the input bytes: small counts, so no sum can wrap. */
	for (uint32_t k = 0; k < CB_HIST_BUCKETS; k++)
		h.bucket[k] = size ? data[k % size] * (uint64_t)(k + 1) : 0;
	h.sum_us = u >> 8;
	cb_expo_hist_fold(&h, &eh);
	/*
	 * The fold, independently: le[i] is the sum of the buckets whose upper
	 * edge is at most le (which ones is worked out once, by brute force),
	 * and the +Inf bucket the sum of all.
	 */
	static uint8_t below[CB_EXPO_LE_COUNT][CB_HIST_BUCKETS];
	static int below_done;

	if (!below_done) {
		for (int i = 0; i < CB_EXPO_LE_COUNT; i++)
			for (uint32_t k = 0; k < CB_HIST_BUCKETS; k++)
				below[i][k] = cb_hist_upper(k) <= ((uint64_t)CB_EXPO_LE_FIRST_US << i);
		below_done = 1;
	}
	for (int i = 0; i <= CB_EXPO_LE_COUNT; i++) {
		uint64_t want = 0, got = i < CB_EXPO_LE_COUNT ? eh.le[i] : eh.count;

		for (uint32_t k = 0; k < CB_HIST_BUCKETS; k++)
			want += i < CB_EXPO_LE_COUNT ? h.bucket[k] * below[i][k] : h.bucket[k];
		FUZZ_CHECK(got == want, "le %d: %" PRIu64 " folded, %" PRIu64 " expected", i, got, want);
	}

	write_all(&b, help, labels, u, v, &eh);
	read_all(&b, help, labels, u, v, &eh);
	{
		/* Reset and write again: the same text. */
		char *copy = fuzz_strndup((const uint8_t *)b.p, b.len);

		cb_buf_reset(&b);
		FUZZ_CHECK(b.len == 0 && !strcmp(b.p, ""), "reset buffer not empty");
		write_all(&b, help, labels, u, v, &eh);
		FUZZ_CHECK(!strcmp(copy, b.p), "the same writes gave another text");
		free(copy);
	}
	cb_buf_free(&b);
	FUZZ_CHECK(!b.p && !b.len && !b.cap, "freed buffer not cleared");
	free(text);
	return 0;
}
