// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The Maglev table builder (user/lib/maglev.c), without the kernel. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "canary_bpf.h"
#include "maglev.h"

#define M CB_MAGLEV_M

struct set {
	char keys[128][32];
	struct cb_maglev_item items[128];
	size_t n;
};

static void set_make(struct set *s, size_t n, int base)
{
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(s->keys[i], sizeof(s->keys[i]), "10.%d.%zu.%zu:8080", base, i / 250, i % 250);
		s->items[i].key = s->keys[i];
		s->items[i].key_len = strlen(s->keys[i]);
	}
}

static void counts(const uint32_t *t, size_t n, uint32_t *c)
{
	memset(c, 0, n * sizeof(*c));
	for (uint32_t s = 0; s < M; s++) {
		assert_true(t[s] < n);
		c[t[s]]++;
	}
}

static void test_sizes_must_be_prime(void **state)
{
	struct set s;
	uint32_t t[16];

	(void)state;
	set_make(&s, 2, 0);
	assert_true(cb_maglev_size_ok(4099));
	assert_true(cb_maglev_size_ok(65521));
	assert_false(cb_maglev_size_ok(4096));
	assert_false(cb_maglev_size_ok(1));
	assert_int_equal(cb_maglev_build(s.items, 2, 16, t), -EINVAL);
	assert_int_equal(cb_maglev_build(s.items, 0, 13, t), -EINVAL);
	set_make(&s, 14, 0);
	assert_int_equal(cb_maglev_build(s.items, 14, 13, t), -EINVAL);
}

/* Every backend gets floor(M/N) or ceil(M/N) slots, for every N up to 64. */
static void test_fair_share_up_to_64(void **state)
{
	static uint32_t t[M];
	struct set s;
	uint32_t c[128];

	(void)state;
	for (size_t n = 1; n <= 64; n++) {
		set_make(&s, n, (int)n);
		assert_int_equal(cb_maglev_build(s.items, n, M, t), 0);
		counts(t, n, c);
		for (size_t i = 0; i < n; i++) {
			assert_in_range(c[i], M / n, M / n + 1);
			assert_true(c[i] >= (M / n) * 0.95 && c[i] <= (M / n) * 1.05 + 1);
		}
	}
}

/* Same backends, same table: every node computes the same one. */
static void test_build_is_deterministic(void **state)
{
	static uint32_t a[M], b[M];
	struct set s, r;

	(void)state;
	set_make(&s, 10, 1);
	set_make(&r, 10, 2);
	assert_int_equal(cb_maglev_build(s.items, 10, M, a), 0);
	assert_int_equal(cb_maglev_build(s.items, 10, M, b), 0);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(cb_maglev_build(r.items, 10, M, b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
}

/* Map the previous table (indexes in old) onto the indexes of new. */
static void remap(const uint32_t *old_t, const struct set *old, const struct set *nw, uint32_t *prev)
{
	for (uint32_t s = 0; s < M; s++) {
		prev[s] = UINT32_MAX;
		for (size_t i = 0; i < nw->n; i++)
			if (!strcmp(old->keys[old_t[s]], nw->keys[i]))
				prev[s] = (uint32_t)i;
	}
}

static void test_removal_moves_only_removed_slots(void **state)
{
	static uint32_t a[M], b[M], prev[M], pure[M];
	struct set s, r;
	uint32_t moved_pure = 0, others = 0, c[128];

	(void)state;
	for (int base = 0; base < 20; base++) {
		set_make(&s, 10, base);
		assert_int_equal(cb_maglev_build(s.items, 10, M, a), 0);
		for (size_t gone = 0; gone < 10; gone++) {
			set_make(&r, 10, base);
			memmove(&r.keys[gone], &r.keys[gone + 1], (9 - gone) * sizeof(r.keys[0]));
			for (size_t i = 0; i < 9; i++) {
				r.items[i].key = r.keys[i];
				r.items[i].key_len = strlen(r.keys[i]);
			}
			r.n = 9;
			remap(a, &s, &r, prev);
			assert_int_equal(cb_maglev_rebuild(r.items, 9, M, prev, b), 0);
			assert_int_equal(cb_maglev_build(r.items, 9, M, pure), 0);
			counts(b, 9, c);
			for (size_t i = 0; i < 9; i++)
				assert_in_range(c[i], M / 9, M / 9 + 1);
			for (uint32_t slot = 0; slot < M; slot++) {
				if (a[slot] == gone)
					continue;
				others++;
				/* rebuilt: no slot of a remaining backend changes hands */
				assert_int_equal(prev[slot], b[slot]);
				moved_pure += prev[slot] != pure[slot];
			}
		}
	}
	print_message("      removing 1 of 10 (200 cases): rebuild moves 0 other slots; "
		      "a table built from scratch would move %.2f %%\n", 100.0 * moved_pure / others);
}

static void test_addition_moves_only_to_new_backend(void **state)
{
	static uint32_t a[M], b[M], prev[M];
	struct set s, r;
	uint32_t to_new = 0, c[128];

	(void)state;
	set_make(&s, 9, 7);
	set_make(&r, 10, 7);
	assert_int_equal(cb_maglev_build(s.items, 9, M, a), 0);
	remap(a, &s, &r, prev);
	assert_int_equal(cb_maglev_rebuild(r.items, 10, M, prev, b), 0);
	counts(b, 10, c);
	for (size_t i = 0; i < 10; i++)
		assert_in_range(c[i], M / 10, M / 10 + 1);
	for (uint32_t slot = 0; slot < M; slot++) {
		if (b[slot] != prev[slot]) {
			assert_int_equal(b[slot], 9);
			to_new++;
		}
	}
	assert_int_equal(to_new, c[9]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes_must_be_prime),
		cmocka_unit_test(test_fair_share_up_to_64),
		cmocka_unit_test(test_build_is_deterministic),
		cmocka_unit_test(test_removal_moves_only_removed_slots),
		cmocka_unit_test(test_addition_moves_only_to_new_backend),
	};

	return cmocka_run_group_tests_name("maglev", tests, NULL, NULL);
}
