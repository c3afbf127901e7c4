/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The cases of `bench_prog prog`: their flows, packets and checks (prog_flow.c, prog_check.c). */
#ifndef CB_BENCH_PROG_CASES_H
#define CB_BENCH_PROG_CASES_H

#include "prog_measure.h"

/* One client's connection through the datapath. */
struct flow {
	int family;
	union cb_addr client, be;
	uint16_t sport, bport;
	int be_idx;
	uint32_t seq;      /* the client's next sequence number */
};

/* What a case's callbacks share (meas.ctx). */
struct cctx {
	struct lab *l;
	const struct svc *s;
	struct flow fl;
	uint8_t pkt[PKT_MAX];       /* the packet of every call (loop, established) */
	size_t len;
	uint8_t ttl_out;
	uint64_t flows;            /* new connections built so far */
};

/* SYN, SYN-ACK, ACK from client:sport through the XDP program; f learns its backend. */
int flow_open(struct lab *l, const struct svc *s, const char *client, uint16_t sport,
	      struct flow *f);

/* meas.next: the same packet every call; a new connection's SYN; a request, then its reply. */
int next_fixed(struct meas *m, uint8_t *pkt, size_t *len);
int next_syn(struct meas *m, uint8_t *pkt, size_t *len);
int next_reply(struct meas *m, uint8_t *pkt, size_t *len);

/* meas.check */
int check_untouched(struct meas *m, const struct tr *o);
int check_dnat_flow(struct meas *m, const struct tr *o);
int check_dnat_any(struct meas *m, const struct tr *o);
int check_snat(struct meas *m, const struct tr *o);

/* meas.verify */
int v_not_service(struct meas *m, const struct counters *a, const struct counters *b,
		  uint64_t runs);
int v_established(struct meas *m, const struct counters *a, const struct counters *b,
		  uint64_t runs);
int v_new(struct meas *m, const struct counters *a, const struct counters *b, uint64_t runs);
int v_reply(struct meas *m, const struct counters *a, const struct counters *b, uint64_t runs);

#endif
