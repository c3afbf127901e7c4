// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* SPEC points 5 and 6, stickiness and Maglev balance, over many synthetic flows. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"

/* A TCP packet of flow (client number, sport) through XDP; returns its track. */
static int flow_track(struct lab *l, int family, uint32_t client, uint16_t sport, uint8_t flags,
		      struct run_out *o)
{
	struct pkt_spec p = client_pkt(family, IPPROTO_TCP, NULL, sport, flags);
	char a[64];

	p.src = client_addr(family, client, a);
	run_spec(l, HOOK_XDP, &p, o);
	assert_int_equal(o->verdict, V_PASS);
	return landed_track(o, family);
}

#define SPLIT_FLOWS 100000

void test_spec5_split_accuracy_100k_flows(void **state)
{
	struct lab *l = *state;
	static const uint32_t weights[] = { 0, 1, 500, 5000, 9999, 10000 };
	struct svc s;
	uint32_t client = 0;

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	for (size_t w = 0; w < sizeof(weights) / sizeof(weights[0]); w++) {
		uint64_t canary = 0, lo, hi;
		uint32_t per_backend[4] = { 0 };
		struct run_out o;

		weight_set(l, &s, weights[w]);
		for (uint32_t i = 0; i < SPLIT_FLOWS; i++, client++) {
			int t = flow_track(l, 4, client / 8, (uint16_t)(1024 + client % 8), 0x02, &o);

			assert_true(t >= 0);
			canary += (uint64_t)t;
			if (t == CB_TRACK_STABLE)
				per_backend[addr_index(4, &o.v.daddr, STABLE4, 4)]++;
		}
		binom_interval(SPLIT_FLOWS, weights[w] / 10000.0, &lo, &hi);
		print_message("      weight %6.2f %%: canary %6llu of %u (99.9 %% interval %llu..%llu)\n",
			      weights[w] / 100.0, (unsigned long long)canary, SPLIT_FLOWS,
			      (unsigned long long)lo, (unsigned long long)hi);
		assert_in_range(canary, lo, hi);
		/* Every stable backend serves, where each can expect a hundred flows or more. */
		for (int b = 0; b < 4 && (10000 - weights[w]) * (uint64_t)SPLIT_FLOWS / 40000 >= 100; b++)
			assert_true(per_backend[b] > 0);
	}
}

#define STICKY_FLOWS 10000
#define STICKY_CHANGES 100

void test_stickiness_10k_flows_100_weight_changes(void **state)
{
	struct lab *l = *state;
	struct svc s;
	union cb_addr *be = calloc(STICKY_FLOWS, sizeof(*be));
	struct run_out o;
	uint32_t seed = 12345;
	char a[64];

	std_service(l, &s, 6, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	weight_set(l, &s, 5000);
	for (uint32_t i = 0; i < STICKY_FLOWS; i++) {
		assert_true(open_flow(l, HOOK_XDP, 6, IPPROTO_TCP, client_addr(6, i, a), 4000, &o) >= 0);
		be[i] = o.v.daddr;
	}
	for (int c = 0; c < STICKY_CHANGES; c++) {
		seed = seed * 1103515245 + 12345;
		weight_set(l, &s, (seed >> 8) % 10001);
		for (uint32_t i = 0; i < STICKY_FLOWS; i++) {
			flow_track(l, 6, i, 4000, 0x10, &o);
			assert_true(pkt_addr_eq(&o.v.daddr, &be[i]));
		}
	}
	assert_int_equal(track_stats(l, &s, 0).connections + track_stats(l, &s, 1).connections,
			 STICKY_FLOWS);
	free(be);
}

#define AFF_CLIENTS 5000

void test_spec6_client_affinity_monotone(void **state)
{
	struct lab *l = *state;
	struct svc s;
	int8_t *track = malloc(AFF_CLIENTS);
	union cb_addr *be = calloc(AFF_CLIENTS, sizeof(*be));
	struct run_out o;
	uint16_t sport = 1024;

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CLIENT);
	memset(track, 0, AFF_CLIENTS);
	for (uint32_t w = 1; w <= 100; w++) {
		uint32_t canary = 0;

		weight_set(l, &s, w * 100);
		for (uint32_t c = 0; c < AFF_CLIENTS; c++) {
			/* every step: a new connection from each client */
			int t = flow_track(l, 4, c, sport, 0x02, &o);

			assert_true(t >= 0);
			/* canary -> stable never happens while the weight rises */
			assert_false(track[c] == CB_TRACK_CANARY && t == CB_TRACK_STABLE);
			/* and within a track the client keeps its backend */
			if (w > 1 && track[c] == t)
				assert_true(pkt_addr_eq(&o.v.daddr, &be[c]));
			track[c] = (int8_t)t;
			be[c] = o.v.daddr;
			canary += (uint32_t)t;
		}
		sport++;
		if (w % 25 == 0)
			print_message("      weight %3u %%: %4u of %u clients on canary\n", w, canary,
				      AFF_CLIENTS);
	}
	for (uint32_t c = 0; c < AFF_CLIENTS; c++)
		assert_int_equal(track[c], CB_TRACK_CANARY);
	free(track);
	free(be);
}

/* Backend address list 10.0.3.1 ... */
static const char **backend_list(int n, char (*buf)[32])
{
	const char **v = calloc((size_t)n, sizeof(*v));

	for (int i = 0; i < n; i++) {
		sprintf(buf[i], "10.0.%d.%d", 3 + i / 250, 1 + i % 250);
		v[i] = buf[i];
	}
	return v;
}

