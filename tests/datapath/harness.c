// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "harness.h"
#include "skel_maps.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int seed_from_env(struct lab *l)
{
	uint8_t seed[CB_SEED_LEN] = { 0 };
	unsigned long long n = strtoull(getenv("TEST_SEED"), NULL, 0);

	memcpy(seed, &n, sizeof(n));
	return cb_meta_set_seed(&l->maps, seed, sizeof(seed)) < 0;
}

struct lab *lab_open_sized(uint32_t ct_entries)
{
	struct lab *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->skel = canary__open();
	if (l->skel && ct_entries) {
		bpf_map__set_max_entries(l->skel->maps.cb_ct, ct_entries);
		bpf_map__set_max_entries(l->skel->maps.cb_rev, ct_entries);
		bpf_map__set_max_entries(l->skel->maps.cb_pend, ct_entries / 2);
		bpf_map__set_max_entries(l->skel->maps.cb_pend_rev, ct_entries / 2);
	}
	if (!l->skel || canary__load(l->skel)) {
		fprintf(stderr, "load datapath: %s\n", strerror(errno));
		lab_free(l);
		return NULL;
	}
	l->maps = cb_maps_of_skel(l->skel);
	/* Random seeds, as an installation has them; TEST_SEED=N makes them N's. */
	if (cb_meta_init(&l->maps) || (getenv("TEST_SEED") && seed_from_env(l))) {
		lab_free(l);
		return NULL;
	}
	return l;
}

int lab_setup(void **state)
{
	struct lab *l = lab_open_sized(0);

	*state = l;
	return l ? 0 : -1;
}

struct lab *lab_reopen(const struct lab *from)
{
	struct lab *l = calloc(1, sizeof(*l));
	struct bpf_map *map;

	assert_non_null(l);
	l->skel = canary__open();
	assert_non_null(l->skel);
	bpf_object__for_each_map(map, l->skel->obj) {
		struct bpf_map *old = bpf_object__find_map_by_name(from->skel->obj,
								   bpf_map__name(map));

		if (old && !bpf_map__is_internal(map))
			assert_int_equal(bpf_map__reuse_fd(map, bpf_map__fd(old)), 0);
	}
	assert_int_equal(canary__load(l->skel), 0);
	l->maps = cb_maps_of_skel(l->skel);
	return l;
}

void lab_free(struct lab *l)
{
	if (!l)
		return;
	canary__destroy(l->skel);
	free(l);
}

int lab_teardown(void **state)
{
	lab_free(*state);
	return 0;
}

const char *hook_name(enum hook h)
{
	return h == HOOK_XDP ? "xdp" : h == HOOK_TC_IN ? "tc-ingress" : "tc-egress";
}

void run_pkt(struct lab *l, enum hook h, const uint8_t *pkt, size_t len, uint32_t ifindex,
	     struct run_out *o)
{
	int err = run_pkt_try(l, h, pkt, len, ifindex, o);

	if (err) {
		fprintf(stderr, "BPF_PROG_TEST_RUN (%s, %zu bytes): %s\n", hook_name(h), len,
			strerror(-err));
		fail();
	}
}

int run_pkt_try(struct lab *l, enum hook h, const uint8_t *pkt, size_t len, uint32_t ifindex,
		struct run_out *o)
{
	struct xdp_md xctx = { .data_end = (uint32_t)len, .ingress_ifindex = ifindex };
	struct __sk_buff sctx = { .ifindex = ifindex, .gso_segs = l->gso_segs };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = (uint32_t)len,
		    .data_out = o->data, .data_size_out = sizeof(o->data), .repeat = 1);
	int fd;

	if (h == HOOK_XDP) {
		fd = bpf_program__fd(l->skel->progs.cb_xdp_ingress);
		if (ifindex) {
			opts.ctx_in = &xctx;
			opts.ctx_size_in = sizeof(xctx);
		}
	} else {
		fd = bpf_program__fd(h == HOOK_TC_IN ? l->skel->progs.cb_tc_ingress
						     : l->skel->progs.cb_tc_egress);
		if (ifindex || l->gso_segs) {
			opts.ctx_in = &sctx;
			opts.ctx_size_in = sizeof(sctx);
		}
	}
	/*
	 * tc runs get CHECKSUM_COMPLETE skbs where the kernel supports it (6.11+):
	 * the kernel then checks that the program kept skb->csum right.
	 */
	static int complete_ok = 1;

	if (h != HOOK_XDP && complete_ok) {
		opts.flags = BPF_F_TEST_SKB_CHECKSUM_COMPLETE;
		if (bpf_prog_test_run_opts(fd, &opts) == 0)
			goto done;
		if (errno != EINVAL)
			return -errno;
		/* EINVAL: an old kernel without the flag, or a packet it refuses anyway. */
		opts.flags = 0;
		if (bpf_prog_test_run_opts(fd, &opts) == 0) {
			complete_ok = 0;
			goto done;
		}
		return -errno;
	}
	if (bpf_prog_test_run_opts(fd, &opts))
		return -errno;
done:
	o->len = opts.data_size_out;
	if (h == HOOK_XDP)
		o->verdict = opts.retval == XDP_PASS ? V_PASS : opts.retval == XDP_DROP ? V_DROP :
			     opts.retval == XDP_REDIRECT ? V_REDIRECT : V_OTHER;
	else
		o->verdict = opts.retval == TC_ACT_OK ? V_PASS : opts.retval == TC_ACT_SHOT ? V_DROP :
			     opts.retval == TC_ACT_REDIRECT ? V_REDIRECT : V_OTHER;
	o->csum = pkt_check(o->data, o->len, &o->v);
	return 0;
}

