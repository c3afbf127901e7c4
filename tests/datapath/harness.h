/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Loads the real datapath and runs crafted packets through BPF_PROG_TEST_RUN. */
#ifndef CB_TEST_HARNESS_H
#define CB_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "canary.skel.h"
#include "dpstate.h"
#include "pkt.h"

enum hook { HOOK_XDP, HOOK_TC_IN, HOOK_TC_OUT };

/* Verdicts, hook-neutral. */
enum { V_PASS, V_DROP, V_REDIRECT, V_OTHER };

struct lab {
	struct canary *skel;
	struct cb_maps maps;
	uint32_t gso_segs;   /* of the skb of tc runs (1: as a local stack builds a segment) */
};

struct svc {
	struct cb_svc_key key;
	uint32_t id;
	int family;
};

struct run_out {
	int verdict;
	uint8_t data[PKT_MAX];
	size_t len;
	struct pkt_view v;
	int csum;        /* pkt_check() result */
};

/* cmocka setup/teardown: *state becomes a struct lab with fresh maps. */
int lab_setup(void **state);
int lab_teardown(void **state);
/* A lab of its own with conntrack sized ct_entries (pending flows: half); 0: as compiled. */
struct lab *lab_open_sized(uint32_t ct_entries);
/* A second program instance over the same maps (agent restart, re-attach). */
struct lab *lab_reopen(const struct lab *from);
void lab_free(struct lab *l);

/* Run one packet; ifindex 0 = no device context. */
void run_pkt(struct lab *l, enum hook h, const uint8_t *pkt, size_t len, uint32_t ifindex,
	     struct run_out *o);
/* The same, returning -errno when the kernel refuses the packet. */
int run_pkt_try(struct lab *l, enum hook h, const uint8_t *pkt, size_t len, uint32_t ifindex,
		struct run_out *o);
/* Build from spec and run. */
void run_spec(struct lab *l, enum hook h, const struct pkt_spec *s, struct run_out *o);

struct cb_endpoint ep(int family, const char *addr, uint16_t port);
void svc_add(struct lab *l, struct svc *s, int family, const char *vip, uint16_t port,
	     int proto, int affinity);
void track_set(struct lab *l, struct svc *s, int track, const char *const *addrs,
	       uint16_t port, size_t n);
void weight_set(struct lab *l, struct svc *s, uint32_t bp);
struct cb_track_stats track_stats(struct lab *l, struct svc *s, int track);
uint64_t global_count(struct lab *l, int counter);

/* A conntrack / reverse-map key for a flow, as the datapath builds it. */
struct cb_ct_key flow_key(int family, int proto, const char *saddr, uint16_t sport,
			  const char *daddr, uint16_t dport);

/*
 * A flow's entry by its client -> VIP key: verified (cb_ct and cb_rev) or
 * pending (both halves in one cb_pend element). 0, or -1 when it has none.
 * rev may be NULL; rk is its reply tuple (for a verified flow's cb_rev).
 */
int flow_get(struct lab *l, const struct cb_ct_key *k, struct cb_ct_entry *ct,
	     struct cb_rev_entry *rev);
/* Write back what flow_get read (the element must exist). */
void flow_put(struct lab *l, const struct cb_ct_key *k, const struct cb_ct_entry *ct,
	      const struct cb_rev_entry *rev);

/* Index of daddr in addrs[] (as built by addr_list), or -1. */
int addr_index(int family, const union cb_addr *a, const char *const *addrs, size_t n);

/* Two-sided 99.9 % binomial acceptance interval for n trials of p. */
void binom_interval(uint64_t n, double p, uint64_t *lo, uint64_t *hi);

/* Monotonic clock in ns, the clock of bpf_ktime_get_ns(). */
uint64_t now_ns(void);

const char *hook_name(enum hook h);

#endif
