// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Canary analysis: per-metric verdicts from two windows of counter deltas.
 *
 * A metric fails only with significant evidence that the canary is past
 * the configured limit AND worse than stable. For a ratio both are tested
 * (the limit alone would blame the canary for an outage both tracks share,
 * stable alone would fail a canary that is worse but within the limit). Latency is
 * tested against the limit as a margin over stable. Under a healthy canary
 * the tests have to fire by chance together, which is what keeps a check
 * run every second from rolling back good releases.
 */
#include "analysis.h"
#include "hist.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_ALPHA   0.01
/*
 * Latency needs a few samples in each track before it may fail: below ~8 the
 * normal approximation of U is crude and one cold-start connect is a large
 * share of the canary. Eight all-slow connects still fail at once (rank
 * p ~ 1e-6 against 80 stable samples), so the floor does not hide outages.
 */
#define LATENCY_FLOOR   8
/* Above this many hypergeometric terms Fisher's test becomes a z test. */
#define FISHER_TERMS    100000
#define CF_EPS          1e-15
#define CF_TINY         1e-300

static double lgam(double x)
{
	int sign;

	/* lgamma() writes the global signgam; the agent may analyze in threads */
	return lgamma_r(x, &sign);
}

static double clamp01(double p)
{
	if (isnan(p))           /* never claim significance by accident */
		return 1;
	return p < 0 ? 0 : p > 1 ? 1 : p;
}

/*
 * Continued fraction of the incomplete beta function (modified Lentz),
 * as in Numerical Recipes' betacf. Iterations grow as sqrt(max(a, b)) next
 * to the mean (~4000 for n = 1e9, p = 0.5; tens elsewhere), so the cap
 * scales with it instead of NR's fixed 100, which would truncate there.
 */
static double betacf(double a, double b, double x)
{
	double qab = a + b, qap = a + 1, qam = a - 1;
	double c = 1, d = 1 - qab * x / qap, h;
	long maxit = 1000 + 20 * (long)sqrt(a > b ? a : b);

	if (fabs(d) < CF_TINY)
		d = CF_TINY;
	d = 1 / d;
	h = d;
	for (long m = 1; m <= maxit; m++) {
		double m2 = 2.0 * (double)m, aa, del;

		aa = (double)m * (b - (double)m) * x / ((qam + m2) * (a + m2));
		d = 1 + aa * d;
		d = fabs(d) < CF_TINY ? 1 / CF_TINY : 1 / d;
		c = 1 + aa / c;
		if (fabs(c) < CF_TINY)
			c = CF_TINY;
		h *= d * c;
		aa = -(a + (double)m) * (qab + (double)m) * x / ((a + m2) * (qap + m2));
		d = 1 + aa * d;
		d = fabs(d) < CF_TINY ? 1 / CF_TINY : 1 / d;
		c = 1 + aa / c;
		if (fabs(c) < CF_TINY)
			c = CF_TINY;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < CF_EPS)
			break;
	}
	return h;
}

/* Regularized incomplete beta I_x(a, b), a, b > 0, 0 < x < 1. */
static double ibeta(double a, double b, double x)
{
	double lbt = lgam(a + b) - lgam(a) - lgam(b) + a * log(x) + b * log1p(-x);
	double bt = exp(lbt);

	/* the fraction converges fast only on this side of the mean */
	if (x < (a + 1) / (a + b + 2))
		return clamp01(bt * betacf(a, b, x) / a);
	return clamp01(1 - bt * betacf(b, a, 1 - x) / b);
}

double cb_binom_tail(uint64_t x, uint64_t n, double p)
{
	if (x == 0)
		return 1;
	if (x > n || p <= 0)
		return 0;
	if (p >= 1)
		return 1;
	return ibeta((double)x, (double)(n - x) + 1, p);
}

static double lchoose(double n, double k)
{
	return lgam(n + 1) - lgam(k + 1) - lgam(n - k + 1);
}

/*
 * P(X >= xc) for X hypergeometric (canary draws nc of N = nc + ns, with
 * K = xc + xs events among them), summed upwards in log space against the
 * running maximum so neither huge binomials nor tiny terms overflow. The
 * pmf is log-concave: past the mode the rest is bounded by a geometric
 * series, which ends the sum long before min(K, nc) in large tables.
 */
