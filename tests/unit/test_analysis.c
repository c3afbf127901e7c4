// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Canary analysis (user/agent/analysis.c): the statistics against reference
 * values (mpmath, R), the decision rules on hand-made windows, and seeded
 * simulations for the false-positive rate and the power.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "analysis.h"
#include "hist.h"

static void assert_rel(double got, double want, double tol)
{
	if (fabs(got - want) > tol * fabs(want))
		fail_msg("got %.10g, want %.10g (rel tol %g)", got, want, tol);
}

static void test_binom_tail(void **state)
{
	(void)state;
	assert_rel(cb_binom_tail(5, 100, 0.01), 0.0034323215877545, 1e-9);
	assert_rel(cb_binom_tail(1, 1, 0.3), 0.3, 1e-12);
	assert_rel(cb_binom_tail(10, 10, 0.5), 1.0 / 1024, 1e-12);
	assert_rel(cb_binom_tail(3, 20, 0.1), 0.32307319481053, 1e-9);
	assert_true(cb_binom_tail(0, 100, 0.01) == 1);
	assert_true(cb_binom_tail(0, 0, 0.5) == 1);
	assert_true(cb_binom_tail(101, 100, 0.99) == 0);
	assert_true(cb_binom_tail(1, 100, 0) == 0);
	/* both sides of the mean, where the fraction is evaluated differently */
	assert_rel(cb_binom_tail(1, 100, 0.01), 1 - pow(0.99, 100), 1e-12);
	assert_rel(cb_binom_tail(2, 100, 0.01), 0.26423802107704, 1e-9);
	/* n = 1e9 (mpmath, 30 digits): 3 sd above the mean, above it, Poisson(1) */
	assert_rel(cb_binom_tail(10009439, 1000000000, 0.01), 0.00135283845784778, 1e-5);
	assert_rel(cb_binom_tail(500040000, 1000000000, 0.5), 0.00570653243727019, 1e-5);
	assert_rel(cb_binom_tail(5, 1000000000, 1e-9), 0.00365984680435125, 1e-5);
	assert_rel(cb_binom_tail(9990000, 1000000000, 0.01), 0.99926067218425, 1e-6);
}

static void test_fisher_greater(void **state)
{
	double exact, z;

	(void)state;
	/* the lady tasting tea: 3 of 4 cups right vs 1 of 4, p = 17/70 */
	assert_rel(cb_fisher_greater(3, 4, 1, 4), 17.0 / 70, 1e-9);
	/* everything on the canary: 1 / C(105, 5) */
	assert_rel(cb_fisher_greater(5, 5, 0, 100), 1.0 / 96560646, 1e-7);
	/* five events in two equal huge tracks, all on the canary: ~1/32 */
	assert_rel(cb_fisher_greater(5, 1000000000, 0, 1000000000), 1.0 / 32, 1e-5);
	/* no difference, or canary better: nothing to see */
	assert_true(cb_fisher_greater(10, 1000, 100, 10000) > 0.4);
	assert_true(cb_fisher_greater(1, 1000, 100, 10000) > 0.99);
	assert_true(cb_fisher_greater(0, 1000, 100, 10000) == 1);
	assert_true(cb_fisher_greater(5, 5, 0, 0) == 1);
	/* exact below 100000 terms, z test above: they agree where they meet */
	exact = cb_fisher_greater(50359, 1000000, 49640, 1000000);
	z = cb_fisher_greater(50360, 1000000, 49641, 1000000);
	print_message("      exact %.6g, z test %.6g\n", exact, z);
	assert_true(exact > 0.008 && exact < 0.012);
	assert_rel(z, exact, 0.05);
	/* no NaN, no overflow at 1e9 */
	/* 0.01 % apart at 1e9 each: z = 4.47 */
	assert_rel(cb_fisher_greater(500100000, 1000000000, 500000000, 1000000000), 3.8729182876e-6, 1e-4);
	assert_true(cb_fisher_greater(1000000000, 1000000000, 1000000000, 1000000000) == 1);
	z = cb_fisher_greater(500000000, 1000000000, 500000000, 1000000000);
	assert_true(z > 0.4 && z <= 1);
	/* more events than samples (window edges) reads as all of them */
	assert_rel(cb_fisher_greater(9, 5, 0, 100), 1.0 / 96560646, 1e-7);
}

