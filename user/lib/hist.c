// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "hist.h"

#include <math.h>
#include <string.h>

uint64_t cb_hist_lower(uint32_t b)
{
	uint32_t msb;

	if (b < CB_HIST_SUB)
		return b;
	msb = b / CB_HIST_SUB + 2;
	return (uint64_t)(CB_HIST_SUB + b % CB_HIST_SUB) << (msb - 3);
}

uint64_t cb_hist_upper(uint32_t b)
{
	if (b < CB_HIST_SUB)
		return b + 1;
	if (b >= CB_HIST_BUCKETS - 1)
		return UINT64_MAX;
	return cb_hist_lower(b + 1);
}

uint64_t cb_hist_percentile(const struct cb_hist *h, double q)
{
	uint64_t total = 0, rank, seen = 0;

	for (uint32_t b = 0; b < CB_HIST_BUCKETS; b++)
		total += h->bucket[b];
	if (total == 0 || q <= 0)
		return 0;
	if (q > 1)
		q = 1;
	rank = (uint64_t)ceil(q * (double)total);
	for (uint32_t b = 0; b < CB_HIST_BUCKETS; b++) {
		seen += h->bucket[b];
		if (seen >= rank) {
			uint64_t lo = cb_hist_lower(b), hi = cb_hist_upper(b);

			if (b < CB_HIST_SUB)
				return lo;              /* exact below 8 us */
			if (hi == UINT64_MAX)
				return lo;
			return lo + (hi - lo) / 2;
		}
	}
	return cb_hist_lower(CB_HIST_BUCKETS - 1);
}

void cb_hist_delta(const struct cb_hist *now, const struct cb_hist *before, struct cb_hist *out)
{
	int reset = now->count < before->count;

	memset(out, 0, sizeof(*out));
	for (uint32_t b = 0; b < CB_HIST_BUCKETS; b++) {
		out->bucket[b] = reset ? now->bucket[b] :
			now->bucket[b] >= before->bucket[b] ? now->bucket[b] - before->bucket[b] : 0;
		out->count += out->bucket[b];
	}
	out->sum_us = reset || now->sum_us < before->sum_us ? now->sum_us : now->sum_us - before->sum_us;
}
