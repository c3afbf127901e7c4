// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "maglev.h"

#include <errno.h>
#include <stdlib.h>

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

int cb_maglev_build(const struct cb_maglev_item *items, size_t n, uint32_t m, uint32_t *table)
{
	uint32_t *offset, *skip, *next;
	size_t filled = 0;

	if (n == 0 || n > m || !cb_maglev_size_ok(m))
		return -EINVAL;
	offset = calloc(n, sizeof(*offset));
	skip = calloc(n, sizeof(*skip));
	next = calloc(n, sizeof(*next));
	if (!offset || !skip || !next) {
		free(offset);
		free(skip);
		free(next);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		offset[i] = hash64(items[i].key, items[i].key_len, 0x6d61676c) % m;
		skip[i] = hash64(items[i].key, items[i].key_len, 0x65763173) % (m - 1) + 1;
	}
	for (uint32_t s = 0; s < m; s++)
		table[s] = UINT32_MAX;

	/* Each item in turn claims the next free slot of its own permutation. */
	while (filled < m) {
		for (size_t i = 0; i < n && filled < m; i++) {
			uint32_t c;

			do {
				c = (uint32_t)((offset[i] + (uint64_t)next[i] * skip[i]) % m);
				next[i]++;
			} while (table[c] != UINT32_MAX);
			table[c] = (uint32_t)i;
			filled++;
		}
	}
	free(offset);
	free(skip);
	free(next);
	return 0;
}