static void add(struct cb_hist *h, uint64_t us, uint64_t n)
{
	h->bucket[cb_hist_bucket(us)] += n;
	h->count += n;
	h->sum_us += us * n;
}

/* xorshift64*: the simulations must give the same windows on every run */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static double uniform(void)
{
	return ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0;
}

static double lognormal(double median, double sigma)
{
	double z = sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());

	return median * exp(sigma * z);
}

static uint64_t binomial(uint64_t n, double p)
{
	uint64_t x = 0;

	for (uint64_t i = 0; i < n; i++)
		x += uniform() < p;
	return x;
}

static void fill_lognormal(struct cb_hist *h, uint64_t n, double median, double sigma)
{
	for (uint64_t i = 0; i < n; i++)
		add(h, (uint64_t)lognormal(median, sigma), 1);
}

static void test_rank_greater(void **state)
{
	static struct cb_hist a, b, c;
	double p;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	rng_state = 42;
	fill_lognormal(&a, 500, 2000, 0.5);
	b = a;
	p = cb_rank_greater(&a, &b);
	print_message("      identical: p = %.3g\n", p);
	assert_true(p > 0.45 && p < 0.6);
	/* same distribution, independent samples */
	fill_lognormal(&c, 5000, 2000, 0.5);
	p = cb_rank_greater(&a, &c);
	assert_true(p > 0.01 && p < 0.99);
	/* canary twice as slow */
	memset(&b, 0, sizeof(b));
	fill_lognormal(&b, 500, 4000, 0.5);
	p = cb_rank_greater(&b, &c);
	print_message("      2x slower: p = %.3g\n", p);
	assert_true(p < 1e-12);
	/* canary twice as fast */
	assert_true(cb_rank_greater(&a, &b) > 0.999);
	/* one bucket holds everything: no order; an empty track: no test */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	add(&a, 1000, 50);
	add(&b, 1000, 500);
	assert_true(cb_rank_greater(&a, &b) == 1);
	memset(&a, 0, sizeof(a));
	assert_true(cb_rank_greater(&a, &b) == 1);
	assert_true(cb_rank_greater(&b, &a) == 1);
	/* no ties: 5 canary above 50 stable, U = 250, z = (250 - 125 - 0.5) / sqrt(1166.7) */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	for (uint32_t k = 0; k < 50; k++)
		add(&b, cb_hist_lower(10 + k), 1);
	for (uint32_t k = 0; k < 5; k++)
		add(&a, cb_hist_lower(100 + k), 1);
	assert_rel(cb_rank_greater(&a, &b), 1.337027774379e-4, 1e-6);
	/* the same in two buckets: ties shrink the variance, the evidence is stronger */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	add(&a, 9000, 5);
	add(&b, 1000, 50);
	assert_true(cb_rank_greater(&a, &b) < 1e-6);
}

static const struct cb_analysis_cfg cfg = {
	.max_reset_ratio = 0.01,
	.max_connect_failure_ratio = 0.01,
	.max_error_ratio = 0.01,
	.max_latency_ratio = 1.5,
	.min_samples = 20,
	.alpha = 0.01,
};

static struct cb_window stable, canary;
static struct cb_analysis res;

/* A healthy TCP track: n connects around `median_us`, no failures, no HTTP. */
static void tcp_track(struct cb_window *w, uint64_t n, double median_us)
{
	memset(w, 0, sizeof(*w));
	w->connections = n;
	fill_lognormal(&w->connect, n, median_us, 0.3);
}

/* An HTTP track: n requests, `errors` of them 5xx, TTFB around 20 ms. */
static void http_track(struct cb_window *w, uint64_t n, uint64_t errors)
{
	tcp_track(w, n, 2000);
	w->http[0] = n - errors;
	w->http[3] = errors;
	fill_lognormal(&w->ttfb, n, 20000, 0.5);
}

