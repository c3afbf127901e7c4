// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "expo.h"
#include "hist.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int buf_reserve(struct cb_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (b->oom)
		return -1;
	while (cap - b->len <= more)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void cb_buf_printf(struct cb_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void buf_putc(struct cb_buf *b, char c)
{
	if (buf_reserve(b, 2))
		return;
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

void cb_buf_reset(struct cb_buf *b)
{
	b->len = 0;
	b->oom = 0;
	if (b->p)
		b->p[0] = '\0';
}

void cb_buf_free(struct cb_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void cb_expo_fmt_double(double v, char *out, size_t len)
{
	if (isnan(v)) {
		snprintf(out, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* Prometheus parses with Go's strconv; any round-tripping text will do. */
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, len, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

/* Label values: backslash, double quote and newline are escaped (HELP: no quotes). */
static void put_escaped(struct cb_buf *b, const char *s, int quotes)
{
	for (; *s; s++) {
		if (*s == '\\')
			cb_buf_printf(b, "\\\\");
		else if (*s == '\n')
			cb_buf_printf(b, "\\n");
		else if (*s == '"' && quotes)
			cb_buf_printf(b, "\\\"");
		else
			buf_putc(b, *s);
	}
}

void cb_expo_family(struct cb_buf *b, const char *name, const char *type, const char *help)
{
	cb_buf_printf(b, "# HELP %s ", name);
	put_escaped(b, help, 0);
	cb_buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

/* name{labels[,le="..."]} with the value left to the caller. */
static void put_series(struct cb_buf *b, const char *name, const char *const *labels, const char *le)
{
	int first = 1;

	cb_buf_printf(b, "%s", name);
	for (const char *const *l = labels; l && l[0] && l[1]; l += 2) {
		cb_buf_printf(b, "%s%s=\"", first ? "{" : ",", l[0]);
		put_escaped(b, l[1], 1);
		buf_putc(b, '"');
		first = 0;
	}
	if (le) {
		cb_buf_printf(b, "%sle=\"%s\"", first ? "{" : ",", le);
		first = 0;
	}
	if (!first)
		buf_putc(b, '}');
}

void cb_expo_u64(struct cb_buf *b, const char *name, const char *const *labels, uint64_t v)
{
	put_series(b, name, labels, NULL);
	cb_buf_printf(b, " %" PRIu64 "\n", v);
}

void cb_expo_double(struct cb_buf *b, const char *name, const char *const *labels, double v)
{
	char num[40];

	cb_expo_fmt_double(v, num, sizeof(num));
	put_series(b, name, labels, NULL);
	cb_buf_printf(b, " %s\n", num);
}

void cb_expo_hist_fold(const struct cb_hist *h, struct cb_expo_hist *out)
{
	uint64_t below = 0, edge_us = CB_EXPO_LE_FIRST_US;
	uint32_t k = 0;

	for (int i = 0; i < CB_EXPO_LE_COUNT; i++, edge_us *= 2) {
		/* Every sample of a bucket whose upper edge is at most le is below le. */
		for (; k < CB_HIST_BUCKETS && cb_hist_upper(k) <= edge_us; k++)
			below += h->bucket[k];
		out->le[i] = below;
	}
	/* count is the sum of the buckets, not h->count: the per-CPU copies are
	 * read one after another, and +Inf must equal _count exactly. */
	for (; k < CB_HIST_BUCKETS; k++)
		below += h->bucket[k];
	out->count = below;
	out->sum_us = h->sum_us;
}

void cb_expo_hist(struct cb_buf *b, const char *name, const char *const *labels,
		  const struct cb_expo_hist *h)
{
	char series[128], le[40];
	uint64_t edge_us = CB_EXPO_LE_FIRST_US;

	snprintf(series, sizeof(series), "%s_bucket", name);
	for (int i = 0; i < CB_EXPO_LE_COUNT; i++, edge_us *= 2) {
		cb_expo_fmt_double((double)edge_us / 1e6, le, sizeof(le));
		put_series(b, series, labels, le);
		cb_buf_printf(b, " %" PRIu64 "\n", h->le[i]);
	}
	put_series(b, series, labels, "+Inf");
	cb_buf_printf(b, " %" PRIu64 "\n", h->count);
	snprintf(series, sizeof(series), "%s_sum", name);
	cb_expo_double(b, series, labels, (double)h->sum_us / 1e6);
	snprintf(series, sizeof(series), "%s_count", name);
	cb_expo_u64(b, series, labels, h->count);
}
