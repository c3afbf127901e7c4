// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "maglev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a then the murmur3 finaliser: cheap, and well spread for short keys. */
static uint64_t hash64(const void *key, size_t len, uint64_t seed)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

int cb_maglev_size_ok(uint32_t m)
{
	if (m < 3)
		return 0;
	for (uint32_t d = 2; (uint64_t)d * d <= m; d++)
		if (m % d == 0)
			return 0;
	return 1;
}

struct perm {
	uint32_t *offset, *skip, *next;
};

static const uint64_t default_seeds[2] = { 0x6d61676c, 0x65763173 };

static int perm_init(struct perm *p, const struct cb_maglev_item *items, size_t n, uint32_t m,
		     const uint64_t seeds[2])
{
	p->offset = calloc(n, sizeof(*p->offset));
	p->skip = calloc(n, sizeof(*p->skip));
	p->next = calloc(n, sizeof(*p->next));
	if (!p->offset || !p->skip || !p->next)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		p->offset[i] = hash64(items[i].key, items[i].key_len, seeds[0]) % m;
		p->skip[i] = hash64(items[i].key, items[i].key_len, seeds[1]) % (m - 1) + 1;
	}
	return 0;
}

static void perm_free(struct perm *p)
{
	free(p->offset);
	free(p->skip);
	free(p->next);
}

/* Item i claims the next free slot of its own permutation (m prime: it finds one). */
static void perm_claim(struct perm *p, size_t i, uint32_t m, uint32_t *table)
{
	uint32_t c;

	do {
		c = (uint32_t)((p->offset[i] + (uint64_t)p->next[i] * p->skip[i]) % m);
		p->next[i]++;
	} while (table[c] != UINT32_MAX);
	table[c] = (uint32_t)i;
}

static int args_ok(size_t n, uint32_t m)
{
	return n > 0 && n <= m && cb_maglev_size_ok(m);
}

int cb_maglev_build_seeded(const struct cb_maglev_item *items, size_t n, uint32_t m,
			   const uint64_t seeds[2], uint32_t *table)
{
	struct perm p = { 0 };
	size_t filled = 0;

	if (!args_ok(n, m))
		return -EINVAL;
	if (perm_init(&p, items, n, m, seeds)) {
		perm_free(&p);
		return -ENOMEM;
	}
	for (uint32_t s = 0; s < m; s++)
		table[s] = UINT32_MAX;
	while (filled < m)
		for (size_t i = 0; i < n && filled < m; i++, filled++)
			perm_claim(&p, i, m, table);
	perm_free(&p);
	return 0;
}

static const uint32_t *sort_counts;

static int by_count_desc(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (sort_counts[x] != sort_counts[y])
		return sort_counts[x] > sort_counts[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

int cb_maglev_rebuild_seeded(const struct cb_maglev_item *items, size_t n, uint32_t m,
			     const uint32_t *prev, const uint64_t seeds[2], uint32_t *table)
{
	uint32_t *count, *target, *order;
	struct perm p = { 0 };
	size_t need = 0;
	int err = -ENOMEM;

	if (!prev)
		return cb_maglev_build_seeded(items, n, m, seeds, table);
	if (!args_ok(n, m))
		return -EINVAL;
	count = calloc(n, sizeof(*count));
	target = calloc(n, sizeof(*target));
	order = calloc(n, sizeof(*order));
	if (!count || !target || !order || perm_init(&p, items, n, m, seeds))
		goto out;

	for (uint32_t s = 0; s < m; s++)
		if (prev[s] < n)
			count[prev[s]]++;
	/* Fair shares: the m % n larger ones go to those already holding most. */
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	sort_counts = count;
	qsort(order, n, sizeof(*order), by_count_desc);
	for (size_t k = 0; k < n; k++)
		target[order[k]] = (uint32_t)(m / n) + (k < m % n);

	memset(count, 0, n * sizeof(*count));
	for (uint32_t s = 0; s < m; s++) {
		uint32_t i = prev[s];

		if (i < n && count[i] < target[i]) {
			table[s] = i;
			count[i]++;
		} else {
			table[s] = UINT32_MAX;
			need++;
		}
	}
	while (need)
		for (size_t i = 0; i < n && need; i++)
			if (count[i] < target[i]) {
				perm_claim(&p, i, m, table);
				count[i]++;
				need--;
			}
	err = 0;
out:
	perm_free(&p);
	free(count);
	free(target);
	free(order);
	return err;
}

int cb_maglev_build(const struct cb_maglev_item *items, size_t n, uint32_t m, uint32_t *table)
{
	return cb_maglev_build_seeded(items, n, m, default_seeds, table);
}

int cb_maglev_rebuild(const struct cb_maglev_item *items, size_t n, uint32_t m,
		      const uint32_t *prev, uint32_t *table)
{
	return cb_maglev_rebuild_seeded(items, n, m, prev, default_seeds, table);
}