static void test_total_failure_is_immediate(void **state)
{
	const struct cb_metric_result *r = &res.m[CB_M_CONNECT_FAILURES];

	(void)state;
	rng_state = 1;
	tcp_track(&stable, 200, 2000);
	memset(&canary, 0, sizeof(canary));
	canary.connections = 5;
	canary.connect_failures = 5;
	cb_analyze(&cfg, &stable, &canary, &res);
	print_message("      %s\n", res.reason);
	assert_int_equal(res.verdict, CB_FAIL);
	assert_int_equal(r->verdict, CB_FAIL);
	assert_true(r->canary == 1 && r->stable == 0);
	assert_true(r->canary_n == 5 && r->stable_n == 200);
	assert_true(r->p_value < 1e-8);
	assert_non_null(strstr(res.reason, "connect failure ratio: canary 100.00% (5/5) vs stable 0.00% (0/200)"));
	/* one failed connect of one is no evidence yet */
	canary.connections = 1;
	canary.connect_failures = 1;
	cb_analyze(&cfg, &stable, &canary, &res);
	assert_int_equal(r->verdict, CB_INCONCLUSIVE);
	assert_int_equal(res.verdict, CB_INCONCLUSIVE);
}

static void test_error_ratio(void **state)
{
	const struct cb_metric_result *r = &res.m[CB_M_HTTP_5XX];
	struct cb_analysis_cfg loose = cfg;

	(void)state;
	rng_state = 2;
	/* 5 % vs 0.1 % at 300 requests */
	http_track(&stable, 3000, 3);
	http_track(&canary, 300, 15);
	cb_analyze(&cfg, &stable, &canary, &res);
	print_message("      %s\n", res.reason);
	assert_int_equal(r->verdict, CB_FAIL);
	assert_int_equal(res.verdict, CB_FAIL);
	assert_true(r->p_value < 0.01);
	assert_non_null(strstr(res.reason, "HTTP 5xx ratio: canary 5.00% (15/300) vs stable 0.10% (3/3000), limit 1.00%, p="));
	/* the other metrics are fine and say so */
	assert_int_equal(res.m[CB_M_RESETS].verdict, CB_PASS);
	assert_int_equal(res.m[CB_M_CONNECT_P99].verdict, CB_PASS);
	assert_int_equal(res.m[CB_M_TTFB_P99].verdict, CB_PASS);
	/* 1 error in 20 is 5 % too, but could be bad luck at 0.1 % */
	http_track(&canary, 20, 1);
	cb_analyze(&cfg, &stable, &canary, &res);
	assert_int_equal(r->verdict, CB_PASS);
	assert_int_equal(res.verdict, CB_PASS);
	assert_string_equal(res.reason, "");
	/* even against a spotless stable, where Fisher alone would call it */
	http_track(&stable, 3000, 0);
	cb_analyze(&cfg, &stable, &canary, &res);
	assert_true(cb_fisher_greater(1, 20, 0, 3000) < cfg.alpha);
	assert_int_equal(r->verdict, CB_PASS);
	/* a shared outage (10 % on both) is not the canary's fault */
	http_track(&stable, 10000, 1000);
	http_track(&canary, 1000, 100);
	cb_analyze(&cfg, &stable, &canary, &res);
	assert_int_not_equal(r->verdict, CB_FAIL);
	assert_true(cb_binom_tail(100, 1000, 0.01) < 1e-12);
	/* worse than stable but within the limit */
	http_track(&stable, 10000, 1);
	http_track(&canary, 1000, 8);
	cb_analyze(&cfg, &stable, &canary, &res);
	assert_true(cb_fisher_greater(8, 1000, 1, 10000) < 1e-4);
	assert_int_equal(r->verdict, CB_PASS);
	/* below the limit is never a failure, even at a lax alpha */
	loose.alpha = 0.9;
	http_track(&canary, 1000, 9);
	cb_analyze(&loose, &stable, &canary, &res);
	assert_true(cb_binom_tail(9, 1000, 0.01) < loose.alpha);
	assert_int_equal(r->verdict, CB_PASS);
	/* an unset alpha is the default, not "never significant" */
	loose.alpha = 0;
	http_track(&canary, 300, 15);
	cb_analyze(&loose, &stable, &canary, &res);
	assert_int_equal(r->verdict, CB_FAIL);
	loose.alpha = 0.001;
	cb_analyze(&loose, &stable, &canary, &res);
	assert_int_equal(r->verdict, CB_FAIL);
	loose.alpha = 1e-9;
	cb_analyze(&loose, &stable, &canary, &res);
	assert_int_equal(r->verdict, CB_PASS);
}