static double fisher_exact(uint64_t xc, uint64_t nc, uint64_t xs, uint64_t ns)
{
	uint64_t n = nc + ns, k = xc + xs, hi = k < nc ? k : nc;
	double lt = lchoose((double)k, (double)xc) + lchoose((double)(n - k), (double)(nc - xc)) -
		    lchoose((double)n, (double)nc);
	double top = lt, sum = 1;

	for (uint64_t i = xc; i < hi; i++) {
		double r = ((double)(k - i) * (double)(nc - i)) /
			   ((double)(i + 1) * (double)(n - k - nc + i + 1));
		double t;

		lt += log(r);
		if (lt > top) {
			sum = sum * exp(top - lt) + 1;
			top = lt;
			continue;
		}
		t = exp(lt - top);
		sum += t;
		if (r < 1 && t * r / (1 - r) < 1e-17 * sum)
			break;
	}
	return clamp01(exp(top + log(sum)));
}

/*
 * One-sided pooled two-proportion z test with Yates' correction, which
 * keeps it close to (slightly on the conservative side of) Fisher's test
 * where they meet: tables this large have hundreds of events on each side.
 */
static double prop_z(uint64_t xc, uint64_t nc, uint64_t xs, uint64_t ns)
{
	double pc = (double)xc / (double)nc, ps = (double)xs / (double)ns;
	double pool = (double)(xc + xs) / (double)(nc + ns);
	double inv = 1 / (double)nc + 1 / (double)ns;
	double se = sqrt(pool * (1 - pool) * inv);

	if (!(se > 0))
		return 1;
	return clamp01(0.5 * erfc((pc - ps - 0.5 * inv) / se / M_SQRT2));
}

double cb_fisher_greater(uint64_t xc, uint64_t nc, uint64_t xs, uint64_t ns)
{
	uint64_t k;

	if (xc > nc)
		xc = nc;
	if (xs > ns)
		xs = ns;
	if (nc == 0 || ns == 0 || xc == 0)
		return 1;
	k = xc + xs;
	if ((k < nc ? k : nc) <= FISHER_TERMS)
		return fisher_exact(xc, nc, xs, ns);
	return prop_z(xc, nc, xs, ns);
}

static uint64_t hist_total(const struct cb_hist *h)
{
	uint64_t n = 0;

	for (uint32_t b = 0; b < CB_HIST_BUCKETS; b++)
		n += h->bucket[b];
	return n;
}

/*
 * Samples in one bucket are ties: each canary sample scores the stable ones
 * in lower buckets plus half of those in its own. Doubles throughout, since
 * n_c * n_s and the cubes of tie groups overflow 64 bits at large counts.
 */
double cb_rank_greater(const struct cb_hist *canary, const struct cb_hist *stable)
{
	double nc = (double)hist_total(canary), ns = (double)hist_total(stable);
	double u = 0, below = 0, ties = 0, n = nc + ns, var;

	if (nc == 0 || ns == 0)
		return 1;
	for (uint32_t b = 0; b < CB_HIST_BUCKETS; b++) {
		double c = (double)canary->bucket[b], s = (double)stable->bucket[b], t = c + s;

		u += c * (below + s / 2);
		below += s;
		ties += (t - 1) * t * (t + 1);
	}
	var = nc * ns / 12 * ((n + 1) - ties / (n * (n - 1)));
	/* everything in one bucket: the histograms cannot order the tracks */
	if (!(var > 0))
		return 1;
	return clamp01(0.5 * erfc((u - nc * ns / 2 - 0.5) / sqrt(var) / M_SQRT2));
}

static uint64_t hist_at_or_above(const struct cb_hist *h, double us)
{
	uint64_t n = 0;

	for (uint32_t b = 0; b < CB_HIST_BUCKETS; b++)
		if ((double)cb_hist_lower(b) >= us)
			n += h->bucket[b];
	return n;
}

/*
 * An intersection-union test: both parts must reject, so its p-value is the
 * larger one. Against 1 % alone a stable p99 read off a small sample (often
 * its maximum) would make an identical canary look slow; against stable
 * alone a canary would fail for matching stable's tail above the threshold.
 */
