/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Datapath fuzzer: random and mutated packets through the real programs
 * (BPF_PROG_TEST_RUN on XDP, tc ingress and tc egress), each output judged
 * by an oracle that parses the packet on its own (dp_oracle.c) against the
 * lab's configuration (dp_lab.c) and a model of the flows it saw NATed
 * (dp_model.c). Fixtures and mutators: dp_gen.c. Driver: dp_fuzz.c.
 */
#ifndef CB_DP_FUZZ_H
#define CB_DP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "canary_bpf.h"
#include "dpstate.h"

#define FZ_PKT_MAX 1600

/* xoshiro256**, seeded through splitmix64: one stream per iteration. */
struct rng {
	uint64_t s[4];
};

static inline uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, res = rng_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rng_rotl(s[3], 45);
	return res;
}

/* Uniform in [0, n) (n == 0 gives 0). */
static inline uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static inline int rng_pct(struct rng *r, unsigned int pct)
{
	return rng_below(r, 100) < pct;
}

static inline uint8_t rng_u8(struct rng *r)
{
	return (uint8_t)(rng_next(r) >> 56);
}

enum fz_hook { FZ_XDP, FZ_TC_IN, FZ_TC_OUT, FZ_HOOKS };
/* Which device a run claims to arrive on: none (the kernel uses lo), client or backend side. */
enum fz_side { FZ_IF_NONE, FZ_IF_CLIENT, FZ_IF_BACKEND, FZ_SIDES };
enum fz_verdict { FZ_V_PASS, FZ_V_DROP, FZ_V_REDIRECT, FZ_V_OTHER, FZ_V_REFUSED, FZ_VERDICTS };

const char *fz_hook_name(enum fz_hook h);
const char *fz_side_name(enum fz_side s);
int fz_hook_parse(const char *s, enum fz_hook *h);
int fz_side_parse(const char *s, enum fz_side *side);

/* ---- the lab: configuration and programs (dp_lab.c) ---- */

#define FZ_MAX_BE 4

struct fz_backend {
	union cb_addr addr;
	uint16_t port;           /* host order */
	int track;
};

struct fz_service {
	int family, proto;       /* 4 or 6; IPPROTO_TCP or IPPROTO_UDP */
	union cb_addr vip;
	uint16_t port;           /* host order */
	int affinity;
	uint32_t weight;         /* basis points */
	int pending;             /* never published: must behave as no service */
	struct fz_backend be[FZ_MAX_BE];
	int nbe, ntrack[CB_TRACKS];
	int has_ovr, ovr_len, ovr_track;
	union cb_addr ovr;
	uint32_t id;
	struct cb_svc_key key;
};

/* A static neighbour: the only destinations bpf_fib_lookup() can resolve. */
struct fz_neigh {
	int family;
	union cb_addr addr;
	uint8_t mac[6];
	enum fz_side side;       /* device it sits behind */
};

struct fz_lab {
	struct canary *skel;
	struct cb_maps maps;
	uint32_t ifindex[FZ_SIDES];
	uint8_t mac[FZ_SIDES][6];
	int tx_port[FZ_SIDES];   /* device in cb_tx_ports: XDP may redirect to it */
	int csum_complete;       /* tc runs use BPF_F_TEST_SKB_CHECKSUM_COMPLETE */
	struct fz_service *svc;
	int nsvc;
	const struct fz_neigh *neigh;
	int nneigh;
	/* Client addresses the fixtures use (routable ones have neighbours). */
	const union cb_addr *clients[2];   /* [0] IPv4, [1] IPv6 */
	int nclients[2];
};

struct fz_run {
	int verdict;             /* enum fz_verdict */
	int err;                 /* -errno when refused */
	uint8_t out[FZ_PKT_MAX];
	size_t out_len;
};

int fz_lab_open(struct fz_lab *lab);
void fz_lab_close(struct fz_lab *lab);
int fz_run(struct fz_lab *lab, enum fz_hook h, enum fz_side side, const uint8_t *pkt,
	   size_t len, struct fz_run *r);