static void test_few_samples_inconclusive(void **state)
{
	(void)state;
	rng_state = 3;
	http_track(&stable, 1000, 1);
	http_track(&canary, 3, 0);
	cb_analyze(&cfg, &stable, &canary, &res);
	assert_int_equal(res.verdict, CB_INCONCLUSIVE);
	for (int i = 0; i < CB_METRICS; i++) {
		assert_int_equal(res.m[i].verdict, CB_INCONCLUSIVE);
		assert_true(res.m[i].applicable);
	}
	assert_string_equal(res.reason, "reset ratio: canary 3 samples, needs 20");
	/* the canary has enough, stable not yet: latency cannot be compared */
	http_track(&stable, 5, 0);
	http_track(&canary, 50, 0);
	cb_analyze(&cfg, &stable, &canary, &res);
	assert_int_equal(res.m[CB_M_HTTP_5XX].verdict, CB_PASS);
	assert_int_equal(res.m[CB_M_CONNECT_P99].verdict, CB_INCONCLUSIVE);
	assert_string_equal(res.reason, "connect p99: stable 5 samples, needs 20");
	/* stable has no traffic at all: nothing to compare, the canary passes alone */
	memset(&stable, 0, sizeof(stable));
	cb_analyze(&cfg, &stable, &canary, &res);
	assert_int_equal(res.verdict, CB_PASS);
}

/* Keep-alive clients (issue 17): 5 new connections carrying 500 requests. */
static void test_keepalive_judged_by_requests(void **state)
{
	(void)state;
	rng_state = 5;
	http_track(&stable, 5000, 2);
	http_track(&canary, 500, 0);
	canary.connections = 5;
	memset(&canary.connect, 0, sizeof(canary.connect));
	fill_lognormal(&canary.connect, 5, 2000, 0.3);
	cb_analyze(&cfg, &stable, &canary, &res);
	assert_int_equal(res.m[CB_M_RESETS].verdict, CB_INCONCLUSIVE);
	assert_int_equal(res.m[CB_M_HTTP_5XX].verdict, CB_PASS);
	assert_int_equal(res.verdict, CB_PASS);
	/* The requests fail: still a failure. */
	canary.http[0] = 250;
	canary.http[3] = 250;
	cb_analyze(&cfg, &stable, &canary, &res);
	assert_int_equal(res.verdict, CB_FAIL);
	/* Resets on those few connections: still a failure. */
	canary.http[0] = 500;
	canary.http[3] = 0;
	canary.resets_from_backend = 5;
	cb_analyze(&cfg, &stable, &canary, &res);
	assert_int_equal(res.verdict, CB_FAIL);
	/* No HTTP: nothing answers for the canary, the step holds. */
	tcp_track(&stable, 5000, 2000);
	tcp_track(&canary, 5, 2000);
	cb_analyze(&cfg, &stable, &canary, &res);
	assert_int_equal(res.verdict, CB_INCONCLUSIVE);
}

static void test_no_http_not_applicable(void **state)
{
	(void)state;
	rng_state = 4;
	tcp_track(&stable, 2000, 2000);
	tcp_track(&canary, 200, 2000);
	cb_analyze(&cfg, &stable, &canary, &res);
	assert_int_equal(res.verdict, CB_PASS);
	assert_string_equal(res.reason, "");
	assert_false(res.m[CB_M_HTTP_5XX].applicable);
	assert_false(res.m[CB_M_TTFB_P99].applicable);
	assert_int_equal(res.m[CB_M_TTFB_P99].verdict, CB_PASS);
	assert_true(res.m[CB_M_TTFB_P99].p_value == 1);
	assert_true(res.m[CB_M_CONNECT_P99].applicable);
	assert_true(res.m[CB_M_RESETS].applicable);
	/* nothing at all: nothing to hold the rollout for */
	memset(&stable, 0, sizeof(stable));
	memset(&canary, 0, sizeof(canary));
	cb_analyze(&cfg, &stable, &canary, &res);
	assert_int_equal(res.verdict, CB_PASS);
	for (int i = 0; i < CB_METRICS; i++)
		assert_false(res.m[i].applicable);
}