double cb_tail_greater(const struct cb_hist *canary, const struct cb_hist *stable,
		       double threshold_us)
{
	uint64_t nc = hist_total(canary), ns = hist_total(stable);
	uint64_t xc = hist_at_or_above(canary, threshold_us), xs = hist_at_or_above(stable, threshold_us);
	double p_level, p_track;

	if (nc == 0 || ns == 0)
		return 1;
	p_level = cb_binom_tail(xc, nc, 0.01);
	p_track = cb_fisher_greater(xc, nc, xs, ns);
	return p_level > p_track ? p_level : p_track;
}

const char *cb_metric_name(enum cb_metric m)
{
	static const char *const names[CB_METRICS] = {
		[CB_M_RESETS] = "reset ratio",
		[CB_M_CONNECT_FAILURES] = "connect failure ratio",
		[CB_M_HTTP_5XX] = "HTTP 5xx ratio",
		[CB_M_CONNECT_P99] = "connect p99",
		[CB_M_TTFB_P99] = "TTFB p99",
	};

	return (unsigned int)m < CB_METRICS ? names[m] : "?";
}

const char *cb_verdict_name(enum cb_verdict v)
{
	switch (v) {
	case CB_PASS:
		return "pass";
	case CB_INCONCLUSIVE:
		return "inconclusive";
	case CB_FAIL:
		return "fail";
	}
	return "?";
}

static int is_latency(enum cb_metric m)
{
	return m == CB_M_CONNECT_P99 || m == CB_M_TTFB_P99;
}

/*
 * x of n for a ratio metric. A reset or failed connect counted in this
 * window may belong to a flow opened in the previous one, so x can exceed
 * n; the ratio is capped at 1 rather than read as a sample we never saw.
 */
static void ratio_counts(const struct cb_window *w, enum cb_metric m, uint64_t *x, uint64_t *n)
{
	switch (m) {
	case CB_M_RESETS:
		*x = w->resets_from_backend;
		*n = w->connections;
		break;
	case CB_M_CONNECT_FAILURES:
		*x = w->connect_failures;
		*n = w->connections;
		break;
	default:
		*x = w->http[3];
		*n = w->http[0] + w->http[1] + w->http[2] + w->http[3];
		break;
	}
	if (*x > *n)
		*x = *n;
}

static double ratio_limit(const struct cb_analysis_cfg *cfg, enum cb_metric m)
{
	switch (m) {
	case CB_M_RESETS:
		return cfg->max_reset_ratio;
	case CB_M_CONNECT_FAILURES:
		return cfg->max_connect_failure_ratio;
	default:
		return cfg->max_error_ratio;
	}
}

static const struct cb_hist *metric_hist(const struct cb_window *w, enum cb_metric m)
{
	return m == CB_M_CONNECT_P99 ? &w->connect : &w->ttfb;
}

static double alpha_of(const struct cb_analysis_cfg *cfg)
{
	return cfg->alpha > 0 && cfg->alpha < 1 ? cfg->alpha : DEFAULT_ALPHA;
}

/*
 * Above the limit with significance (the overwhelming-evidence path: it
 * ignores min_samples) and significantly worse than stable.
 */
static void analyze_ratio(const struct cb_analysis_cfg *cfg, enum cb_metric m,
			  const struct cb_window *stable, const struct cb_window *canary,
			  struct cb_metric_result *r)
{
	uint64_t xc, nc, xs, ns;
	double limit = ratio_limit(cfg, m), p;

	ratio_counts(canary, m, &xc, &nc);
	ratio_counts(stable, m, &xs, &ns);
	r->canary_n = nc;
	r->stable_n = ns;
	r->canary = nc ? (double)xc / (double)nc : 0;
	r->stable = ns ? (double)xs / (double)ns : 0;
	r->applicable = nc + ns > 0;
	if (!r->applicable)
		return;
	if (nc) {
		p = cb_binom_tail(xc, nc, limit);
		if (ns) {
			double pf = cb_fisher_greater(xc, nc, xs, ns);

			p = p > pf ? p : pf;
		}
		r->p_value = p;
		if (r->canary > limit && p < alpha_of(cfg)) {
			r->verdict = CB_FAIL;
			return;
		}
	}
	r->verdict = nc >= cfg->min_samples ? CB_PASS : CB_INCONCLUSIVE;
}

/*
 * Canary samples divided by `factor`, re-bucketed by their bucket's midpoint
 * (a bucket below 8 us is its value). Midpoints stay in their own bucket,
 * so a factor of 1 is the identity.
 */
