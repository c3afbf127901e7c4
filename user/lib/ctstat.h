/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * How full conntrack is. The kernel keeps no element count of a hash map
 * (not before 6.6), so the entries are counted by walking the map in steps
 * small enough for a loop that must never block; inserts and deletes are
 * counted by the datapath, and what is neither still there nor deleted was
 * evicted by the LRU.
 */
#ifndef CB_CTSTAT_H
#define CB_CTSTAT_H

#include <stdint.h>
#include "maps.h"

enum cb_ct_table { CB_CT_VERIFIED, CB_CT_PENDING, CB_CT_TABLES };

/* "established" (verified flows) or "half_open" (the rest: TCP before its handshake, UDP). */
const char *cb_ct_table_name(enum cb_ct_table t);

/* A walk over both tables, one step at a time; zero-initialised to start. */
struct cb_ct_scan {
	unsigned int table;          /* being counted now */
	uint32_t cursor;
	int resume;                  /* cursor holds where the last step stopped */
	uint64_t partial;
	uint64_t entries[CB_CT_TABLES];   /* the last complete counts */
	int counted[CB_CT_TABLES];        /* ... exist */
};

/*
 * Count about budget entries further (whole batches of 1,024). Returns 1 when this step completed
 * the walk of both tables (entries[] are fresh; the next step starts over),
 * 0 when it is under way, or -errno.
 */
int cb_ct_scan_step(const struct cb_maps *m, struct cb_ct_scan *s, uint32_t budget);

struct cb_ct_usage {
	uint64_t entries, capacity, inserts, deletes, evictions;
};

/* A table's usage from the last complete walk and the datapath's counters. */
int cb_ct_usage(const struct cb_maps *m, const struct cb_ct_scan *s, enum cb_ct_table t,
		struct cb_ct_usage *u);

#endif