static void test_latency(void **state)
{
	const struct cb_metric_result *r = &res.m[CB_M_CONNECT_P99];

	(void)state;
	rng_state = 5;
	/* every canary connect 5x slower */
	tcp_track(&stable, 2000, 2000);
	tcp_track(&canary, 30, 10000);
	cb_analyze(&cfg, &stable, &canary, &res);
	print_message("      %s\n", res.reason);
	assert_int_equal(r->verdict, CB_FAIL);
	assert_true(r->canary > 1.5 * r->stable);
	assert_true(r->canary_n == 30 && r->stable_n == 2000);
	assert_non_null(strstr(res.reason, "connect p99: canary "));
	assert_non_null(strstr(res.reason, "ms vs stable "));
	assert_non_null(strstr(res.reason, "limit x1.5), p="));
	/* eight are enough when all of them are 100x slower */
	tcp_track(&canary, 8, 200000);
	cb_analyze(&cfg, &stable, &canary, &res);
	assert_int_equal(r->verdict, CB_FAIL);
	/* 20 % slower is within the 1.5x limit however significant */
	tcp_track(&canary, 2000, 2400);
	cb_analyze(&cfg, &stable, &canary, &res);
	assert_true(cb_rank_greater(&canary.connect, &stable.connect) < 1e-12);
	assert_int_equal(r->verdict, CB_PASS);
}

/*
 * 5 % of canary connects wait for a SYN retransmit (1 s): p99 goes from
 * ~4 ms to 1 s while the rank test hardly moves; the tail test catches it.
 */
static void test_latency_tail_regression(void **state)
{
	const struct cb_metric_result *r = &res.m[CB_M_CONNECT_P99];
	double p_rank;

	(void)state;
	rng_state = 6;
	tcp_track(&stable, 3000, 2000);
	tcp_track(&canary, 285, 2000);
	fill_lognormal(&canary.connect, 15, 1000000, 0.1);
	canary.connections = 300;
	p_rank = cb_rank_greater(&canary.connect, &stable.connect);
	cb_analyze(&cfg, &stable, &canary, &res);
	print_message("      rank p = %.3g; %s\n", p_rank, res.reason);
	assert_true(p_rank > cfg.alpha);
	assert_int_equal(r->verdict, CB_FAIL);
	assert_true(r->canary > 500000);
	assert_true(cb_tail_greater(&canary.connect, &stable.connect, 1.5 * r->stable) < 1e-6);
	/* the same tail on stable is not the canary's doing */
	fill_lognormal(&stable.connect, 150, 1000000, 0.1);
	assert_true(cb_tail_greater(&canary.connect, &stable.connect, 1.5 * r->stable) > 0.1);
	stable.connect = canary.connect;
	assert_true(cb_tail_greater(&canary.connect, &stable.connect, 1.5 * r->stable) > 0.5);
	/* a single slow connect among 300 is what p99 allows */
	tcp_track(&stable, 3000, 2000);
	tcp_track(&canary, 299, 2000);
	fill_lognormal(&canary.connect, 1, 1000000, 0.1);
	cb_analyze(&cfg, &stable, &canary, &res);
	assert_int_equal(r->verdict, CB_PASS);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(cb_metric_name(CB_M_RESETS), "reset ratio");
	assert_string_equal(cb_metric_name(CB_M_CONNECT_FAILURES), "connect failure ratio");
	assert_string_equal(cb_metric_name(CB_M_HTTP_5XX), "HTTP 5xx ratio");
	assert_string_equal(cb_metric_name(CB_M_CONNECT_P99), "connect p99");
	assert_string_equal(cb_metric_name(CB_M_TTFB_P99), "TTFB p99");
	assert_string_equal(cb_verdict_name(CB_PASS), "pass");
	assert_string_equal(cb_verdict_name(CB_INCONCLUSIVE), "inconclusive");
	assert_string_equal(cb_verdict_name(CB_FAIL), "fail");
}

/* Both tracks of one window drawn from the same process, except the canary's 5xx rate and latency. */
static double sim_slowdown;

static void sim_track(struct cb_window *w, uint64_t n, double error_rate, double slowdown)
{
	memset(w, 0, sizeof(*w));
	w->connections = n;
	w->resets_from_backend = binomial(n, 0.001);
	w->connect_failures = binomial(n, 0.001);
	w->http[3] = binomial(n, error_rate);
	w->http[0] = n - w->http[3];
	fill_lognormal(&w->connect, n - w->connect_failures, 2000 * slowdown, 0.5);
	fill_lognormal(&w->ttfb, n, 30000 * slowdown, 1.0);
}