static void hist_scaled(const struct cb_hist *h, double factor, struct cb_hist *out)
{
	memset(out, 0, sizeof(*out));
	for (uint32_t b = 0; b < CB_HIST_BUCKETS; b++) {
		uint64_t lo = cb_hist_lower(b), hi = cb_hist_upper(b);
		double mid = b < CB_HIST_SUB || hi == UINT64_MAX ? (double)lo : (double)(lo + (hi - lo) / 2);

		out->bucket[cb_hist_bucket((uint64_t)(mid / factor))] += h->bucket[b];
	}
	out->count = h->count;
	out->sum_us = (uint64_t)((double)h->sum_us / factor);
}

/*
 * Evidence for "canary latency > limit x stable", not merely "canary slower
 * than stable":
 *  - the rank test runs on the canary divided by the limit (a margin, as in
 *    non-inferiority tests). Against stable itself it fires at rate alpha on
 *    a healthy canary, and with the p99 ratio of a few dozen samples (their
 *    maximum) above the limit by chance often enough, that was one false
 *    rollback in ~700 windows in the simulation; with the margin none. For
 *    a limit of 1 it is the plain test.
 *  - the rank test is blind to a regression in the tail only (5 % of
 *    connects waiting for a SYN retransmit moves p99 1000x and U hardly at
 *    all); the tail test at limit x stable p99 sees it.
 * Either may decide, each at alpha / 2 (Bonferroni), so the two together
 * still fail a canary exactly at the limit with probability below alpha.
 */
static double latency_p(const struct cb_hist *hc, const struct cb_hist *hs, double limit, double p99s)
{
	struct cb_hist scaled;
	double p_rank, p_tail, p;

	hist_scaled(hc, limit > 1 ? limit : 1, &scaled);
	p_rank = cb_rank_greater(&scaled, hs);
	p_tail = cb_tail_greater(hc, hs, limit * p99s);
	p = 2 * (p_rank < p_tail ? p_rank : p_tail);
	return p > 1 ? 1 : p;
}

/*
 * A p99 that grows by less than this is scheduling noise on a busy node (a
 * canary p99 of 3 ms against 0.15 ms was seen on a loaded 2-core lab), not a
 * release regression: a latency failure needs the ratio and this gap.
 */
#define LATENCY_MIN_GAP_US 5000.0

static void analyze_latency(const struct cb_analysis_cfg *cfg, enum cb_metric m,
			    const struct cb_window *stable, const struct cb_window *canary,
			    struct cb_metric_result *r)
{
	const struct cb_hist *hc = metric_hist(canary, m), *hs = metric_hist(stable, m);
	double limit = cfg->max_latency_ratio;

	r->canary_n = hc->count;
	r->stable_n = hs->count;
	r->canary = (double)cb_hist_percentile(hc, 0.99);
	r->stable = (double)cb_hist_percentile(hs, 0.99);
	r->applicable = hc->count + hs->count > 0;
	if (!r->applicable)
		return;
	if (hc->count >= LATENCY_FLOOR && hs->count >= LATENCY_FLOOR) {
		r->p_value = latency_p(hc, hs, limit, r->stable);
		/* a stable p99 under 1 us is a bucket of its own, not a zero */
		if (r->canary > limit * fmax(r->stable, 1) && r->canary - r->stable >= LATENCY_MIN_GAP_US &&
		    r->p_value < alpha_of(cfg)) {
			r->verdict = CB_FAIL;
			return;
		}
	}
	if (hc->count >= cfg->min_samples && (hs->count >= cfg->min_samples || hs->count == 0))
		r->verdict = CB_PASS;
	else
		r->verdict = CB_INCONCLUSIVE;
}

static void fmt_us(char *buf, size_t len, double us)
{
	if (us < 1000)
		snprintf(buf, len, "%.0fus", us);
	else if (us < 1e6)
		snprintf(buf, len, "%.1fms", us / 1e3);
	else
		snprintf(buf, len, "%.2fs", us / 1e6);
}

static void reason_ratio(char *buf, size_t len, const struct cb_analysis_cfg *cfg, enum cb_metric m,
			 const struct cb_window *stable, const struct cb_window *canary,
			 const struct cb_metric_result *r)
{
	uint64_t xc, nc, xs, ns;

	ratio_counts(canary, m, &xc, &nc);
	ratio_counts(stable, m, &xs, &ns);
	snprintf(buf, len, "%s: canary %.2f%% (%llu/%llu) vs stable %.2f%% (%llu/%llu), limit %.2f%%, p=%.1g",
		 cb_metric_name(m), r->canary * 100, (unsigned long long)xc, (unsigned long long)nc,
		 r->stable * 100, (unsigned long long)xs, (unsigned long long)ns,
		 ratio_limit(cfg, m) * 100, r->p_value);
}

