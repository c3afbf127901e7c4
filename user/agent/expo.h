/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Prometheus text exposition (format 0.0.4) into a growable buffer: the one
 * writer behind both /metrics and the node_exporter textfile.
 *
 * Label sets are NULL-terminated arrays of name, value, name, value, ...;
 * values are escaped here, names must already be valid label names.
 */
#ifndef CB_EXPO_H
#define CB_EXPO_H

#include <stddef.h>
#include <stdint.h>
#include "canary_bpf.h"

/* A growing string; after a failed allocation it stays truncated and `oom` is set. */
struct cb_buf {
	char *p;
	size_t len, cap;
	int oom;
};

void cb_buf_printf(struct cb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cb_buf_reset(struct cb_buf *b);
void cb_buf_free(struct cb_buf *b);

/* The shortest text that reads back as v ("0.000128", "6.4e-05", "+Inf", "NaN"). */
void cb_expo_fmt_double(double v, char *out, size_t len);

/* "# HELP" and "# TYPE" lines; type is "counter", "gauge" or "histogram". */
void cb_expo_family(struct cb_buf *b, const char *name, const char *type, const char *help);
void cb_expo_u64(struct cb_buf *b, const char *name, const char *const *labels, uint64_t v);
void cb_expo_double(struct cb_buf *b, const char *name, const char *const *labels, double v);

/*
 * Bucket bounds of the exported histograms: 64 us * 2^k, k = 0..18, then +Inf.
 * They are edges of the datapath's own buckets (enum cb_hist_kind), so each
 * cumulative count is exact rather than interpolated.
 */
#define CB_EXPO_LE_FIRST_US 64
#define CB_EXPO_LE_COUNT    19

/* A datapath histogram folded into the exported buckets (cumulative counts). */
struct cb_expo_hist {
	uint64_t le[CB_EXPO_LE_COUNT];
	uint64_t count;             /* the +Inf bucket */
	uint64_t sum_us;
};

void cb_expo_hist_fold(const struct cb_hist *h, struct cb_expo_hist *out);
/* _bucket{le}, _sum and _count samples, in seconds. */
void cb_expo_hist(struct cb_buf *b, const char *name, const char *const *labels,
		  const struct cb_expo_hist *h);

#endif
