// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `bench_prog prog`: what a packet costs the datapath's XDP program (and
 * the tc egress program for replies), as ns per run under BPF_PROG_TEST_RUN
 * and as a multiple of tests/bench/min.bpf.c on the same packets.
 *
 * The test run repeats a program on ONE buffer, and the datapath rewrites
 * it: after a DNAT the next run sees a packet to the backend, which is no
 * longer a service packet, so a plain large `repeat` would time the
 * not-a-service path. Two methods avoid that (prog_measure.h):
 *
 *  loop    for packets that every run of the loop sends down the same path.
 *          Not a service: nothing is rewritten, one run of `repeat`. An
 *          established flow: its backend is the VIP:port itself (the "loop"
 *          service below), so the DNAT writes back the bytes it read (the
 *          checksum arithmetic and stores run all the same, they do not look
 *          at values) and the packet stays the flow's; forwarding lowers the
 *          TTL by one per run, so a packet with TTL 255 runs 250 times per
 *          call, fresh each call, 40 calls per measurement run: each test
 *          run with repeat > 1 installs the program in the XDP dispatcher
 *          and takes it out again, two RCU grace periods (~20 ms here).
 *  single  repeat = 1 over many fresh packets, the median of the kernel's
 *          per-call figures: a new connection is a conntrack miss only once,
 *          and the first segment of a response is counted (status class,
 *          time to first byte) only after a request, which runs untimed
 *          before each reply. The fixed cost of a test run (two clock reads,
 *          bottom halves) is in both figures, so ratios are lower than loop's.
 *
 * Packets arrive with a device (veths in a private namespace, prog_lab.c) so
 * that bpf_fib_lookup() succeeds and the datapath redirects, as it does when
 * every interface is attached. There a backend's reply is reverse-NATed by
 * the XDP program of the backend-side device and redirected to the client
 * side, skipping tc egress; tc egress reverse-NATs only replies that reach
 * the stack un-NATed (a backend behind a device without the program), which
 * reply_rev_nat_v4_tc_egress measures.
 */
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <stdlib.h>
#include <string.h>

#include "canary.skel.h"
#include "prog_cases.h"

const char *const BENCH_BE4[5] = { "10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4", "10.0.2.1" };
const char *const BENCH_BE6[5] = { "fd00:1::1", "fd00:1::2", "fd00:1::3", "fd00:1::4",
				   "fd00:2::1" };
const uint16_t BENCH_PORTS[5] = { 8080, 8080, 8080, 8080, 8080 };
/*
 * The loop service: its first stable backend is its own VIP:80 (see above).
 * Its backends are its own: a backend address two services share costs a new
 * connection two more lookups (cb_rev_taken), which new_connection_v4_shared
 * measures on purpose, after a third service borrows the standard backends.
 */
static const char *const LOOP4[5] = { "10.96.0.11", "10.0.3.2", "10.0.3.3", "10.0.3.4", "10.0.4.1" };
static const char *const LOOP6[5] = { "fd00:96::11", "fd00:3::2", "fd00:3::3", "fd00:3::4",
				      "fd00:4::1" };
static const uint16_t LOOP_PORTS[5] = { 80, 8080, 8080, 8080, 8080 };
#define LOOP_TTL 255
#define LOOP_CHUNK 250   /* runs per call that a TTL of 255 survives, forwarded each time */
#define LOOP_CALLS 40    /* 10,000 runs per measurement run */

struct plan {
	struct lab *l;
	struct svc std[2], loop[2], borrow;   /* [0] IPv4, [1] IPv6 */
	unsigned int repeat;
	size_t single_calls;
	int runs;
	struct result res[16];
	size_t n;
};

static int run_meas(struct plan *pl, struct meas *m)
{
	if (measure(pl->l, m, pl->runs, &pl->res[pl->n]))
		return -1;
	printf("  %-28s %8.1f ns  (baseline %.1f ns)\n", m->name, pl->res[pl->n].ns,
	       pl->res[pl->n].base_ns);
	pl->n++;
	return 0;
}