static void reason_latency(char *buf, size_t len, const struct cb_analysis_cfg *cfg, enum cb_metric m,
			   const struct cb_metric_result *r)
{
	char c[32], s[32];

	fmt_us(c, sizeof(c), r->canary);
	fmt_us(s, sizeof(s), r->stable);
	snprintf(buf, len, "%s: canary %s vs stable %s (x%.1f, limit x%.1f), p=%.1g", cb_metric_name(m),
		 c, s, r->canary / fmax(r->stable, 1), cfg->max_latency_ratio, r->p_value);
}

static void reason_short(char *buf, size_t len, const struct cb_analysis_cfg *cfg, enum cb_metric m,
			 const struct cb_metric_result *r)
{
	int canary_short = r->canary_n < cfg->min_samples;

	snprintf(buf, len, "%s: %s %llu samples, needs %llu", cb_metric_name(m),
		 canary_short ? "canary" : "stable",
		 (unsigned long long)(canary_short ? r->canary_n : r->stable_n),
		 (unsigned long long)cfg->min_samples);
}

static void reason(char *buf, size_t len, const struct cb_analysis_cfg *cfg, enum cb_metric m,
		   const struct cb_window *stable, const struct cb_window *canary,
		   const struct cb_metric_result *r)
{
	if (r->verdict == CB_INCONCLUSIVE)
		reason_short(buf, len, cfg, m, r);
	else if (is_latency(m))
		reason_latency(buf, len, cfg, m, r);
	else
		reason_ratio(buf, len, cfg, m, stable, canary, r);
}

/*
 * Clients that keep their connections open make few new ones: the metrics
 * of connections (resets, failed connects, connect p99) then lack samples
 * for good. When the requests on them answer for the canary (its 5xx ratio
 * passed on min_samples responses, and TTFB is not in doubt), those
 * metrics being short of samples does not hold the step; any of them
 * failing still fails it. Without HTTP/1.x there are no requests to count.
 */
static int by_requests(const struct cb_analysis_cfg *cfg, const struct cb_analysis *out)
{
	static const enum cb_metric conn_metrics[] = { CB_M_RESETS, CB_M_CONNECT_FAILURES,
						       CB_M_CONNECT_P99 };
	const struct cb_metric_result *http = &out->m[CB_M_HTTP_5XX];

	if (!http->applicable || http->verdict != CB_PASS || http->canary_n < cfg->min_samples ||
	    out->m[CB_M_TTFB_P99].verdict == CB_INCONCLUSIVE)
		return 0;
	for (int i = 0; i < CB_METRICS; i++) {
		int conn = 0;

		for (size_t k = 0; k < sizeof(conn_metrics) / sizeof(conn_metrics[0]); k++)
			conn |= (int)conn_metrics[k] == i;
		if (out->m[i].verdict == CB_INCONCLUSIVE && !conn)
			return 0;
	}
	return 1;
}

void cb_analyze(const struct cb_analysis_cfg *cfg, const struct cb_window *stable,
		const struct cb_window *canary, struct cb_analysis *out)
{
	int first[CB_FAIL + 1] = { -1, -1, -1 };

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < CB_METRICS; i++) {
		struct cb_metric_result *r = &out->m[i];

		r->verdict = CB_PASS;
		r->p_value = 1;
		if (is_latency(i))
			analyze_latency(cfg, i, stable, canary, r);
		else
			analyze_ratio(cfg, i, stable, canary, r);
		if (first[r->verdict] < 0)
			first[r->verdict] = i;
	}
	if (first[CB_FAIL] < 0 && by_requests(cfg, out))
		first[CB_INCONCLUSIVE] = -1;
	if (first[CB_FAIL] >= 0)
		out->verdict = CB_FAIL;
	else if (first[CB_INCONCLUSIVE] >= 0)
		out->verdict = CB_INCONCLUSIVE;
	else
		return;
	reason(out->reason, sizeof(out->reason), cfg, first[out->verdict], stable, canary,
	       &out->m[first[out->verdict]]);
}
