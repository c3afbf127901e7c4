/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maglev lookup-table builder (Eisenbud et al., NSDI 2016). User space
 * builds the table; the datapath only indexes it with a flow hash.
 */
#ifndef CB_MAGLEV_H
#define CB_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

/* A backend's identity for the permutation: any stable bytes (address+port). */
struct cb_maglev_item {
	const void *key;
	size_t key_len;
};

/* 1 if m is a prime usable as a table size (the permutation needs m prime). */
int cb_maglev_size_ok(uint32_t m);

/*
 * Fill table[0..m-1] with indexes into items[0..n-1]. Each item gets
 * floor(m/n) or ceil(m/n) slots; removing one item moves few others' slots.
 * Returns 0, or -EINVAL (n == 0, n > m, m not prime), -ENOMEM.
 */
int cb_maglev_build(const struct cb_maglev_item *items, size_t n, uint32_t m, uint32_t *table);

/*
 * Rebuild with minimal disruption. prev[s] is the item index that slot s
 * served before (UINT32_MAX: an item that is gone). Slots keep their item
 * while it stays within its fair share; only freed slots are handed out,
 * Maglev-style. Removing an item therefore moves no other item's slots, and
 * adding one moves only the slots the new item takes. prev == NULL builds
 * from scratch (cb_maglev_build).
 */
int cb_maglev_rebuild(const struct cb_maglev_item *items, size_t n, uint32_t m,
		      const uint32_t *prev, uint32_t *table);

/*
 * The same with the permutation's two hash seeds (offset, skip) given: the
 * pinned state's, random per installation or from the agent's seed file.
 * The functions above use fixed reference seeds.
 */
int cb_maglev_build_seeded(const struct cb_maglev_item *items, size_t n, uint32_t m,
			   const uint64_t seeds[2], uint32_t *table);
int cb_maglev_rebuild_seeded(const struct cb_maglev_item *items, size_t n, uint32_t m,
			     const uint32_t *prev, const uint64_t seeds[2], uint32_t *table);

#endif