static int c_non_service(struct plan *pl, struct cctx *c)
{
	struct pkt_spec p = { .family = 4, .src = "192.0.2.77", .dst = "10.0.9.9",
			      .sport = 40000, .dport = 80, .tcp_flags = TCP_ACK, .seq = 1 };
	struct meas m = { .name = "non_service_v4", .method = M_LOOP, .ifindex = pl->l->if_client,
			  .want = XDP_PASS, .chunk = pl->repeat, .calls = 1,
			  .svc_id = pl->std[0].id, .next = next_fixed, .check = check_untouched,
			  .verify = v_not_service, .ctx = c };

	c->len = pkt_build(c->pkt, &p);
	m.prog_fd = bpf_program__fd(pl->l->skel->progs.cb_xdp_ingress);
	return run_meas(pl, &m);
}

/*
 * A client ACK of an established connection (no payload: the common case, no
 * reverse-entry lookup). The handshake already marked the entry acknowledged,
 * so no run writes to it. loop: on the flow whose backend is the VIP itself.
 */
static int c_established(struct plan *pl, struct cctx *c, int fam, int loop)
{
	const char *client = fam == 4 ? "192.0.2.77" : "2001:db8:c::77";
	struct meas m = { .method = loop ? M_LOOP : M_SINGLE, .ifindex = pl->l->if_client,
			  .want = XDP_REDIRECT, .chunk = loop ? LOOP_CHUNK : 1,
			  .calls = loop ? LOOP_CALLS : pl->single_calls,
			  .next = next_fixed, .check = check_dnat_flow, .verify = v_established,
			  .ctx = c };
	uint16_t sport = loop ? 20000 : 21000;
	struct pkt_spec p;

	c->s = loop ? &pl->loop[fam == 6] : &pl->std[fam == 6];
	m.name = fam == 4 ? (loop ? "established_v4" : "established_v4_single") : "established_v6";
	m.svc_id = c->s->id;
	do {
		if (flow_open(pl->l, c->s, client, sport++, &c->fl))
			return -1;
	} while (loop && c->fl.be_idx != 0 && sport < 21000);
	if (loop && c->fl.be_idx != 0)
		return fail(m.name, "no flow landed on the VIP's own backend");
	p = (struct pkt_spec){ .family = fam, .src_addr = &c->fl.client, .dst_addr = &c->s->vip,
			       .sport = c->fl.sport, .dport = 80, .tcp_flags = TCP_ACK,
			       .seq = c->fl.seq, .ttl = loop ? LOOP_TTL : 64 };
	c->len = pkt_build(c->pkt, &p);
	c->ttl_out = (uint8_t)(loop ? LOOP_TTL - LOOP_CHUNK : 63);
	m.prog_fd = bpf_program__fd(pl->l->skel->progs.cb_xdp_ingress);
	if (loop && pl->repeat / LOOP_CHUNK < LOOP_CALLS)   /* --smoke */
		m.calls = pl->repeat / LOOP_CHUNK ? pl->repeat / LOOP_CHUNK : 1;
	return run_meas(pl, &m);
}

static int c_new(struct plan *pl, struct cctx *c, int fam, const char *name, uint64_t first)
{
	struct meas m = { .name = name,
			  .method = M_SINGLE, .ifindex = pl->l->if_client, .want = XDP_REDIRECT,
			  .chunk = 1, .calls = pl->single_calls, .next = next_syn,
			  .check = check_dnat_any, .verify = v_new, .ctx = c };

	c->s = &pl->std[fam == 6];
	c->ttl_out = 63;
	c->flows = first;
	m.svc_id = c->s->id;
	m.prog_fd = bpf_program__fd(pl->l->skel->progs.cb_xdp_ingress);
	if (lab_flush_pending(pl->l))
		return -1;
	return run_meas(pl, &m);
}

