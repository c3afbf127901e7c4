/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bench_prog: micro-benchmarks of the datapath under BPF_PROG_TEST_RUN
 * (`prog`) and of the control plane's library calls (`control`).
 * Shared declarations of the prog_*.c files.
 */
#ifndef CB_BENCH_PROG_H
#define CB_BENCH_PROG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "canary_bpf.h"
#include "dpstate.h"
#include "pkt.h"

/* --- options (prog_main.c) --- */
struct opts {
	const char *out;   /* JSON file, or NULL */
	int smoke;         /* few runs: keeps the benchmark from rotting in make check */
};

/* Print "bench_prog: what: why" on stderr; returns -1 for `return fail(...)`. */
int fail(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int bench_prog(const struct opts *o);
int bench_control(const struct opts *o);
int bench_warm(int argc, char **argv);

/*
 * --- packets: tests/datapath/pkt.c (pkt_build, pkt_check, pkt_addr). The
 * benchmark's are TCP over IPv4 or IPv6; buffers given to pkt_build hold PKT_MAX.
 */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* --- the loaded programs and their maps (prog_lab.c) --- */
struct canary;
struct bench_min;

struct lab {
	struct canary *skel;
	struct bench_min *min;     /* NULL in `control` */
	struct cb_maps maps;
	unsigned int if_client, if_backend;   /* 0 without the forwarding namespace */
};

/* A service made through the library, and the backends it was given. */
struct svc {
	struct cb_svc_key key;
	uint32_t id;
	int family;
	union cb_addr vip;
	union cb_addr be[5];       /* be[0..3] stable, be[4] canary */
	uint16_t be_port[5];
};

/* The MAC the forwarding namespace's neighbours answer with. */
extern const uint8_t NEIGH_MAC[6];

int lab_open(struct lab *l, int with_min);
void lab_close(struct lab *l);
int lab_flush_pending(struct lab *l);
/*
 * Move into a fresh, unnamed network namespace (it ends with the process,
 * whatever happens) with a client and a backend veth, routes, static
 * neighbours and forwarding on: fib lookups succeed and redirect there.
 */
int lab_netns(struct lab *l);
/* VIP:80/tcp, connection affinity: be[0..3] stable, be[4] canary, weight_bp. */
int svc_make(struct lab *l, struct svc *s, int family, const char *vip,
	     const char *const be[5], const uint16_t be_port[5], uint32_t weight_bp);
/* The standard service's backends (prog_cases.c): 4 stable, then 1 canary, port 8080. */
extern const char *const BENCH_BE4[5], *const BENCH_BE6[5];
extern const uint16_t BENCH_PORTS[5];
#define BENCH_WEIGHT_BP 1000   /* canary 10 % */

/* Index in s->be of addr:port, or -1. */
int svc_backend(const struct svc *s, const union cb_addr *addr, uint16_t port);

struct tr {
	uint32_t retval;
	uint32_t duration;         /* ns per run, as the kernel measured it */
	uint8_t out[PKT_MAX];
	uint32_t out_len;
};

/* One BPF_PROG_TEST_RUN: tc selects the __sk_buff context; ifindex 0: none. */
int tr_run(int prog_fd, int tc, const uint8_t *pkt, size_t len, unsigned int ifindex,
	   unsigned int repeat, struct tr *o);

struct counters {
	uint64_t g[CB_G_MAX];
	struct cb_track_stats t[CB_TRACKS];
};

int counters_read(const struct lab *l, uint32_t svc_id, struct counters *c);

/* --- numbers (prog_stats.c) --- */
uint64_t now_ns(void);
/* Sorts v in place. q in [0, 1]: 0.5 median, 0.99 p99 (nearest rank). */
double quantile_u32(uint32_t *v, size_t n, double q);
double quantile_dbl(double *v, size_t n, double q);

#endif
