// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Histogram buckets (include/canary_bpf.h, shared with the datapath) and user/lib/hist.c. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hist.h"

/* Every edge: the first value of a bucket maps to it, the value before to the previous one. */
static void test_bucket_edges(void **state)
{
	(void)state;
	for (uint64_t us = 0; us < 8; us++)
		assert_int_equal(cb_hist_bucket(us), us);
	for (uint32_t b = 1; b < CB_HIST_BUCKETS; b++) {
		uint64_t lo = cb_hist_lower(b);

		assert_int_equal(cb_hist_bucket(lo), b);
		assert_int_equal(cb_hist_bucket(lo - 1), b - 1);
		assert_true(cb_hist_upper(b - 1) == lo);
		if (b >= CB_HIST_SUB && b < CB_HIST_BUCKETS - 1)
			assert_true((double)(cb_hist_upper(b) - lo) / (double)lo <= 0.125);
	}
	assert_int_equal(cb_hist_bucket(UINT64_MAX), CB_HIST_BUCKETS - 1);
	assert_int_equal(cb_hist_bucket(1ULL << 40), CB_HIST_BUCKETS - 1);
	assert_int_equal(cb_hist_bucket((1ULL << 31) - 1), CB_HIST_BUCKETS - 1);
	assert_int_equal(cb_hist_bucket(1ULL << 30), CB_HIST_BUCKETS - CB_HIST_SUB);
}

static void add(struct cb_hist *h, uint64_t us)
{
	h->bucket[cb_hist_bucket(us)]++;
	h->count++;
	h->sum_us += us;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentiles of skewed samples within 10 % of the exact ones. */
static void test_percentiles_within_ten_percent(void **state)
{
	static struct cb_hist h;
	static uint64_t v[20000];
	static const double qs[] = { 0.5, 0.9, 0.95, 0.99, 0.999 };
	uint32_t seed = 7;

	(void)state;
	memset(&h, 0, sizeof(h));
	for (size_t i = 0; i < 20000; i++) {
		seed = seed * 1103515245 + 12345;
		/* log-uniform from 10 us to 10 s */
		v[i] = (uint64_t)(10.0 * pow(1e6, (double)(seed >> 8) / (1 << 24)));
		add(&h, v[i]);
	}
	qsort(v, 20000, sizeof(v[0]), cmp_u64);
	for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
		uint64_t exact = v[(size_t)ceil(qs[k] * 20000) - 1], got = cb_hist_percentile(&h, qs[k]);
		double err = fabs((double)got - (double)exact) / (double)exact;

		print_message("      p%g: exact %llu us, histogram %llu us (%.1f %%)\n", qs[k] * 100,
			      (unsigned long long)exact, (unsigned long long)got, err * 100);
		assert_true(err <= 0.10);
	}
	memset(&h, 0, sizeof(h));
	assert_int_equal(cb_hist_percentile(&h, 0.99), 0);
	add(&h, 3);
	assert_int_equal(cb_hist_percentile(&h, 0.5), 3);
}

static void test_delta_is_the_window(void **state)
{
	static struct cb_hist a, b, d;

	(void)state;
	memset(&a, 0, sizeof(a));
	for (int i = 0; i < 100; i++)
		add(&a, 1000);
	b = a;
	for (int i = 0; i < 100; i++)
		add(&b, 50000);
	cb_hist_delta(&b, &a, &d);
	assert_int_equal(d.count, 100);
	assert_int_equal(d.sum_us, 100 * 50000);
	/* the window holds only the slow samples; the totals would say p50 = 1 ms */
	assert_true(cb_hist_percentile(&d, 0.5) > 45000);
	assert_true(cb_hist_percentile(&b, 0.5) < 1100);
	/* counters reset (service re-created): the new values are the window */
	cb_hist_delta(&a, &b, &d);
	assert_int_equal(d.count, 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_edges),
		cmocka_unit_test(test_percentiles_within_ten_percent),
		cmocka_unit_test(test_delta_is_the_window),
	};

	return cmocka_run_group_tests_name("hist", tests, NULL, NULL);
}
