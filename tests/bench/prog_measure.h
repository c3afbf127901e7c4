/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* How one case of `bench_prog prog` is measured against the baseline (prog_measure.c). */
#ifndef CB_BENCH_PROG_MEASURE_H
#define CB_BENCH_PROG_MEASURE_H

#include "prog.h"

enum method {
	/*
	 * repeat = chunk runs of one packet in one test run, the kernel's average
	 * (whole ns, rounded down): only for packets that every run of the loop
	 * sends down the same path.
	 */
	M_LOOP,
	/* repeat = 1 per test run, a fresh packet each time: the median of many. */
	M_SINGLE,
};

struct meas {
	const char *name;
	enum method method;
	int tc;                     /* tc egress program; the baseline then is bench_min_tc */
	int prog_fd;
	unsigned int ifindex;       /* device the packet arrives on (leaves by, for egress) */
	uint32_t want;              /* the canary program's return value */
	unsigned int chunk;         /* M_LOOP: runs per test run; M_SINGLE: 1 */
	size_t calls;               /* test runs per measurement run */
	uint32_t svc_id;            /* whose track counters verify() sees */
	/* The packet of the next call; may run untimed steps first (the request of a reply). */
	int (*next)(struct meas *m, uint8_t *pkt, size_t *len);
	/* The canary program's output is what the case must produce. */
	int (*check)(struct meas *m, const struct tr *o);
	/* Counters moved by exactly what `runs` runs of the case's path move. */
	int (*verify)(struct meas *m, const struct counters *before, const struct counters *after,
		      uint64_t runs);
	void *ctx;
};

struct result {
	const char *name;
	const char *method;
	const char *hook;
	unsigned int chunk;
	size_t calls;
	double ns, min_ns, max_ns;           /* the datapath: median and range over runs */
	double base_ns, base_min_ns, base_max_ns;
	double ratio;
	uint32_t retval;
};

int measure(struct lab *l, struct meas *m, int runs, struct result *r);
/* Table on stdout, JSON to o->out. */
int results_report(const struct opts *o, const struct result *r, size_t n, unsigned int repeat,
		   int runs, size_t single_calls);

#endif