static int c_reply(struct plan *pl, struct cctx *c, int fam, int tc)
{
	struct meas m = { .method = M_SINGLE, .tc = tc, .chunk = 1, .calls = pl->single_calls,
			  .next = next_reply, .check = check_snat, .verify = v_reply, .ctx = c };

	m.name = tc ? "reply_rev_nat_v4_tc_egress" : fam == 4 ? "reply_rev_nat_v4" : "reply_rev_nat_v6";
	c->s = &pl->std[fam == 6];
	if (flow_open(pl->l, c->s, fam == 4 ? "192.0.2.77" : "2001:db8:c::77",
		      (uint16_t)(tc ? 30001 : 30000), &c->fl))
		return -1;
	m.svc_id = c->s->id;
	if (tc) {
		/* Leaving towards the client after the stack routed it: not forwarded by us. */
		m.prog_fd = bpf_program__fd(pl->l->skel->progs.cb_tc_egress);
		m.ifindex = pl->l->if_client;
		m.want = TC_ACT_OK;
		c->ttl_out = 64;
	} else {
		m.prog_fd = bpf_program__fd(pl->l->skel->progs.cb_xdp_ingress);
		m.ifindex = pl->l->if_backend;
		m.want = XDP_REDIRECT;
		c->ttl_out = 63;
	}
	return run_meas(pl, &m);
}

int bench_prog(const struct opts *o)
{
	struct plan pl;
	struct lab l;
	struct cctx c;
	uint64_t t0 = now_ns();
	int err = -1;

	pl = (struct plan){ .l = &l, .repeat = o->smoke ? 1000 : 1000000,
			    .single_calls = o->smoke ? 20 : 10000, .runs = o->smoke ? 1 : 7 };
	if (lab_open(&l, 1))
		return -1;
	if (lab_netns(&l) ||
	    svc_make(&l, &pl.std[0], 4, "10.96.0.10", BENCH_BE4, BENCH_PORTS, BENCH_WEIGHT_BP) ||
	    svc_make(&l, &pl.std[1], 6, "fd00:96::10", BENCH_BE6, BENCH_PORTS, BENCH_WEIGHT_BP) ||
	    svc_make(&l, &pl.loop[0], 4, "10.96.0.11", LOOP4, LOOP_PORTS, BENCH_WEIGHT_BP) ||
	    svc_make(&l, &pl.loop[1], 6, "fd00:96::11", LOOP6, LOOP_PORTS, BENCH_WEIGHT_BP))
		goto out;
	printf("prog: repeat %u (loop), %zu calls (single), %d runs, median of runs\n", pl.repeat,
	       pl.single_calls, pl.runs);
#define CASE(call) do { memset(&c, 0, sizeof(c)); c.l = &l; if (call) goto out; } while (0)
	CASE(c_non_service(&pl, &c));
	CASE(c_established(&pl, &c, 4, 1));
	CASE(c_established(&pl, &c, 4, 0));
	CASE(c_reply(&pl, &c, 4, 0));
	CASE(c_reply(&pl, &c, 4, 1));
	CASE(c_new(&pl, &c, 4, "new_connection_v4", 0));
	CASE(c_established(&pl, &c, 6, 1));
	CASE(c_reply(&pl, &c, 6, 0));
	CASE(c_new(&pl, &c, 6, "new_connection_v6", 0));
	if (svc_make(&l, &pl.borrow, 4, "10.96.0.12", BENCH_BE4, BENCH_PORTS, BENCH_WEIGHT_BP))
		goto out;
	CASE(c_new(&pl, &c, 4, "new_connection_v4_shared", 1u << 20));
#undef CASE
	printf("\n");
	err = results_report(o, pl.res, pl.n, pl.repeat, pl.runs, pl.single_calls);
	printf("prog: %.1f s\n", (double)(now_ns() - t0) / 1e9);
out:
	lab_close(&l);
	return err;
}

