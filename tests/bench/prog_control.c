// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `bench_prog control`: the control plane's two promises, timed through the
 * library the CLI and the agent use.
 *
 *  weight_visible   from calling cb_weight_set() until the very next new
 *                   connection has been placed by the new weight: the weight
 *                   flips 0 <-> 100 %, so the track of that one connection
 *                   says whether it saw the update (a miss must never happen:
 *                   the record is replaced by one map update, no cache).
 *  maglev_rebuild   cb_track_set() replacing a track by 1,000 other backends
 *                   (two disjoint sets in turn), and the table build alone.
 *
 * Packets run without a device: no route, the datapath hands them to the
 * stack (XDP_PASS), which a test run does not do; nothing is sent.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#include "canary.skel.h"
#include "maglev.h"
#include "prog.h"

#define REBUILD_BACKENDS 1000

struct control {
	double wv_median_us, wv_p99_us;
	unsigned int wv_runs, wv_misses;
	double mg_median_ms, mg_min_ms, mg_max_ms, build_ms;
	unsigned int mg_runs;
};

/* A SYN of a connection never seen before (flow n) to the service. */
static size_t new_syn(const struct svc *s, uint32_t n, uint8_t *pkt)
{
	union cb_addr src = pkt_addr(4, "198.18.0.0");
	struct pkt_spec p = { .family = 4, .src_addr = &src, .dst_addr = &s->vip, .dport = 80,
			      .sport = (uint16_t)(20000 + (n & 0x3fff)), .tcp_flags = TCP_SYN,
			      .seq = 1000 };

	src.b[2] = (uint8_t)(n >> 22);
	src.b[3] = (uint8_t)(n >> 14);
	return pkt_build(pkt, &p);
}

/* Run new connection n; v: where the datapath sent it. */
static int syn_view(struct lab *l, const struct svc *s, uint32_t n, struct pkt_view *v)
{
	int fd = bpf_program__fd(l->skel->progs.cb_xdp_ingress);
	struct tr o;
	uint8_t pkt[PKT_MAX];
	size_t len = new_syn(s, n, pkt);
	int err = tr_run(fd, 0, pkt, len, 0, 1, &o);

	if (err)
		return fail("test run", "%s", strerror(-err));
	if (o.retval != XDP_PASS || pkt_check(o.out, o.out_len, v))
		return fail("new connection", "returned %u, or its output is broken", o.retval);
	return 0;
}

static int weight_visible(struct lab *l, unsigned int runs, struct control *r)
{
	double *us = calloc(runs, sizeof(*us));
	struct tr o;
	struct svc s;
	int err = -1;

	if (!us)
		return fail("weight_visible", "out of memory");
	if (svc_make(l, &s, 4, "10.96.0.10", BENCH_BE4, BENCH_PORTS, 0))
		goto out;
	r->wv_runs = runs;
	for (unsigned int i = 0; i < runs; i++) {
		int want = i & 1;   /* 100 %: canary; 0 %: stable */
		int fd = bpf_program__fd(l->skel->progs.cb_xdp_ingress);
		uint8_t pkt[PKT_MAX];
		size_t len = new_syn(&s, i, pkt);
		uint64_t t0, t1;
		int e1, e2, be;
		struct pkt_view v;

		t0 = now_ns();
		e1 = cb_weight_set(&l->maps, &s.key, want ? CB_WEIGHT_MAX : 0);
		e2 = tr_run(fd, 0, pkt, len, 0, 1, &o);
		t1 = now_ns();
		if (e1 || e2) {
			fail("weight_visible", "%s", strerror(-(e1 ? e1 : e2)));
			goto out;
		}
		if (o.retval != XDP_PASS || pkt_check(o.out, o.out_len, &v)) {
			fail("weight_visible", "new connection returned %u, or its output is broken",
			     o.retval);
			goto out;
		}
		be = svc_backend(&s, &v.daddr, v.dport);
		if (be < 0) {
			fail("weight_visible", "new connection not sent to a backend");
			goto out;
		}
		if ((be == 4) != want)
			r->wv_misses++;
		us[i] = (double)(t1 - t0) / 1e3;
	}
	r->wv_median_us = quantile_dbl(us, runs, 0.5);
	r->wv_p99_us = quantile_dbl(us, runs, 0.99);
	err = cb_svc_del(&l->maps, &s.key);
	if (err)
		fail("cb_svc_del", "%s", strerror(-err));
out:
	free(us);
	return err;
}

/* Backend i of set k: 10.(1 + k).x.y:8080, all distinct. */
static struct cb_endpoint rebuild_backend(unsigned int k, unsigned int i)
{
	struct cb_endpoint e = { .addr = pkt_addr(4, "10.0.0.0"), .port = 8080,
				 .family = CB_AF_INET };

	e.addr.b[1] = (uint8_t)(1 + k);
	e.addr.b[2] = (uint8_t)(i / 250);
	e.addr.b[3] = (uint8_t)(1 + i % 250);
	return e;
}