/* The service at daddr:dport/proto that is served (not pending), or -1. */
int fz_lab_service(const struct fz_lab *lab, int family, int proto, const union cb_addr *daddr,
		   uint16_t dport);
/* Index of a backend of service s at addr:port, or -1. */
int fz_lab_backend(const struct fz_lab *lab, int s, const union cb_addr *addr, uint16_t port);
const struct fz_neigh *fz_lab_neigh(const struct fz_lab *lab, int family,
				    const union cb_addr *addr);
/* Override of service s matching client addr: its track, or -1. */
int fz_lab_override(const struct fz_lab *lab, int s, const union cb_addr *client);

struct fz_counters {
	uint64_t g[CB_G_MAX];
	struct cb_track_stats *t;   /* nsvc * CB_TRACKS */
};

int fz_counters_read(struct fz_lab *lab, struct fz_counters *c);
void fz_counters_free(struct fz_counters *c);
/* Delete every conntrack and reverse entry (the model forgets its flows too). */
int fz_lab_flush_flows(struct fz_lab *lab);

/* ---- the flow model (dp_model.c) ---- */

struct fz_tuple {
	uint8_t family, proto;
	uint16_t sport, dport;   /* host order */
	uint16_t pad;            /* keys are compared and hashed as bytes */
	union cb_addr saddr, daddr;
};

struct fz_flow {
	struct fz_tuple t;       /* client -> VIP as the client sent it */
	int svc, be;
	int closing;             /* a RST went through, or a FIN each way (as the datapath tells) */
	int fin_client, fin_backend;
	double last;             /* when a packet of it was last NATed (s) */
	/*
	 * TCP, as SPEC tells it: a connect (its SYN's sequence number) is
	 * pending until the client acknowledges the backend's SYN-ACK; its
	 * outcome (verified, refused, timed out) is counted once.
	 */
	uint32_t isn, server_isn;
	int isn_known;
	double syn_t;            /* when the pending SYN was sent */
	int syn_open;            /* a SYN not answered yet */
	int synack;              /* the backend's SYN-ACK passed (server_isn known) */
	int verified, counted, failed;
	int fuzzy;               /* its counters may be off by one (a timeout at the edge) */
};

struct fz_model;

struct fz_model *fz_model_new(void);
void fz_model_free(struct fz_model *m);
void fz_model_clear(struct fz_model *m);
size_t fz_model_flows(const struct fz_model *m);
const struct fz_flow *fz_model_flow(const struct fz_model *m, size_t i);
/* Flow keyed by its client tuple, or NULL. */
struct fz_flow *fz_model_find(struct fz_model *m, const struct fz_tuple *t);
/* Flow whose reply tuple (backend -> client) is t, or NULL. */
struct fz_flow *fz_model_find_reply(struct fz_model *m, const struct fz_lab *lab,
				    const struct fz_tuple *t);
/* Record a flow NATed to backend be; returns it, or NULL when full. */
struct fz_flow *fz_model_add(struct fz_model *m, const struct fz_lab *lab,
			     const struct fz_tuple *t, int svc, int be);
/* Backend the client of a client-affinity service already went to, or -1; records be. */
int fz_model_client_be(struct fz_model *m, const struct fz_tuple *t, int svc, int be);

/* ---- packets: fixtures and mutators (dp_gen.c) ---- */

enum fz_kind { FZ_K_FWD, FZ_K_REPLY, FZ_K_OTHER, FZ_K_RANDOM, FZ_KINDS };

struct fz_pkt {
	uint8_t data[FZ_PKT_MAX];
	size_t len;
	enum fz_kind kind;
	enum fz_side side[FZ_HOOKS];
	const struct fz_flow *flow;   /* replies: the flow answered */
	char desc[160];               /* fixture and mutators, for reports */
};

void fz_gen(struct rng *r, const struct fz_lab *lab, const struct fz_model *m, struct fz_pkt *p);
/* A clean client SYN of flow f (replay context for a reply). */
size_t fz_gen_flow_syn(const struct fz_flow *f, uint8_t *buf);
/* Recompute IPv4 header and L4 checksums where the headers can be located. */
void fz_fix_csums(uint8_t *buf, size_t len);