void test_maglev_fair_share_64_backends(void **state)
{
	struct lab *l = *state;
	static const int sizes[] = { 2, 7, 64 };
	char buf[64][32];
	uint32_t client = 0;

	for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
		int n = sizes[z];
		uint32_t flows = (uint32_t)n * 10000, count[64] = { 0 };
		const char **addrs = backend_list(n, buf);
		struct svc s;
		double worst = 0;

		svc_add(l, &s, 4, VIP4, (uint16_t)(80 + z), IPPROTO_TCP, CB_AFFINITY_CONNECTION);
		track_set(l, &s, CB_TRACK_STABLE, addrs, BPORT, (size_t)n);
		for (uint32_t i = 0; i < flows; i++, client++) {
			struct pkt_spec p = client_pkt(4, IPPROTO_TCP, NULL, (uint16_t)(1024 + client % 16), 0x02);
			struct run_out o;
			char a[64];

			p.src = client_addr(4, client / 16, a);
			p.dport = (uint16_t)(80 + z);
			run_spec(l, HOOK_XDP, &p, &o);
			int b = addr_index(4, &o.v.daddr, addrs, (size_t)n);

			assert_true(b >= 0);
			count[b]++;
		}
		for (int b = 0; b < n; b++) {
			double dev = (double)count[b] / (flows / (double)n) - 1;

			assert_true(dev < 0.05 && dev > -0.05);
			if (dev < 0)
				dev = -dev;
			if (dev > worst)
				worst = dev;
		}
		print_message("      %2d backends, %u flows: worst share off by %.2f %%\n", n, flows,
			      worst * 100);
		free(addrs);
	}
}

/* Every flow forgotten, verified or not (UDP flows live in cb_pend). */
static void ct_flush(struct lab *l)
{
	const int fds[] = { l->maps.ct, l->maps.rev, l->maps.pend, l->maps.pend_rev };
	struct cb_ct_key next;

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		while (bpf_map_get_next_key(fds[i], NULL, &next) == 0)
			assert_int_equal(bpf_map_delete_elem(fds[i], &next), 0);
}

#define REMOVAL_FLOWS 50000

/* Of the flows not on the removed backend, how many a new connection moves (of *others). */
static uint32_t removal_moves(struct lab *l, uint32_t *others)
{
	struct svc s;
	char buf[10][32];
	const char **addrs = backend_list(10, buf);
	int *before = calloc(REMOVAL_FLOWS, sizeof(*before));
	uint32_t moved = 0;

	*others = 0;
	svc_add(l, &s, 4, VIP4, 80, IPPROTO_UDP, CB_AFFINITY_CONNECTION);
	track_set(l, &s, CB_TRACK_STABLE, addrs, BPORT, 10);
	for (int pass = 0; pass < 3; pass++) {
		if (pass == 1)
			track_set(l, &s, CB_TRACK_STABLE, addrs, BPORT, 9);  /* drop the last */
		if (pass == 2)
			ct_flush(l);   /* the same flows, as new connections */
		for (uint32_t i = 0; i < REMOVAL_FLOWS; i++) {
			struct pkt_spec p = client_pkt(4, IPPROTO_UDP, NULL, (uint16_t)(1024 + i % 16), 0);
			struct run_out o;
			char a[64];

			p.src = client_addr(4, i / 16, a);
			run_spec(l, HOOK_XDP, &p, &o);
			int b = addr_index(4, &o.v.daddr, addrs, 10);

			assert_true(b >= 0);
			if (pass == 0) {
				before[i] = b;
				continue;
			}
			if (before[i] == 9) {
				assert_int_not_equal(b, 9);
				continue;
			}
			if (pass == 1) {
				/* established: only the removed backend's flows move */
				assert_int_equal(b, before[i]);
			} else {
				(*others)++;
				moved += b != before[i];
			}
		}
	}
	free(before);
	free(addrs);
	return moved;
}

/*
 * A node's own seeds: the table is rebuilt from the live one, and removing
 * a backend moves no other backend's new connections. Seeds shared by a
 * fleet: the table is a pure function of the set (nodes must agree), and
 * classic Maglev moves a little more.
 */
void test_maglev_removal_moves_few_flows(void **state)
{
	struct lab *l = *state, *fleet = lab_open_sized(0);
	uint32_t own_others, fleet_others, own, shared;
	struct cb_meta meta;

	assert_non_null(fleet);
	assert_true(cb_meta_set_seed(&fleet->maps, "a secret of a fleet", 19) >= 0);
	assert_int_equal(cb_meta_get(&l->maps, &meta), 0);
	own = removal_moves(l, &own_others);
	shared = removal_moves(fleet, &fleet_others);
	print_message("      new connections after removing 1 of 10: %u of %u others moved (%.2f %%) "
		      "with the node's seeds; %u of %u (%.2f %%) with a fleet's\n", own, own_others,
		      100.0 * own / own_others, shared, fleet_others, 100.0 * shared / fleet_others);
	if (!(meta.flags & CB_META_F_SHARED))   /* TEST_SEED makes every lab a fleet's */
		assert_int_equal(own, 0);
	assert_true(shared * 100 <= fleet_others * 3);
	lab_free(fleet);
}