/* cb_maglev_build() alone for the same backends: what is not map updates and RCU waits. */
static int build_only(const struct cb_endpoint *set, unsigned int runs, double *median_ms)
{
	struct cb_maglev_item items[REBUILD_BACKENDS];
	uint32_t *table = calloc(CB_MAGLEV_M, sizeof(*table));
	double *ms = calloc(runs, sizeof(*ms));
	int err = 0;

	if (!table || !ms) {
		err = fail("maglev build", "out of memory");
		goto out;
	}
	for (unsigned int i = 0; i < REBUILD_BACKENDS; i++)
		items[i] = (struct cb_maglev_item){ .key = &set[i], .key_len = sizeof(set[i].addr) };
	for (unsigned int k = 0; k < runs && !err; k++) {
		uint64_t t0 = now_ns();

		err = cb_maglev_build(items, REBUILD_BACKENDS, CB_MAGLEV_M, table);
		ms[k] = (double)(now_ns() - t0) / 1e6;
	}
	if (err)
		fail("cb_maglev_build", "%s", strerror(-err));
	else
		*median_ms = quantile_dbl(ms, runs, 0.5);
out:
	free(table);
	free(ms);
	return err;
}

static int maglev_rebuild(struct lab *l, unsigned int runs, struct control *r)
{
	struct cb_endpoint *sets = calloc(2 * REBUILD_BACKENDS, sizeof(*sets));
	double *ms = calloc(runs, sizeof(*ms));
	struct pkt_view v;
	struct svc s;
	int err = -1;

	if (!sets || !ms) {
		fail("maglev_rebuild", "out of memory");
		goto out;
	}
	for (unsigned int k = 0; k < 2; k++)
		for (unsigned int i = 0; i < REBUILD_BACKENDS; i++)
			sets[k * REBUILD_BACKENDS + i] = rebuild_backend(k, i);
	if (svc_make(l, &s, 4, "10.96.1.1", BENCH_BE4, BENCH_PORTS, 0))
		goto out;
	/* The first set is not timed: from 4 backends to 1,000 is not a replacement. */
	err = cb_track_set(&l->maps, &s.key, CB_TRACK_STABLE, sets, REBUILD_BACKENDS);
	for (unsigned int k = 0; k < runs && !err; k++) {
		const struct cb_endpoint *set = sets + ((k + 1) % 2) * REBUILD_BACKENDS;
		uint64_t t0 = now_ns();

		err = cb_track_set(&l->maps, &s.key, CB_TRACK_STABLE, set, REBUILD_BACKENDS);
		ms[k] = (double)(now_ns() - t0) / 1e6;
	}
	if (err) {
		fail("cb_track_set", "%d backends: %s", REBUILD_BACKENDS, strerror(-err));
		goto out;
	}
	/* New connections must reach the set given last: 10.(1 + runs % 2).x.y. */
	err = syn_view(l, &s, 1u << 20, &v);
	if (!err && (v.daddr.b[0] != 10 || v.daddr.b[1] != 1 + runs % 2 || v.dport != 8080))
		err = fail("maglev_rebuild", "new connection not sent to the last backend set");
	if (err)
		goto out;
	r->mg_runs = runs;
	r->mg_median_ms = quantile_dbl(ms, runs, 0.5);
	r->mg_min_ms = ms[0];
	r->mg_max_ms = ms[runs - 1];
	err = build_only(sets, runs, &r->build_ms);
out:
	free(sets);
	free(ms);
	return err;
}

static int report(const struct opts *o, const struct control *r)
{
	FILE *f;
	int bad;

	printf("weight_visible  median %.1f us  p99 %.1f us  misses %u of %u\n", r->wv_median_us,
	       r->wv_p99_us, r->wv_misses, r->wv_runs);
	printf("maglev_rebuild  %d backends: median %.2f ms (%.2f..%.2f, %u runs), "
	       "table build alone %.3f ms (M=%d)\n", REBUILD_BACKENDS, r->mg_median_ms,
	       r->mg_min_ms, r->mg_max_ms, r->mg_runs, r->build_ms, CB_MAGLEV_M);
	if (!o->out)
		return 0;
	f = fopen(o->out, "w");
	if (!f)
		return fail(o->out, "%s", strerror(errno));
	fprintf(f, "{\"kind\":\"control\",\"weight_visible_us\":{\"median\":%.2f,\"p99\":%.2f,"
		"\"misses\":%u,\"runs\":%u},\"maglev_rebuild_ms\":{\"backends\":%d,\"median\":%.3f,"
		"\"min\":%.3f,\"max\":%.3f,\"runs\":%u,\"m\":%d,\"build_only_ms\":%.4f}}\n",
		r->wv_median_us, r->wv_p99_us, r->wv_misses, r->wv_runs, REBUILD_BACKENDS,
		r->mg_median_ms, r->mg_min_ms, r->mg_max_ms, r->mg_runs, CB_MAGLEV_M, r->build_ms);
	bad = ferror(f);
	if (fclose(f) || bad)
		return fail(o->out, "write failed");
	return 0;
}

int bench_control(const struct opts *o)
{
	struct control r = { 0 };
	struct lab l;
	int err;

	if (lab_open(&l, 0))
		return -1;
	err = weight_visible(&l, o->smoke ? 20 : 1000, &r);
	if (!err)
		err = maglev_rebuild(&l, o->smoke ? 2 : 10, &r);
	lab_close(&l);
	if (!err)
		err = report(o, &r);
	if (!err && r.wv_misses)
		err = fail("weight_visible", "%u new connections did not see the new weight",
			   r.wv_misses);
	return err;
}
