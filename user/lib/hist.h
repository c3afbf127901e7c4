/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Latency histograms (struct cb_hist, filled by the datapath): percentiles
 * and the difference between two snapshots, since analysis works on windows.
 */
#ifndef CB_HIST_H
#define CB_HIST_H

#include <stdint.h>
#include "canary_bpf.h"

/* [lower, upper) of bucket b, in microseconds. */
uint64_t cb_hist_lower(uint32_t b);
uint64_t cb_hist_upper(uint32_t b);

/*
 * The q-quantile (0 < q <= 1) in microseconds: the midpoint of the bucket
 * that holds the ceil(q * count)-th sample; 0 for an empty histogram.
 */
uint64_t cb_hist_percentile(const struct cb_hist *h, double q);

/* out = now - before, bucket by bucket (a counter reset reads as the new values). */
void cb_hist_delta(const struct cb_hist *now, const struct cb_hist *before, struct cb_hist *out);

#endif
