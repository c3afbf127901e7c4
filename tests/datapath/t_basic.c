// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* SPEC datapath points 1-4, 8, 9 and the conntrack life cycle. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests.h"

void test_spec1_non_service_traffic_untouched(void **state)
{
	struct lab *l = *state;
	struct svc s4, s6;
	const struct pkt_spec pkts[] = {
		{ .family = 4, .proto = IPPROTO_TCP, .src = "10.9.0.1", .dst = "10.96.0.11", .sport = 1000, .dport = 80 },
		{ .family = 4, .proto = IPPROTO_TCP, .src = "10.9.0.1", .dst = VIP4, .sport = 1000, .dport = 81 },
		{ .family = 4, .proto = IPPROTO_UDP, .src = "10.9.0.1", .dst = VIP4, .sport = 1000, .dport = 80 },
		{ .family = 6, .proto = IPPROTO_UDP, .src = "fd00:9::1", .dst = "fd00:96::11", .sport = 1000, .dport = 80 },
		{ .family = 6, .proto = IPPROTO_TCP, .src = "fd00:9::1", .dst = VIP6, .sport = 1000, .dport = 443 },
		/* A backend's own traffic that is not a reply of a tracked flow. */
		{ .family = 4, .proto = IPPROTO_TCP, .src = "10.0.1.1", .dst = "10.9.0.1", .sport = 8080, .dport = 1000, .tcp_flags = 0x12 },
	};

	std_service(l, &s4, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	std_service(l, &s6, 6, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	weight_set(l, &s4, 5000);
	for (enum hook h = HOOK_XDP; h <= HOOK_TC_OUT; h++) {
		for (size_t i = 0; i < sizeof(pkts) / sizeof(pkts[0]); i++) {
			uint8_t in[PKT_MAX];
			size_t len = pkt_build(in, &pkts[i]);
			struct run_out o;
			uint64_t before = global_count(l, CB_G_PASS_NOT_SERVICE);

			run_pkt(l, h, in, len, 0, &o);
			assert_int_equal(o.verdict, V_PASS);
			assert_int_equal(o.len, len);
			assert_memory_equal(o.data, in, len);
			assert_int_equal(global_count(l, CB_G_PASS_NOT_SERVICE), before + 1);
		}
	}
	/* A service packet on egress is not the forward path: untouched too. */
	{
		struct pkt_spec p = client_pkt(4, IPPROTO_TCP, "10.9.0.1", 1000, 0x02);
		uint8_t in[PKT_MAX];
		size_t len = pkt_build(in, &p);
		struct run_out o;

		run_pkt(l, HOOK_TC_OUT, in, len, 0, &o);
		assert_int_equal(o.verdict, V_PASS);
		assert_memory_equal(o.data, in, len);
	}
}

void test_spec2_weight_picks_track(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct run_out o;
	char a[64];

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	for (uint32_t i = 0; i < 200; i++)
		assert_int_equal(send_track(l, HOOK_XDP, 4, IPPROTO_TCP, client_addr(4, i, a),
					    (uint16_t)(20000 + i), 0x02, &o), CB_TRACK_STABLE);
	weight_set(l, &s, CB_WEIGHT_MAX);
	for (uint32_t i = 0; i < 200; i++) {
		assert_int_equal(send_track(l, HOOK_TC_IN, 4, IPPROTO_TCP, client_addr(4, i, a),
					    (uint16_t)(30000 + i), 0x02, &o), CB_TRACK_CANARY);
		assert_int_equal(o.v.dport, BPORT);
	}
}

void test_spec2_override_longest_prefix_wins(void **state)
{
	struct lab *l = *state;
	struct svc s4, s6;
	struct run_out o;
	struct cb_endpoint n16 = ep(4, "10.1.0.0", 0), n24 = ep(4, "10.1.2.0", 0);
	struct cb_endpoint n6 = ep(6, "fd00:beef::", 0);

	std_service(l, &s4, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	std_service(l, &s6, 6, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	assert_int_equal(cb_override_add(&l->maps, &s4.key, &n16, 16, CB_TRACK_CANARY), 0);
	assert_int_equal(cb_override_add(&l->maps, &s4.key, &n24, 24, CB_TRACK_STABLE), 0);
	assert_int_equal(cb_override_add(&l->maps, &s6.key, &n6, 32, CB_TRACK_CANARY), 0);

	/* weight 0: the /16 beta network still goes to canary, its /24 does not */
	assert_int_equal(send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.1.1.5", 1000, 0x02, &o), CB_TRACK_CANARY);
	assert_int_equal(send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.1.2.5", 1001, 0x02, &o), CB_TRACK_STABLE);
	assert_int_equal(send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.2.0.1", 1002, 0x02, &o), CB_TRACK_STABLE);
	assert_int_equal(send_track(l, HOOK_XDP, 6, IPPROTO_TCP, "fd00:beef::7", 1003, 0x02, &o), CB_TRACK_CANARY);
	assert_int_equal(send_track(l, HOOK_XDP, 6, IPPROTO_TCP, "fd00:bee0::7", 1004, 0x02, &o), CB_TRACK_STABLE);
	/* weight 100: the pinned /24 stays stable, everyone else goes canary */
	weight_set(l, &s4, CB_WEIGHT_MAX);
	assert_int_equal(send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.1.2.6", 1005, 0x02, &o), CB_TRACK_STABLE);
	assert_int_equal(send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.2.0.2", 1006, 0x02, &o), CB_TRACK_CANARY);
	/* deleting the overrides hands the clients back to the weight */
	assert_int_equal(cb_override_del(&l->maps, &s4.key, &n24, 24), 0);
	assert_int_equal(send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.1.2.7", 1007, 0x02, &o), CB_TRACK_CANARY);
	weight_set(l, &s4, 0);
	assert_int_equal(cb_override_del(&l->maps, &s4.key, &n16, 16), 0);
	assert_int_equal(send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.1.1.8", 1008, 0x02, &o), CB_TRACK_STABLE);
	assert_int_equal(cb_override_del(&l->maps, &s4.key, &n16, 16), -ENOENT);
}

void test_spec2_empty_track_sends_share_to_other(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct run_out o;
	char a[64];

	svc_add(l, &s, 4, VIP4, 80, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	track_set(l, &s, CB_TRACK_STABLE, STABLE4, BPORT, 4);
	weight_set(l, &s, CB_WEIGHT_MAX);
	for (uint32_t i = 0; i < 50; i++)
		assert_int_equal(send_track(l, HOOK_XDP, 4, IPPROTO_TCP, client_addr(4, i, a),
					    (uint16_t)(1000 + i), 0x02, &o), CB_TRACK_STABLE);
	track_set(l, &s, CB_TRACK_CANARY, CANARY4, BPORT, 1);
	track_set(l, &s, CB_TRACK_STABLE, NULL, BPORT, 0);
	weight_set(l, &s, 0);
	for (uint32_t i = 0; i < 50; i++)
		assert_int_equal(send_track(l, HOOK_XDP, 4, IPPROTO_TCP, client_addr(4, i, a),
					    (uint16_t)(2000 + i), 0x02, &o), CB_TRACK_CANARY);
}

void test_spec2_no_backend_drops_and_counts(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct run_out o;

	svc_add(l, &s, 6, VIP6, 80, IPPROTO_UDP, CB_AFFINITY_CONNECTION);
	for (enum hook h = HOOK_XDP; h <= HOOK_TC_IN; h++) {
		struct pkt_spec p = client_pkt(6, IPPROTO_UDP, "fd00:9::1", (uint16_t)(5000 + h), 0);

		run_spec(l, h, &p, &o);
		assert_int_equal(o.verdict, V_DROP);
	}
	assert_int_equal(track_stats(l, &s, CB_TRACK_STABLE).drops, 2);
	assert_int_equal(track_stats(l, &s, CB_TRACK_STABLE).connections, 0);
	assert_int_equal(global_count(l, CB_G_DROP_NO_BACKEND), 2);
}

#define N_EST 100

void test_spec3_established_keeps_backend_across_weight_and_override(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct run_out o;
	union cb_addr be[N_EST];
	char a[64];
	struct cb_endpoint all = ep(4, "10.0.0.0", 0);

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	weight_set(l, &s, 3000);
	for (uint32_t i = 0; i < N_EST; i++) {
		assert_true(open_flow(l, HOOK_XDP, 4, IPPROTO_TCP, client_addr(4, i, a),
				      (uint16_t)(40000 + i), &o) >= 0);
		assert_true(flow_verified(l, 4, IPPROTO_TCP, a, (uint16_t)(40000 + i)));
		be[i] = o.v.daddr;
	}
	for (int round = 0; round < 4; round++) {
		weight_set(l, &s, round % 2 ? 0 : CB_WEIGHT_MAX);
		if (round == 2)
			assert_int_equal(cb_override_add(&l->maps, &s.key, &all, 8, CB_TRACK_CANARY), 0);
		for (uint32_t i = 0; i < N_EST; i++) {
			send_track(l, round % 2 ? HOOK_TC_IN : HOOK_XDP, 4, IPPROTO_TCP,
				   client_addr(4, i, a), (uint16_t)(40000 + i), 0x10, &o);
			assert_true(pkt_addr_eq(&o.v.daddr, &be[i]));
		}
	}
	assert_int_equal(track_stats(l, &s, 0).connections + track_stats(l, &s, 1).connections, N_EST);
}

void test_spec3_established_survives_program_reload(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct run_out o;
	union cb_addr be[N_EST];
	struct lab *l2;
	char a[64];

	std_service(l, &s, 6, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	weight_set(l, &s, 5000);
	for (uint32_t i = 0; i < N_EST; i++) {
		open_flow(l, HOOK_XDP, 6, IPPROTO_TCP, client_addr(6, i, a), (uint16_t)(40000 + i), &o);
		be[i] = o.v.daddr;
	}
	/* A new program instance over the same (pinned) maps, as after a restart. */
	l2 = lab_reopen(l);
	weight_set(l2, &s, 0);
	for (uint32_t i = 0; i < N_EST; i++) {
		send_track(l2, HOOK_TC_IN, 6, IPPROTO_TCP, client_addr(6, i, a), (uint16_t)(40000 + i), 0x10, &o);
		assert_true(pkt_addr_eq(&o.v.daddr, &be[i]));
	}
	lab_free(l2);
}

void test_spec3_removed_backend_reselects_only_its_flows(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct run_out o;
	union cb_addr be[400];
	const union cb_addr gone = pkt_addr(4, STABLE4[2]);
	char a[64];
	int moved = 0, on_gone = 0;

	std_service(l, &s, 4, IPPROTO_UDP, CB_AFFINITY_CONNECTION);
	for (uint32_t i = 0; i < 400; i++) {
		send_track(l, HOOK_XDP, 4, IPPROTO_UDP, client_addr(4, i, a), 5353, 0, &o);
		be[i] = o.v.daddr;
		on_gone += pkt_addr_eq(&be[i], &gone);
	}
	assert_true(on_gone > 40);
	const char *const three[3] = { STABLE4[0], STABLE4[1], STABLE4[3] };

	track_set(l, &s, CB_TRACK_STABLE, three, BPORT, 3);
	for (uint32_t i = 0; i < 400; i++) {
		send_track(l, HOOK_XDP, 4, IPPROTO_UDP, client_addr(4, i, a), 5353, 0, &o);
		if (pkt_addr_eq(&be[i], &gone)) {
			assert_false(pkt_addr_eq(&o.v.daddr, &gone));
			assert_int_equal(landed_track(&o, 4), CB_TRACK_STABLE);
			moved++;
		} else {
			assert_true(pkt_addr_eq(&o.v.daddr, &be[i]));
		}
	}
	assert_int_equal(moved, on_gone);
	assert_int_equal(global_count(l, CB_G_CT_RESELECT), on_gone);
	/* A re-selected flow is not a new connection. */
	assert_int_equal(track_stats(l, &s, CB_TRACK_STABLE).connections, 400);
}

/* Promotion: canary backends become the stable set, their connections stay put. */
void test_spec3_promotion_keeps_canary_connections(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct run_out o;
	char a[64];

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	weight_set(l, &s, CB_WEIGHT_MAX);
	for (uint32_t i = 0; i < 50; i++)
		assert_int_equal(open_flow(l, HOOK_XDP, 4, IPPROTO_TCP, client_addr(4, i, a),
					   (uint16_t)(3000 + i), &o), CB_TRACK_CANARY);
	/* the agent's promotion: stable := canary's set, canary emptied, weight 0 */
	track_set(l, &s, CB_TRACK_STABLE, CANARY4, BPORT, 1);
	track_set(l, &s, CB_TRACK_CANARY, NULL, BPORT, 0);
	weight_set(l, &s, 0);
	for (uint32_t i = 0; i < 50; i++) {
		send_track(l, HOOK_XDP, 4, IPPROTO_TCP, client_addr(4, i, a), (uint16_t)(3000 + i), 0x10, &o);
		assert_int_equal(landed_track(&o, 4), CB_TRACK_CANARY);   /* still the c1 address */
	}
	assert_int_equal(global_count(l, CB_G_CT_RESELECT), 0);
	/* new connections now go to the promoted backend as stable */
	open_flow(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.9.9", 4000, &o);
	assert_int_equal(landed_track(&o, 4), CB_TRACK_CANARY);
	assert_int_equal(track_stats(l, &s, CB_TRACK_STABLE).connections, 1);
}

/* Reply of the standard service backend o->v.daddr to client src:sport. */
static struct pkt_spec reply_of(const struct run_out *o, int proto, const char *src, char *bebuf,
				uint16_t sport, uint8_t flags)
{
	inet_ntop(o->v.family == 4 ? AF_INET : AF_INET6, o->v.daddr.b, bebuf, 64);
	struct pkt_spec r = {
		.family = o->v.family, .proto = proto, .src = bebuf, .dst = src,
		.sport = o->v.dport, .dport = sport, .tcp_flags = flags, .payload = 100,
	};
	return r;
}

void test_spec4_dnat_and_reverse_nat_checksums(void **state)
{
	struct lab *l = *state;
	struct svc s4t, s4u, s6t, s6u;
	char a[64], beb[64];
	uint32_t n = 0;

	std_service(l, &s4t, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	std_service(l, &s4u, 4, IPPROTO_UDP, CB_AFFINITY_CONNECTION);
	std_service(l, &s6t, 6, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	std_service(l, &s6u, 6, IPPROTO_UDP, CB_AFFINITY_CONNECTION);
	for (int family = 4; family <= 6; family += 2) {
		for (int proto = IPPROTO_TCP; proto <= IPPROTO_UDP; proto += IPPROTO_UDP - IPPROTO_TCP) {
			FOR_HOOKS_IN(h) {
				for (int i = 0; i < 20; i++, n++) {
					const char *src = client_addr(family, n, a);
					struct pkt_spec p = client_pkt(family, proto, src, (uint16_t)(1024 + n), 0x02);
					union cb_addr vip = pkt_addr(family, family == 4 ? VIP4 : VIP6);
					struct run_out o, r;

					p.payload = (size_t)(i * 37 % 200);
					run_spec(l, h, &p, &o);
					assert_int_equal(o.verdict, V_PASS);
					assert_int_equal(o.csum, 0);
					assert_true(landed_track(&o, family) >= 0);
					assert_int_equal(o.v.dport, BPORT);
					assert_int_equal(o.v.sport, 1024 + n);
					union cb_addr sa = pkt_addr(family, src);

					assert_true(pkt_addr_eq(&o.v.saddr, &sa));
					/* the reply, restored to VIP:80 on egress (tc) or ingress (xdp) */
					struct pkt_spec rp = reply_of(&o, proto, src, beb, (uint16_t)(1024 + n), 0x12);

					run_spec(l, i % 2 ? HOOK_XDP : HOOK_TC_OUT, &rp, &r);
					assert_int_equal(r.verdict, V_PASS);
					assert_int_equal(r.csum, 0);
					assert_true(pkt_addr_eq(&r.v.saddr, &vip));
					assert_int_equal(r.v.sport, 80);
					assert_true(pkt_addr_eq(&r.v.daddr, &sa));
					assert_int_equal(r.v.dport, 1024 + n);
				}
			}
		}
	}
	assert_int_equal(global_count(l, CB_G_REV_NAT), n);
}

void test_spec4_udp_zero_checksum_stays_zero(void **state)
{
	struct lab *l = *state;
	struct svc s;
	char beb[64];

	std_service(l, &s, 4, IPPROTO_UDP, CB_AFFINITY_CONNECTION);
	FOR_HOOKS_IN(h) {
		struct pkt_spec p = client_pkt(4, IPPROTO_UDP, "10.9.9.9", (uint16_t)(7000 + h), 0);
		struct run_out o, r;

		p.udp_zero_csum = 1;
		p.payload = 33;
		run_spec(l, h, &p, &o);
		assert_int_equal(o.verdict, V_PASS);
		assert_int_equal(o.csum, 0);
		assert_int_equal(o.v.udp_csum, 0);
		assert_true(landed_track(&o, 4) >= 0);
		struct pkt_spec rp = reply_of(&o, IPPROTO_UDP, "10.9.9.9", beb, (uint16_t)(7000 + h), 0);

		rp.udp_zero_csum = 1;
		run_spec(l, HOOK_TC_OUT, &rp, &r);
		assert_int_equal(r.csum, 0);
		assert_int_equal(r.v.udp_csum, 0);
		assert_int_equal(r.v.sport, 80);
	}
}

void test_spec8_per_track_counters(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct run_out o, r;
	char beb[64];
	uint64_t bytes = 0;

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	weight_set(l, &s, CB_WEIGHT_MAX);
	/* connection 1: handshake, data, backend resets */
	struct pkt_spec p = client_pkt(4, IPPROTO_TCP, "10.9.0.1", 1111, 0x02);

	open_flow(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", 1111, &o);
	bytes += 3 * o.len;   /* SYN, SYN-ACK and ACK: three bare 54-byte segments */
	p.tcp_flags = 0x18;
	p.payload = 300;
	run_spec(l, HOOK_XDP, &p, &o);
	bytes += o.len;
	struct pkt_spec rp = reply_of(&o, IPPROTO_TCP, "10.9.0.1", beb, 1111, 0x14);

	rp.payload = 0;
	run_spec(l, HOOK_TC_OUT, &rp, &r);
	bytes += r.len;
	/* connection 2: handshake, client resets */
	open_flow(l, HOOK_TC_IN, 4, IPPROTO_TCP, "10.9.0.2", 2222, &o);
	bytes += 3 * o.len;
	p = client_pkt(4, IPPROTO_TCP, "10.9.0.2", 2222, 0x04);
	run_spec(l, HOOK_TC_IN, &p, &o);
	bytes += o.len;

	struct cb_track_stats c = track_stats(l, &s, CB_TRACK_CANARY);

	assert_int_equal(c.packets, 9);
	assert_int_equal(c.bytes, bytes);
	assert_int_equal(c.connections, 2);
	assert_int_equal(c.resets_from_backend, 1);
	assert_int_equal(c.resets_from_client, 1);
	assert_int_equal(c.drops, 0);
	struct cb_track_stats st = track_stats(l, &s, CB_TRACK_STABLE);

	assert_int_equal(st.packets + st.connections + st.bytes, 0);
	/* drops are counted on the track that had no backend to give */
	track_set(l, &s, CB_TRACK_STABLE, NULL, 0, 0);
	track_set(l, &s, CB_TRACK_CANARY, NULL, 0, 0);
	p = client_pkt(4, IPPROTO_TCP, "10.9.0.3", 3333, 0x02);
	run_spec(l, HOOK_XDP, &p, &o);
	assert_int_equal(o.verdict, V_DROP);
	assert_int_equal(track_stats(l, &s, CB_TRACK_CANARY).drops, 1);
}

#define SEC_NS 1000000000ULL

/*
 * Move a flow's conntrack timestamp back by age_ns (a verified flow's in
 * cb_ct, else the pending one's in cb_pend). Timestamps are
 * CLOCK_MONOTONIC, which starts at boot: on a machine up for less than that
 * (a VM just booted, as under make vmtest) no flow can be so old yet, and
 * the datapath rightly takes a timestamp from the future as fresh. Wait
 * until the age can be set.
 */
static void ct_age(struct lab *l, int family, int proto, const char *src, uint16_t sport,
		   uint64_t age_ns)
{
	struct cb_ct_key k = flow_key(family, proto, src, sport, family == 4 ? VIP4 : VIP6, 80);
	struct cb_ct_entry e;
	uint64_t now = now_ns();

	if (now < age_ns + SEC_NS) {
		unsigned int wait = (unsigned int)((age_ns + SEC_NS - now) / SEC_NS + 1);

		printf("      up for %llu s only: waiting %u s to age a flow by %llu s\n",
		       (unsigned long long)(now / SEC_NS), wait, (unsigned long long)(age_ns / SEC_NS));
		fflush(stdout);
		sleep(wait);
	}
	assert_int_equal(flow_get(l, &k, &e, NULL), 0);
	e.last_seen = now_ns() - age_ns;
	flow_put(l, &k, &e, NULL);
}

/* A bare ACK of no known flow: passed as it came, counted as a miss, never a connection. */
static void expect_miss(struct lab *l, const char *src, uint16_t sport)
{
	struct pkt_spec p = client_pkt(4, IPPROTO_TCP, src, sport, 0x10);
	union cb_addr vip = pkt_addr(4, VIP4);
	uint64_t miss = global_count(l, CB_G_CT_MISS);
	struct run_out o;

	run_spec(l, HOOK_XDP, &p, &o);
	assert_int_equal(o.verdict, V_PASS);
	assert_true(pkt_addr_eq(&o.v.daddr, &vip));
	assert_int_equal(global_count(l, CB_G_CT_MISS), miss + 1);
}

void test_ct_tcp_fin_rst_shorten_life(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct run_out o, r;
	char beb[64];

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	/* an open connection idle for 11 s is still the same connection */
	open_flow(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", 1000, &o);
	ct_age(l, 4, IPPROTO_TCP, "10.9.0.1", 1000, 11 * SEC_NS);
	send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", 1000, 0x10, &o);
	assert_int_equal(track_stats(l, &s, 0).connections, 1);
	assert_true(flow_verified(l, 4, IPPROTO_TCP, "10.9.0.1", 1000));
	/* after FIN both ways it lives 10 s: then a late segment is of no flow */
	send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", 1000, 0x11, &o);
	struct pkt_spec rp = reply_of(&o, IPPROTO_TCP, "10.9.0.1", beb, 1000, 0x11);

	run_spec(l, HOOK_TC_OUT, &rp, &r);
	ct_age(l, 4, IPPROTO_TCP, "10.9.0.1", 1000, 11 * SEC_NS);
	expect_miss(l, "10.9.0.1", 1000);
	assert_int_equal(track_stats(l, &s, 0).connections, 1);
	/* a new connection there is one */
	open_flow(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", 1000, &o);
	assert_int_equal(track_stats(l, &s, 0).connections, 2);
	/* after an RST too */
	open_flow(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", 1001, &o);
	send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", 1001, 0x04, &o);
	ct_age(l, 4, IPPROTO_TCP, "10.9.0.1", 1001, 11 * SEC_NS);
	expect_miss(l, "10.9.0.1", 1001);
	open_flow(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", 1001, &o);
	assert_int_equal(track_stats(l, &s, 0).connections, 4);
}

void test_ct_udp_idle_expiry(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct run_out o;

	std_service(l, &s, 6, IPPROTO_UDP, CB_AFFINITY_CONNECTION);
	send_track(l, HOOK_XDP, 6, IPPROTO_UDP, "fd00:9::1", 53, 0, &o);
	ct_age(l, 6, IPPROTO_UDP, "fd00:9::1", 53, 30 * SEC_NS);
	send_track(l, HOOK_XDP, 6, IPPROTO_UDP, "fd00:9::1", 53, 0, &o);
	assert_int_equal(track_stats(l, &s, 0).connections, 1);
	ct_age(l, 6, IPPROTO_UDP, "fd00:9::1", 53, 61 * SEC_NS);
	send_track(l, HOOK_XDP, 6, IPPROTO_UDP, "fd00:9::1", 53, 0, &o);
	assert_int_equal(track_stats(l, &s, 0).connections, 2);
}

void test_ct_syn_after_close_is_new_connection(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct run_out o;

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", 1000, 0x02, &o);
	send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", 1000, 0x02, &o);   /* retransmit */
	/* nothing is known of the connect yet: no connection, no verified flow */
	assert_int_equal(track_stats(l, &s, 0).connections, 0);
	assert_false(flow_verified(l, 4, IPPROTO_TCP, "10.9.0.1", 1000));
	open_flow(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", 1000, &o);          /* handshake done */
	assert_int_equal(track_stats(l, &s, 0).connections, 1);
	assert_true(flow_verified(l, 4, IPPROTO_TCP, "10.9.0.1", 1000));
	send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", 1000, 0x04, &o);
	send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", 1000, 0x02, &o);   /* port reuse */
	assert_false(flow_verified(l, 4, IPPROTO_TCP, "10.9.0.1", 1000));     /* the old one went */
	open_flow(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", 1000, &o);
	assert_int_equal(track_stats(l, &s, 0).connections, 2);
}

/*
 * A connect that never completed and is tried again on the same port (the
 * backend's stale TIME-WAIT socket answered with an ACK, the client reset
 * it and resent its SYN) is one connection on one backend.
 */
void test_ct_retried_connect_counts_once(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct run_out o, r;
	union cb_addr first;
	char beb[64];

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	weight_set(l, &s, 5000);
	for (uint16_t port = 1000; port < 1100; port++) {
		send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", port, 0x02, &o);
		first = o.v.daddr;
		send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", port, 0x04, &o);
		send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", port, 0x02, &o);
		assert_true(pkt_addr_eq(&o.v.daddr, &first));
		/* and it completes there */
		struct pkt_spec sa = reply_of(&o, IPPROTO_TCP, "10.9.0.1", beb, port, 0x12);
		struct pkt_spec ack = client_pkt(4, IPPROTO_TCP, "10.9.0.1", port, 0x10);

		sa.payload = 0;
		sa.seq = TEST_BACKEND_ISN;
		run_spec(l, HOOK_TC_OUT, &sa, &r);
		ack.seq = PKT_SEQ + 1;
		ack.ack = TEST_BACKEND_ISN + 1;
		run_spec(l, HOOK_XDP, &ack, &r);
		assert_true(pkt_addr_eq(&r.v.daddr, &first));
	}
	assert_int_equal(track_stats(l, &s, 0).connections + track_stats(l, &s, 1).connections, 100);
}

struct flipper {
	struct lab *l;
	struct svc *s;
	volatile int stop;
	int updates;
};

static void *flip(void *arg)
{
	struct flipper *f = arg;
	const char *const setA[2] = { "10.0.1.1", "10.0.1.2" };
	const char *const setB[2] = { "10.0.1.3", "10.0.1.4" };
	struct cb_endpoint ea[2], eb[2];

	for (int i = 0; i < 2; i++) {
		ea[i] = ep(4, setA[i], BPORT);
		eb[i] = ep(4, setB[i], BPORT);
	}
	while (!f->stop) {
		int odd = f->updates & 1;

		if (cb_track_set(&f->l->maps, &f->s->key, CB_TRACK_STABLE, odd ? eb : ea, 2) ||
		    cb_weight_set(&f->l->maps, &f->s->key, odd ? 2500 : 7500))
			break;
		f->updates++;
	}
	return NULL;
}

void test_spec9_updates_are_atomic_for_packets(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct flipper f = { .l = l };
	pthread_t th;
	char a[64];
	uint64_t t0 = now_ns();
	uint32_t sent = 0;

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	f.s = &s;
	assert_int_equal(pthread_create(&th, NULL, flip, &f), 0);
	/*
	 * New flows while backend sets and weights swap underneath: never a drop.
	 * A table swap waits for an RCU grace period, so swaps are few per second.
	 */
	while ((f.updates < 12 || sent < 20000) && now_ns() - t0 < 30 * SEC_NS) {
		struct run_out o;
		struct pkt_spec p = client_pkt(4, IPPROTO_TCP, client_addr(4, sent, a),
					       (uint16_t)(1024 + sent % 60000), 0x02);

		run_spec(l, sent % 2 ? HOOK_XDP : HOOK_TC_IN, &p, &o);
		assert_int_equal(o.verdict, V_PASS);
		assert_int_equal(o.csum, 0);
		assert_true(landed_track(&o, 4) >= 0);
		sent++;
	}
	f.stop = 1;
	pthread_join(th, NULL);
	print_message("      %u new flows during %d configuration swaps, 0 drops\n", sent, f.updates);
	assert_true(f.updates >= 12);
	assert_int_equal(track_stats(l, &s, 0).drops + track_stats(l, &s, 1).drops, 0);
}