/* Canary sizes log-uniform in [lo, hi], stable 10x; returns the windows that failed. */
static int simulate(int windows, uint64_t lo, uint64_t hi, double canary_errors, int *per_metric)
{
	int failed = 0;

	for (int i = 0; i < windows; i++) {
		uint64_t nc = (uint64_t)((double)lo * pow((double)hi / (double)lo, uniform()));

		sim_track(&stable, 10 * nc, 0.001, 1);
		sim_track(&canary, nc, canary_errors, sim_slowdown);
		cb_analyze(&cfg, &stable, &canary, &res);
		failed += res.verdict == CB_FAIL;
		for (int m = 0; m < CB_METRICS; m++)
			per_metric[m] += res.m[m].verdict == CB_FAIL;
	}
	return failed;
}

static void test_healthy_canary_does_not_fail(void **state)
{
	int per_metric[CB_METRICS] = { 0 }, failed;

	(void)state;
	rng_state = 0x5eed;
	sim_slowdown = 1;
	failed = simulate(2000, 20, 2000, 0.001, per_metric);
	print_message("      %d of 2000 healthy windows failed (resets %d, connect failures %d, 5xx %d, connect p99 %d, TTFB p99 %d)\n",
		      failed, per_metric[0], per_metric[1], per_metric[2], per_metric[3], per_metric[4]);
	assert_true(failed <= 10);
}

static void test_bad_canary_fails(void **state)
{
	int per_metric[CB_METRICS] = { 0 }, failed;

	(void)state;
	rng_state = 0xbad;
	sim_slowdown = 1;
	failed = simulate(2000, 300, 2000, 0.05, per_metric);
	print_message("      %d of 2000 windows with 5 %% canary errors failed (5xx %d)\n",
		      failed, per_metric[CB_M_HTTP_5XX]);
	assert_true(per_metric[CB_M_HTTP_5XX] >= 1980);
}

/*
 * 25 % slower everywhere, within the 1.5x limit: the rank test against
 * stable is significant at a few hundred samples, and the p99 of a small
 * canary (its maximum) exceeds 1.5x stable's by chance often enough that
 * "ratio above the limit and slower than stable" would fail it.
 */
static void test_slower_within_limit_does_not_fail(void **state)
{
	int per_metric[CB_METRICS] = { 0 }, failed;

	(void)state;
	rng_state = 0x125;
	sim_slowdown = 1.25;
	failed = simulate(2000, 20, 2000, 0.001, per_metric);
	print_message("      %d of 2000 windows 25 %% slower failed (connect p99 %d, TTFB p99 %d)\n",
		      failed, per_metric[CB_M_CONNECT_P99], per_metric[CB_M_TTFB_P99]);
	assert_true(failed <= 10);
	/* 3x slower is past the limit: caught in nearly every window */
	memset(per_metric, 0, sizeof(per_metric));
	sim_slowdown = 3;
	failed = simulate(500, 20, 2000, 0.001, per_metric);
	print_message("      %d of 500 windows 3x slower failed (connect p99 %d, TTFB p99 %d)\n",
		      failed, per_metric[CB_M_CONNECT_P99], per_metric[CB_M_TTFB_P99]);
	assert_true(per_metric[CB_M_CONNECT_P99] >= 495);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binom_tail),
		cmocka_unit_test(test_fisher_greater),
		cmocka_unit_test(test_rank_greater),
		cmocka_unit_test(test_total_failure_is_immediate),
		cmocka_unit_test(test_error_ratio),
		cmocka_unit_test(test_few_samples_inconclusive),
		cmocka_unit_test(test_no_http_not_applicable),
		cmocka_unit_test(test_keepalive_judged_by_requests),
		cmocka_unit_test(test_latency),
		cmocka_unit_test(test_latency_tail_regression),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_healthy_canary_does_not_fail),
		cmocka_unit_test(test_bad_canary_fails),
		cmocka_unit_test(test_slower_within_limit_does_not_fail),
	};

	return cmocka_run_group_tests_name("analysis", tests, NULL, NULL);
}
