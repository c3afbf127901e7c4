// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * One case of `bench_prog prog`: the datapath and the baseline program run
 * the same packets the same way, alternating call by call so that drift
 * (another process, frequency changes) hits both alike. Every call's
 * verdict and output are checked, and the counters afterwards must have
 * moved by exactly the number of runs: a setup that sends the packets down
 * another path cannot produce a number.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>

#include "bench_min.skel.h"
#include "prog_measure.h"

static const char *retval_name(int tc, uint32_t v)
{
	if (tc)
		return v == TC_ACT_OK ? "TC_ACT_OK" : v == TC_ACT_SHOT ? "TC_ACT_SHOT" :
		       v == TC_ACT_REDIRECT ? "TC_ACT_REDIRECT" : "other";
	return v == XDP_PASS ? "XDP_PASS" : v == XDP_DROP ? "XDP_DROP" :
	       v == XDP_TX ? "XDP_TX" : v == XDP_REDIRECT ? "XDP_REDIRECT" : "other";
}

/* The baseline on pkt: it must pass it and have read the ports at L4. */
static int run_base(struct lab *l, const struct meas *m, const uint8_t *pkt, size_t len,
		    uint32_t ports, struct tr *o)
{
	int fd = bpf_program__fd(m->tc ? l->min->progs.bench_min_tc : l->min->progs.bench_min_xdp);
	uint32_t want = m->tc ? TC_ACT_OK : XDP_PASS;
	int err;

	l->min->bss->bench_ports = 0;
	err = tr_run(fd, m->tc, pkt, len, m->ifindex, m->chunk, o);
	if (err)
		return fail(m->name, "baseline test run: %s", strerror(-err));
	if (o->retval != want || l->min->bss->bench_ports != ports)
		return fail(m->name, "baseline returned %u, read ports %#x (want %#x)", o->retval,
			    l->min->bss->bench_ports, ports);
	return 0;
}

static int run_case(struct meas *m, const uint8_t *pkt, size_t len, struct tr *o)
{
	int err = tr_run(m->prog_fd, m->tc, pkt, len, m->ifindex, m->chunk, o);

	if (err)
		return fail(m->name, "test run: %s", strerror(-err));
	if (o->retval != m->want)
		return fail(m->name, "returned %s, not %s", retval_name(m->tc, o->retval),
			    retval_name(m->tc, m->want));
	return m->check(m, o);
}

/* M_LOOP: the mean of the calls' averages (equal chunks); M_SINGLE: their median. */
static double run_value(const struct meas *m, uint32_t *d)
{
	double sum = 0;

	if (m->method == M_SINGLE)
		return quantile_u32(d, m->calls, 0.5);
	for (size_t i = 0; i < m->calls; i++)
		sum += d[i];
	return sum / (double)m->calls;
}

int measure(struct lab *l, struct meas *m, int runs, struct result *r)
{
	uint32_t *dc = calloc(m->calls, sizeof(*dc)), *db = calloc(m->calls, sizeof(*db));
	double *vc = calloc((size_t)runs, sizeof(*vc)), *vb = calloc((size_t)runs, sizeof(*vb));
	struct counters before, after;
	struct tr oc, ob;
	uint8_t pkt[PKT_MAX];
	int err = -1;

	if (!dc || !db || !vc || !vb) {
		fail(m->name, "out of memory");
		goto out;
	}
	if (counters_read(l, m->svc_id, &before))
		goto out;
	for (int run = 0; run < runs; run++) {
		for (size_t i = 0; i < m->calls; i++) {
			struct pkt_view v;
			size_t len;

			if (m->next(m, pkt, &len))
				goto out;
			if (pkt_check(pkt, len, &v)) {
				fail(m->name, "built a packet it cannot read");
				goto out;
			}
			/* Which goes first alternates: neither always finds the caches warm. */
			if (i & 1) {
				if (run_case(m, pkt, len, &oc) ||
				    run_base(l, m, pkt, len, (uint32_t)v.sport << 16 | v.dport, &ob))
					goto out;
			} else if (run_base(l, m, pkt, len, (uint32_t)v.sport << 16 | v.dport, &ob) ||
				   run_case(m, pkt, len, &oc)) {
				goto out;
			}
			dc[i] = oc.duration;
			db[i] = ob.duration;
		}
		vc[run] = run_value(m, dc);
		vb[run] = run_value(m, db);
	}
	if (counters_read(l, m->svc_id, &after) ||
	    m->verify(m, &before, &after, (uint64_t)runs * m->calls * m->chunk))
		goto out;
	*r = (struct result){
		.name = m->name, .method = m->method == M_LOOP ? "loop" : "single",
		.hook = m->tc ? "tc_egress" : "xdp", .chunk = m->chunk, .calls = m->calls,
		.retval = m->want,
	};
	r->ns = quantile_dbl(vc, (size_t)runs, 0.5);
	r->min_ns = vc[0];
	r->max_ns = vc[runs - 1];
	r->base_ns = quantile_dbl(vb, (size_t)runs, 0.5);
	r->base_min_ns = vb[0];
	r->base_max_ns = vb[runs - 1];
	r->ratio = r->base_ns > 0 ? r->ns / r->base_ns : 0;
	err = 0;
out:
	free(dc);
	free(db);
	free(vc);
	free(vb);
	return err;
}

int results_report(const struct opts *o, const struct result *r, size_t n, unsigned int repeat,
		   int runs, size_t single_calls)
{
	FILE *f;
	int bad;

	printf("%-28s %-6s %-9s %10s %10s %7s %19s\n", "case", "method", "hook", "ns", "base ns",
	       "ratio", "range ns (runs)");
	for (size_t i = 0; i < n; i++)
		printf("%-28s %-6s %-9s %10.1f %10.1f %6.2fx %9.1f..%-9.1f\n", r[i].name, r[i].method,
		       r[i].hook, r[i].ns, r[i].base_ns, r[i].ratio, r[i].min_ns, r[i].max_ns);
	if (!o->out)
		return 0;
	f = fopen(o->out, "w");
	if (!f)
		return fail(o->out, "%s", strerror(errno));
	fprintf(f, "{\"kind\":\"prog\",\"repeat\":%u,\"runs\":%d,\"single_calls\":%zu,\"cases\":[",
		repeat, runs, single_calls);
	for (size_t i = 0; i < n; i++) {
		const struct result *x = &r[i];

		fprintf(f, "%s\n {\"name\":\"%s\",\"ns\":%.1f,\"baseline_ns\":%.1f,\"ratio\":%.3f,"
			"\"min_ns\":%.1f,\"max_ns\":%.1f,\"baseline_min_ns\":%.1f,"
			"\"baseline_max_ns\":%.1f,\"method\":\"%s\",\"hook\":\"%s\","
			"\"repeat_per_call\":%u,\"calls_per_run\":%zu,\"verdict\":\"%s\"}",
			i ? "," : "", x->name, x->ns, x->base_ns, x->ratio, x->min_ns, x->max_ns,
			x->base_min_ns, x->base_max_ns, x->method, x->hook, x->chunk, x->calls,
			retval_name(!strcmp(x->hook, "tc_egress"), x->retval));
	}
	fprintf(f, "\n]}\n");
	bad = ferror(f);
	if (fclose(f) || bad)
		return fail(o->out, "write failed");
	return 0;
}