/* ---- the oracle (dp_oracle.c) ---- */

/* What the independent parse says about a packet. */
enum fz_class {
	FZ_C_PASS,   /* not a TCP/UDP packet we may rewrite: must pass untouched */
	FZ_C_GRAY,   /* well-formed but beyond documented limits: untouched, or handled right */
	FZ_C_OK,     /* well-formed TCP/UDP within limits: must get its verdict */
};

struct fz_view {
	int cls;
	const char *why;         /* reason for PASS/GRAY */
	int family, proto, ntags;
	size_t l3, l4, ip_end;   /* offsets; ip_end: end of the IP datagram */
	size_t l4_len;           /* L4 bytes the L4 checksum covers */
	size_t csum_off;         /* absolute offset of the L4 checksum */
	union cb_addr saddr, daddr;
	uint16_t sport, dport;   /* host order */
	uint8_t ttl, tcp_flags;
	int udp_zero;            /* UDP sent without checksum */
	uint32_t seq, ack;       /* TCP */
	int frag;                /* 1: a first fragment (ports there), 2: a later one */
	uint32_t frag_id;
	int icmp;                /* an ICMP error (l4: its header) */
};

void fz_parse(const uint8_t *p, size_t len, struct fz_view *v);
/*
 * --waive srr: an IPv4 source route with hops left is GRAY instead of PASS
 * (the datapath NATs it; see tests/fuzz/crashes/datapath/README.md).
 */
extern int fz_waive_srr;
/* Ones' complement sum (folded, 0 read as 0xffff): IPv4 header, L4 with pseudo-header. */
uint16_t fz_sum_ip4(const uint8_t *p, const struct fz_view *v);
uint16_t fz_sum_l4(const uint8_t *p, const struct fz_view *v);

/* Counter deltas the verdicts of a batch imply. */
struct fz_tally {
	uint64_t runs, untouched, untouched_ns, untouched_parse, redirect, nat_stack, rev_nat,
		drop, refused;
	uint64_t *packets, *bytes, *rst_client, *rst_backend, *conn_lo, *conn_hi, *drops;
	uint64_t *rst_backend_hi;
	uint64_t miss, bad_syn, ttl, frag_nat, icmp_nat, drop_frag;
	int n;                   /* nsvc * CB_TRACKS */
};

int fz_failf(char *why, size_t wlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int fz_tally_init(struct fz_tally *t, int nsvc);
void fz_tally_reset(struct fz_tally *t);
void fz_tally_free(struct fz_tally *t);

/* Judge one run; 0, or -1 with why filled. */
int fz_check(const struct fz_lab *lab, struct fz_model *m, enum fz_hook h, const uint8_t *in,
	     size_t in_len, const struct fz_run *r, struct fz_tally *t, char *why, size_t wlen);
/* Compare counter deltas with a tally; 0, or -1 with why filled. */
int fz_check_counters(const struct fz_lab *lab, const struct fz_counters *a,
		      const struct fz_counters *b, const struct fz_tally *t, char *why,
		      size_t wlen);

/* Verdict mix, for the closing report. */
#define FZ_REASONS 32

struct fz_stats {
	uint64_t verdict[FZ_HOOKS][FZ_VERDICTS];
	uint64_t fwd_nat, rev_nat, drop, untouched_ns, untouched_parse, untouched_gray;
	uint64_t untouched_svc, icmp_nat;
	uint64_t kind[FZ_KINDS];
	/* rewritten packets that had: tags, IPv4 options, IPv6 extension headers, UDP
	 * without checksum, a broken checksum (kept broken), TTL <= 1 */
	uint64_t nat_vlan, nat_ipopt, nat_ext, nat_udp0, nat_badsum, nat_ttl1;
	struct {
		const char *why;
		int cls;
		uint64_t untouched, handled;
	} reason[FZ_REASONS];
};

extern struct fz_stats fz_stats;

#endif
