// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Clock and order statistics of the benchmarks. */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "prog.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	/* Cannot fail for CLOCK_MONOTONIC with a valid pointer; checked all the same. */
	if (clock_gettime(CLOCK_MONOTONIC, &ts)) {
		fail("clock_gettime", "CLOCK_MONOTONIC unavailable");
		exit(1);
	}
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest rank (the smallest value with at least q of the samples at or below it). */
static size_t rank(size_t n, double q)
{
	size_t r = (size_t)ceil(q * (double)n);

	return r ? r - 1 : 0;
}

double quantile_u32(uint32_t *v, size_t n, double q)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u32);
	/* The median of an even count is the mean of the middle two, as usual. */
	if (q == 0.5 && n % 2 == 0)
		return ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2;
	return v[rank(n, q)];
}

double quantile_dbl(double *v, size_t n, double q)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_dbl);
	if (q == 0.5 && n % 2 == 0)
		return (v[n / 2 - 1] + v[n / 2]) / 2;
	return v[rank(n, q)];
}