void run_spec(struct lab *l, enum hook h, const struct pkt_spec *s, struct run_out *o)
{
	uint8_t buf[PKT_MAX];
	size_t len = pkt_build(buf, s);

	run_pkt(l, h, buf, len, 0, o);
}

struct cb_endpoint ep(int family, const char *addr, uint16_t port)
{
	struct cb_endpoint e = { .addr = pkt_addr(family, addr), .port = port,
				 .family = family == 4 ? CB_AF_INET : CB_AF_INET6 };
	return e;
}

void svc_add(struct lab *l, struct svc *s, int family, const char *vip, uint16_t port,
	     int proto, int affinity)
{
	struct cb_endpoint v = ep(family, vip, port);

	cb_svc_key_make(&s->key, &v, (uint8_t)proto);
	s->family = family;
	assert_int_equal(cb_svc_add(&l->maps, &s->key, (uint8_t)affinity, 0, 0, &s->id), 0);
}

void track_set(struct lab *l, struct svc *s, int track, const char *const *addrs,
	       uint16_t port, size_t n)
{
	struct cb_endpoint *e = calloc(n ? n : 1, sizeof(*e));

	for (size_t i = 0; i < n; i++)
		e[i] = ep(s->family, addrs[i], port);
	assert_int_equal(cb_track_set(&l->maps, &s->key, (unsigned int)track, e, n), 0);
	free(e);
}

void weight_set(struct lab *l, struct svc *s, uint32_t bp)
{
	assert_int_equal(cb_weight_set(&l->maps, &s->key, bp), 0);
}

struct cb_track_stats track_stats(struct lab *l, struct svc *s, int track)
{
	struct cb_track_stats st;

	assert_int_equal(cb_stats_read(&l->maps, s->id, (unsigned int)track, &st), 0);
	return st;
}

uint64_t global_count(struct lab *l, int counter)
{
	uint64_t g[CB_G_MAX];

	assert_int_equal(cb_global_read(&l->maps, g), 0);
	return g[counter];
}

struct cb_ct_key flow_key(int family, int proto, const char *saddr, uint16_t sport,
			  const char *daddr, uint16_t dport)
{
	struct cb_ct_key k;

	memset(&k, 0, sizeof(k));
	k.saddr = pkt_addr(family, saddr);
	k.daddr = pkt_addr(family, daddr);
	k.sport = htons(sport);
	k.dport = htons(dport);
	k.proto = (uint8_t)proto;
	k.family = family == 4 ? CB_AF_INET : CB_AF_INET6;
	return k;
}

/* The reply tuple of verified flow ct of key k. */
static struct cb_ct_key rev_key_of(const struct cb_ct_key *k, const struct cb_ct_entry *ct)
{
	struct cb_ct_key rk;

	memset(&rk, 0, sizeof(rk));
	rk.saddr = ct->baddr;
	rk.daddr = k->saddr;
	rk.sport = ct->bport;
	rk.dport = k->sport;
	rk.proto = k->proto;
	rk.family = k->family;
	return rk;
}

int flow_get(struct lab *l, const struct cb_ct_key *k, struct cb_ct_entry *ct,
	     struct cb_rev_entry *rev)
{
	struct cb_pend_entry pe;
	struct cb_ct_key rk;

	if (bpf_map_lookup_elem(l->maps.ct, k, ct) == 0) {
		rk = rev_key_of(k, ct);
		if (rev && bpf_map_lookup_elem(l->maps.rev, &rk, rev))
			return -1;
		return 0;
	}
	if (bpf_map_lookup_elem(l->maps.pend, k, &pe))
		return -1;
	*ct = pe.ct;
	if (rev)
		*rev = pe.rev;
	return 0;
}

void flow_put(struct lab *l, const struct cb_ct_key *k, const struct cb_ct_entry *ct,
	      const struct cb_rev_entry *rev)
{
	struct cb_pend_entry pe;
	struct cb_ct_entry old;
	struct cb_ct_key rk;

	if (bpf_map_lookup_elem(l->maps.ct, k, &old) == 0) {
		assert_int_equal(bpf_map_update_elem(l->maps.ct, k, ct, BPF_EXIST), 0);
		rk = rev_key_of(k, ct);
		if (rev)
			assert_int_equal(bpf_map_update_elem(l->maps.rev, &rk, rev, BPF_EXIST), 0);
		return;
	}
	assert_int_equal(bpf_map_lookup_elem(l->maps.pend, k, &pe), 0);
	pe.ct = *ct;
	if (rev)
		pe.rev = *rev;
	assert_int_equal(bpf_map_update_elem(l->maps.pend, k, &pe, BPF_EXIST), 0);
}

int addr_index(int family, const union cb_addr *a, const char *const *addrs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		union cb_addr b = pkt_addr(family, addrs[i]);

		if (pkt_addr_eq(a, &b))
			return (int)i;
	}
	return -1;
}

void binom_interval(uint64_t n, double p, uint64_t *lo, uint64_t *hi)
{
	double cdf = 0;
	int have_lo = 0;

	*lo = 0;
	*hi = n;
	if (p <= 0) {
		*hi = 0;
		return;
	}
	if (p >= 1) {
		*lo = n;
		return;
	}
	for (uint64_t k = 0; k <= n; k++) {
		double lp = lgamma((double)n + 1) - lgamma((double)k + 1) - lgamma((double)(n - k) + 1) +
			    (double)k * log(p) + (double)(n - k) * log1p(-p);

		cdf += exp(lp);
		if (!have_lo && cdf >= 0.0005) {
			*lo = k;
			have_lo = 1;
		}
		if (cdf >= 0.9995) {
			*hi = k;
			return;
		}
	}
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
