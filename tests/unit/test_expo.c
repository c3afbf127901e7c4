// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The exposition writer (user/agent/expo.c) and the atomic textfile (user/agent/textfile.c). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "expo.h"
#include "hist.h"
#include "textfile.h"

static void test_doubles_are_shortest_and_exact(void **state)
{
	static const double vals[] = { 0, 1, 0.5, 0.05, 6.4e-05, 0.000128, 16.777216, 1e300,
				       1795446890.755, 0.1 + 0.2, 1.0 / 3 };
	char out[40];

	(void)state;
	cb_expo_fmt_double(6.4e-05, out, sizeof(out));
	assert_string_equal(out, "6.4e-05");
	cb_expo_fmt_double(0.05, out, sizeof(out));
	assert_string_equal(out, "0.05");
	cb_expo_fmt_double(1.0 / 0.0, out, sizeof(out));
	assert_string_equal(out, "+Inf");
	cb_expo_fmt_double(-1.0 / 0.0, out, sizeof(out));
	assert_string_equal(out, "-Inf");
	cb_expo_fmt_double(0.0 / 0.0, out, sizeof(out));
	assert_string_equal(out, "NaN");
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		cb_expo_fmt_double(vals[i], out, sizeof(out));
		assert_true(strtod(out, NULL) == vals[i]);
	}
}

static void test_labels_and_help_are_escaped(void **state)
{
	struct cb_buf b = { 0 };

	(void)state;
	cb_expo_family(&b, "x_total", "counter", "a \\ b\nc \"q\"");
	cb_expo_u64(&b, "x_total", (const char *[]){ "service", "a\"b\\c\nd", "track", "canary", NULL },
		    18446744073709551615ULL);
	cb_expo_double(&b, "y", NULL, 0.25);
	assert_false(b.oom);
	assert_string_equal(b.p,
			    "# HELP x_total a \\\\ b\\nc \"q\"\n"
			    "# TYPE x_total counter\n"
			    "x_total{service=\"a\\\"b\\\\c\\nd\",track=\"canary\"} 18446744073709551615\n"
			    "y 0.25\n");
	cb_buf_free(&b);
}

/* A buffer grows past its first allocation without losing a byte. */
static void test_buffer_grows(void **state)
{
	struct cb_buf b = { 0 };

	(void)state;
	for (int i = 0; i < 10000; i++)
		cb_buf_printf(&b, "%05d\n", i);
	assert_false(b.oom);
	assert_int_equal(b.len, 60000);
	assert_int_equal(strlen(b.p), 60000);
	assert_memory_equal(b.p + 59994, "09999\n", 6);
	cb_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.p, "");
	cb_buf_free(&b);
}

static uint64_t sample_value(const char *text, const char *series)
{
	const char *p = strstr(text, series);

	assert_non_null(p);
	return strtoull(p + strlen(series), NULL, 10);
}

/*
 * Cumulative buckets against a brute-force count: every sample strictly
 * below le (the datapath truncates to whole microseconds, so a recorded
 * 64 stands for a duration of 64.x us, above le = 64 us).
 */
static void test_histogram_counts_are_exact(void **state)
{
	static uint64_t samples[20000];
	struct cb_hist h = { 0 };
	struct cb_buf b = { 0 };
	uint64_t edge = CB_EXPO_LE_FIRST_US;
	char series[128], le[40];

	(void)state;
	srand(7);
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		/* log-uniform from 1 us to about 67 s, plus every edge and its neighbours */
		uint64_t us = (uint64_t)exp2((double)rand() / RAND_MAX * 26);

		if (i < 3 * CB_EXPO_LE_COUNT)
			us = ((uint64_t)CB_EXPO_LE_FIRST_US << (i / 3)) + (i % 3) - 1;
		samples[i] = us;
		h.bucket[cb_hist_bucket(us)]++;
		h.sum_us += us;
		h.count++;
	}
	struct cb_expo_hist folded;

	cb_expo_hist_fold(&h, &folded);
	cb_expo_hist(&b, "d_seconds", (const char *[]){ "service", "s", NULL }, &folded);
	for (int i = 0; i < CB_EXPO_LE_COUNT; i++, edge *= 2) {
		uint64_t below = 0;

		for (size_t k = 0; k < sizeof(samples) / sizeof(samples[0]); k++)
			below += samples[k] < edge;
		cb_expo_fmt_double((double)edge / 1e6, le, sizeof(le));
		snprintf(series, sizeof(series), "d_seconds_bucket{service=\"s\",le=\"%s\"} ", le);
		assert_int_equal(sample_value(b.p, series), below);
	}
	assert_int_equal(sample_value(b.p, "d_seconds_bucket{service=\"s\",le=\"+Inf\"} "), h.count);
	assert_int_equal(sample_value(b.p, "d_seconds_count{service=\"s\"} "), h.count);
	assert_non_null(strstr(b.p, "le=\"6.4e-05\""));
	assert_non_null(strstr(b.p, "le=\"16.777216\""));
	assert_true(fabs(strtod(strstr(b.p, "d_seconds_sum{service=\"s\"} ") + 26, NULL) -
			 (double)h.sum_us / 1e6) < 1e-6);
	cb_buf_free(&b);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void test_textfile_replaces_atomically(void **state)
{
	char dir[] = "/tmp/cb-textfile-XXXXXX", path[64], got[64] = { 0 };
	struct cb_err err;
	struct stat sb;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.prom", dir);
	assert_int_equal(cb_textfile_write(dir, "x.prom", "first\n", 6, &err), 0);
	assert_int_equal(cb_textfile_write(dir, "x.prom", "second\n", 7, &err), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fread(got, 1, sizeof(got) - 1, f), 7);
	fclose(f);
	assert_string_equal(got, "second\n");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	assert_int_equal(count_entries(dir), 1);   /* no temporary file left */
	unlink(path);
	rmdir(dir);
	/* a missing directory: an error naming it, and nothing created */
	assert_int_equal(cb_textfile_write(dir, "x.prom", "x", 1, &err), -ENOENT);
	assert_non_null(strstr(err.msg, dir));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubles_are_shortest_and_exact),
		cmocka_unit_test(test_labels_and_help_are_escaped),
		cmocka_unit_test(test_buffer_grows),
		cmocka_unit_test(test_histogram_counts_are_exact),
		cmocka_unit_test(test_textfile_replaces_atomically),
	};

	return cmocka_run_group_tests_name("expo", tests, NULL, NULL);
}
