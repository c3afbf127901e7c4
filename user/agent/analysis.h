/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Canary analysis: every interval the rollout agent compares the canary
 * track with the stable track over a window of counter deltas and decides,
 * per metric, pass, fail or inconclusive. A metric fails only on an absolute
 * limit from the configuration backed by a significant test, so a handful
 * of samples neither triggers nor hides a failure, while overwhelming
 * evidence (every canary connect refused) fails before min_samples.
 */
#ifndef CB_ANALYSIS_H
#define CB_ANALYSIS_H

#include <stdint.h>
#include "canary_bpf.h"

enum cb_verdict { CB_PASS = 0, CB_INCONCLUSIVE = 1, CB_FAIL = 2 };

enum cb_metric {
	CB_M_RESETS = 0,          /* resets_from_backend / connections */
	CB_M_CONNECT_FAILURES,    /* connect_failures / connections */
	CB_M_HTTP_5XX,            /* http[3] / (http[0]+http[1]+http[2]+http[3]) */
	CB_M_CONNECT_P99,         /* connect latency histogram, p99 ratio canary/stable */
	CB_M_TTFB_P99,            /* time-to-first-byte histogram, p99 ratio */
	CB_METRICS,
};

/* One track's counts over the analysis window (deltas, already subtracted by the caller). */
struct cb_window {
	uint64_t connections, resets_from_backend, connect_failures;
	uint64_t http[4];                /* 2xx, 3xx, 4xx, 5xx */
	struct cb_hist connect, ttfb;
};

struct cb_analysis_cfg {
	double max_reset_ratio, max_connect_failure_ratio, max_error_ratio; /* 0..1 */
	double max_latency_ratio;        /* >= 1 */
	uint64_t min_samples;            /* canary samples needed for PASS */
	double alpha;                    /* significance, 0.01 by default (also when outside (0, 1)) */
};

struct cb_metric_result {
	enum cb_verdict verdict;
	int applicable;                  /* 0: neither track has any sample (e.g. TTFB on a non-HTTP service): counts as PASS, shown as n/a */
	double canary, stable;           /* ratios (0..1), or p99 in microseconds */
	uint64_t canary_n, stable_n;     /* samples (denominators / histogram counts) */
	double p_value;                  /* of the test that decided; 1 when none ran */
};

struct cb_analysis {
	enum cb_verdict verdict;         /* FAIL if any metric fails, else INCONCLUSIVE if any applicable metric is, else PASS */
	struct cb_metric_result m[CB_METRICS];
	char reason[256];                /* the failing (or first inconclusive) metric with both tracks' figures; "" on PASS */
};

void cb_analyze(const struct cb_analysis_cfg *cfg, const struct cb_window *stable,
		const struct cb_window *canary, struct cb_analysis *out);
const char *cb_metric_name(enum cb_metric m);   /* "reset ratio", "connect failure ratio", "HTTP 5xx ratio", "connect p99", "TTFB p99" */
const char *cb_verdict_name(enum cb_verdict v); /* "pass", "inconclusive", "fail" */

/* Statistics, exported for tests. All return one-sided p-values in [0,1]. */
double cb_binom_tail(uint64_t x, uint64_t n, double p);          /* P(X >= x), X ~ Binomial(n, p) */
double cb_fisher_greater(uint64_t xc, uint64_t nc, uint64_t xs, uint64_t ns); /* H1: canary proportion xc/nc > stable xs/ns */
double cb_rank_greater(const struct cb_hist *canary, const struct cb_hist *stable); /* Mann-Whitney U on histogram buckets (ties within a bucket), H1: canary stochastically larger */

/*
 * Tail test behind the latency metrics (see cb_analyze): the canary has
 * significantly more than 1 % of its samples at or above `threshold_us`
 * (so its true p99 is above it), and significantly more of them there than
 * the stable track. Only whole buckets at or above the threshold count.
 */
double cb_tail_greater(const struct cb_hist *canary, const struct cb_hist *stable,
		       double threshold_us);

#endif
