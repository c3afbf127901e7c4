// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A hostile network: floods from spoofed sources, forged packets aimed at
 * the evidence, per-installation seeds, two services sharing a backend.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary_params.h"
#include "ctstat.h"
#include "tests.h"

#define KEEPALIVE 40
#define FLOOD 5000           /* per kind: several times the pending budget of the lab */
#define LAB_CT 2048          /* verified flows; pending ones: 1024 */

static uint32_t map_count(int fd, size_t key_size)
{
	uint8_t k[64], next[64];
	uint32_t n = 0;
	void *cur = NULL;

	assert_true(key_size <= sizeof(k));
	while (bpf_map_get_next_key(fd, cur, next) == 0) {
		memcpy(k, next, key_size);
		cur = k;
		n++;
	}
	return n;
}

/* A spoofed source: address i of the flood's own range, a port from i. */
static struct pkt_spec spoofed(int family, int proto, uint32_t i, uint8_t flags, char *buf)
{
	struct pkt_spec p = client_pkt(family, proto, client_addr(family, 0x10000 + i, buf),
				       (uint16_t)(1024 + (i * 7919) % 60000), flags);

	p.seq = i * 2654435761u;
	return p;
}

/* What rollbacks are judged on, of both tracks. */
struct evidence {
	uint64_t connections, resets_backend, resets_client, failures;
};

static struct evidence evidence_of(struct lab *l, struct svc *s)
{
	struct evidence e = { 0 };

	for (int t = 0; t < 2; t++) {
		struct cb_track_stats st = track_stats(l, s, t);

		e.connections += st.connections;
		e.resets_backend += st.resets_from_backend;
		e.resets_client += st.resets_from_client;
		e.failures += st.connect_failures;
	}
	return e;
}

static void assert_evidence_same(const struct evidence *a, const struct evidence *b)
{
	assert_int_equal(a->connections, b->connections);
	assert_int_equal(a->resets_backend, b->resets_backend);
	assert_int_equal(a->resets_client, b->resets_client);
	assert_int_equal(a->failures, b->failures);
}

static void flood(struct lab *l, enum hook h, int kind, uint32_t base)
{
	struct run_out o;
	char buf[64];

	for (uint32_t i = base; i < base + FLOOD; i++) {
		struct pkt_spec p = spoofed(4, kind == 3 ? IPPROTO_UDP : IPPROTO_TCP, i,
					    kind == 2 ? 0x10 : 0x02, buf);

		if (kind == 3)
			p.dport = 53;
		run_spec(l, h, &p, &o);
		assert_int_equal(o.csum, 0);
		if (kind == 1) {            /* its "handshake": an ACK with a guessed number */
			p.tcp_flags = 0x10;
			p.seq += 1;
			p.ack = i * 40503u + 1;
			run_spec(l, h, &p, &o);
		}
	}
}

/*
 * 40 keep-alive connections opened at weight 0, the weight set to 100 %,
 * then floods of SYNs, SYN+ACK pairs, bare ACKs and UDP from spoofed
 * sources, each several times what the pending budget holds: every
 * keep-alive connection still reaches its backend, and the floods count
 * no connection.
 */
void test_hostile_flood_cannot_move_established(void **state)
{
	struct lab *l = lab_open_sized(LAB_CT);
	union cb_addr be[KEEPALIVE];
	struct svc s, u;
	struct run_out o;

	(void)state;
	assert_non_null(l);
	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	svc_add(l, &u, 4, VIP4, 53, IPPROTO_UDP, CB_AFFINITY_CONNECTION);
	track_set(l, &u, CB_TRACK_STABLE, STABLE4, 53, 4);
	for (int i = 0; i < KEEPALIVE; i++) {
		assert_int_equal(open_flow(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1",
					   (uint16_t)(1000 + i), &o), CB_TRACK_STABLE);
		be[i] = o.v.daddr;
	}
	weight_set(l, &s, CB_WEIGHT_MAX);
	FOR_HOOKS_IN(h)
		for (int kind = 0; kind < 4; kind++)
			flood(l, h, kind, (uint32_t)(h * 4 + kind) * FLOOD);
	assert_true(map_count(l->maps.pend, sizeof(struct cb_ct_key)) <= LAB_CT / 2);
	assert_int_equal(map_count(l->maps.ct, sizeof(struct cb_ct_key)), KEEPALIVE);
	for (int i = 0; i < KEEPALIVE; i++) {
		struct pkt_spec d = client_pkt(4, IPPROTO_TCP, "10.9.0.1", (uint16_t)(1000 + i), 0x18);

		d.seq = PKT_SEQ + 1;
		d.ack = TEST_BACKEND_ISN + 1;
		d.text = "GET / HTTP/1.1\r\n\r\n";
		run_spec(l, HOOK_XDP, &d, &o);
		assert_int_equal(o.verdict, V_PASS);
		assert_int_equal(o.csum, 0);
		assert_true(pkt_addr_eq(&o.v.daddr, &be[i]));
		assert_true(flow_verified(l, 4, IPPROTO_TCP, "10.9.0.1", (uint16_t)(1000 + i)));
	}
	/* The floods' SYNs never completed: no connection, no failure (nobody retransmitted). */
	assert_int_equal(track_stats(l, &s, CB_TRACK_STABLE).connections, KEEPALIVE);
	assert_int_equal(track_stats(l, &s, CB_TRACK_CANARY).connections, 0);
	assert_int_equal(track_stats(l, &s, CB_TRACK_CANARY).connect_failures, 0);
	assert_true(global_count(l, CB_G_CT_MISS) >= 2 * FLOOD);   /* the bare ACKs */
	/* What the agent exports: the floods filled and churned only the half-open table. */
	struct cb_ct_scan scan = { 0 };
	struct cb_ct_usage ver, half;
	int steps = 0, r;

	while ((r = cb_ct_scan_step(&l->maps, &scan, 1)) == 0)
		steps++;
	assert_int_equal(r, 1);
	assert_true(steps >= 1);                     /* it went in steps */
	assert_int_equal(cb_ct_usage(&l->maps, &scan, CB_CT_VERIFIED, &ver), 0);
	assert_int_equal(cb_ct_usage(&l->maps, &scan, CB_CT_PENDING, &half), 0);
	assert_int_equal(ver.entries, KEEPALIVE);
	assert_int_equal(ver.capacity, LAB_CT);
	assert_int_equal(ver.inserts, KEEPALIVE);
	assert_int_equal(ver.evictions, 0);
	assert_int_equal(half.capacity, LAB_CT / 2);
	assert_int_equal(half.inserts, 2 * 3 * FLOOD + KEEPALIVE);   /* SYN, SYN of a pair, UDP */
	assert_int_equal(half.deletes, KEEPALIVE);                    /* verified */
	assert_true(half.entries <= LAB_CT / 2 && half.entries >= LAB_CT / 4);
	assert_int_equal(half.evictions, half.inserts - half.deletes - half.entries);
	print_message("      floods: %llu half-open flows made, %llu evicted, %llu left; "
		      "established %llu of %llu, 0 evicted\n", (unsigned long long)half.inserts,
		      (unsigned long long)half.evictions, (unsigned long long)half.entries,
		      (unsigned long long)ver.entries, (unsigned long long)ver.capacity);
	lab_free(l);
}

/* A SYN whose TCP (or IPv4 header) checksum is broken: passed untouched, no flow made. */
static void bad_syn(struct lab *l, enum hook h, uint32_t i, int ip_header)
{
	struct pkt_spec p;
	uint8_t pkt[PKT_MAX];
	union cb_addr vip = pkt_addr(4, VIP4);
	struct run_out o;
	char buf[64];
	size_t len;

	p = spoofed(4, IPPROTO_TCP, i, 0x02, buf);
	len = pkt_build(pkt, &p);
	pkt[ip_header ? 14 + 10 : 14 + 20 + 16] ^= 0x5a;
	run_pkt(l, h, pkt, len, 0, &o);
	assert_int_equal(o.verdict, V_PASS);
	assert_true(pkt_addr_eq(&o.v.daddr, &vip));
	assert_memory_equal(o.data, pkt, len);
}

/*
 * 1,000 bare ACKs, 1,000 bare RSTs to the VIP, 1,000 RSTs forged as coming
 * from backends, 2 x 300 SYNs with a bad TCP checksum and 300 with a bad IP
 * header checksum: not one of them changes the connections, resets or
 * failed connects of either track.
 */
void test_hostile_forged_packets_feed_no_evidence(void **state)
{
	struct lab *l = *state;
	struct evidence before, after;
	struct run_out o;
	struct svc s;
	char buf[64];
	uint64_t bad = global_count(l, CB_G_PASS_BAD_CSUM);

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	weight_set(l, &s, 5000);
	open_flow(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", 999, &o);   /* some real evidence */
	before = evidence_of(l, &s);
	for (uint32_t i = 0; i < 1000; i++) {
		struct pkt_spec p = spoofed(4, IPPROTO_TCP, i, 0x10, buf);
		struct pkt_spec r = spoofed(4, IPPROTO_TCP, 1000 + i, 0x04, buf);
		struct pkt_spec b = {
			.family = 4, .proto = IPPROTO_TCP, .src = i & 1 ? CANARY4[0] : STABLE4[i % 4],
			.dst = client_addr(4, 0x20000 + i, buf), .sport = BPORT,
			.dport = (uint16_t)(1024 + i), .tcp_flags = 0x14,
		};

		run_spec(l, HOOK_XDP, &p, &o);
		run_spec(l, HOOK_TC_IN, &r, &o);
		run_spec(l, i & 1 ? HOOK_TC_OUT : HOOK_XDP, &b, &o);
		union cb_addr from = pkt_addr(4, b.src);

		assert_int_equal(o.verdict, V_PASS);          /* no flow of ours: as it came */
		assert_true(pkt_addr_eq(&o.v.saddr, &from));
		assert_int_equal(o.v.sport, BPORT);
	}
	for (uint32_t i = 0; i < 300; i++) {
		bad_syn(l, HOOK_XDP, 5000 + i, 0);
		bad_syn(l, HOOK_TC_IN, 5000 + i, 0);
		bad_syn(l, HOOK_XDP, 6000 + i, 1);
	}
	after = evidence_of(l, &s);
	assert_evidence_same(&before, &after);
	assert_int_equal(global_count(l, CB_G_PASS_BAD_CSUM), bad + 900);
	assert_int_equal(map_count(l->maps.pend, sizeof(struct cb_ct_key)), 0);
}

/*
 * tc may see a SYN of a local socket in CHECKSUM_PARTIAL form (the field
 * holds the pseudo-header sum): taken from a local stack (gso_segs 1),
 * refused from a wire (gso_segs 0) and on XDP.
 */
void test_hostile_partial_checksum_only_from_local_stack(void **state)
{
	struct lab *l = *state;
	struct pkt_spec p = client_pkt(4, IPPROTO_TCP, "10.9.0.7", 4000, 0x02);
	union cb_addr vip = pkt_addr(4, VIP4);
	uint8_t pkt[PKT_MAX];
	struct run_out o;
	struct svc s;
	uint32_t sum;
	uint16_t part;
	size_t len;

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	len = pkt_build(pkt, &p);
	sum = pkt_sum16(pkt + 14 + 12, 8, 0) + IPPROTO_TCP + (uint32_t)(len - 14 - 20);
	part = (uint16_t)~pkt_fold(sum);
	pkt[14 + 20 + 16] = (uint8_t)(part >> 8);
	pkt[14 + 20 + 17] = (uint8_t)part;
	for (int h = HOOK_XDP; h <= HOOK_TC_IN; h++) {
		run_pkt(l, (enum hook)h, pkt, len, 0, &o);
		assert_true(pkt_addr_eq(&o.v.daddr, &vip));
	}
	l->gso_segs = 1;
	run_pkt(l, HOOK_TC_IN, pkt, len, 0, &o);
	l->gso_segs = 0;
	assert_int_equal(o.verdict, V_PASS);
	assert_true(landed_track(&o, 4) >= 0);
	assert_int_equal(global_count(l, CB_G_PASS_BAD_CSUM), 2);
}

/*
 * The client's ACK verifies its flow only when it acknowledges the
 * backend's SYN-ACK: before that SYN-ACK, or with another number, the flow
 * stays pending (and uncounted); with it, it is established and counted.
 */
void test_hostile_ack_must_match_synack(void **state)
{
	struct lab *l = *state;
	struct pkt_spec a = client_pkt(4, IPPROTO_TCP, "10.9.0.8", 4100, 0x10);
	struct run_out o, r;
	struct svc s;
	char be[64];

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.8", 4100, 0x02, &o);
	a.seq = PKT_SEQ + 1;
	a.ack = TEST_BACKEND_ISN + 1;
	run_spec(l, HOOK_XDP, &a, &r);              /* no SYN-ACK seen yet */
	assert_true(pkt_addr_eq(&r.v.daddr, &o.v.daddr));
	assert_false(flow_verified(l, 4, IPPROTO_TCP, "10.9.0.8", 4100));
	inet_ntop(AF_INET, o.v.daddr.b, be, sizeof(be));
	struct pkt_spec sa = {
		.family = 4, .proto = IPPROTO_TCP, .src = be, .dst = "10.9.0.8", .sport = BPORT,
		.dport = 4100, .tcp_flags = 0x12, .seq = TEST_BACKEND_ISN,
	};
	run_spec(l, HOOK_TC_OUT, &sa, &r);
	a.ack = TEST_BACKEND_ISN + 2;               /* a guess */
	run_spec(l, HOOK_XDP, &a, &r);
	assert_false(flow_verified(l, 4, IPPROTO_TCP, "10.9.0.8", 4100));
	assert_int_equal(track_stats(l, &s, landed_track(&o, 4)).connections, 0);
	a.ack = TEST_BACKEND_ISN + 1;
	run_spec(l, HOOK_XDP, &a, &r);
	assert_true(flow_verified(l, 4, IPPROTO_TCP, "10.9.0.8", 4100));
	assert_int_equal(track_stats(l, &s, landed_track(&o, 4)).connections, 1);
}

/* Backend chosen for n new flows (SYNs from distinct clients). */
static void backends_of(struct lab *l, uint32_t n, union cb_addr *out)
{
	char buf[64];
	struct run_out o;

	for (uint32_t i = 0; i < n; i++) {
		struct pkt_spec p = client_pkt(4, IPPROTO_TCP, client_addr(4, 0x30000 + i, buf),
					       (uint16_t)(2000 + i % 50000), 0x02);

		run_spec(l, HOOK_XDP, &p, &o);
		assert_int_equal(o.verdict, V_PASS);
		out[i] = o.v.daddr;
	}
}

static const char *const EIGHT[8] = {
	"10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4", "10.0.1.5", "10.0.1.6", "10.0.1.7", "10.0.1.8",
};

/*
 * Seeds are random per installation; two nodes given the same secret hash
 * alike, and build the same Maglev table from the same backend set whatever
 * sets they had before (one node saw another set, then the seed changed,
 * then the set; the other only the set): every flow picks the same backend
 * on both. A connection established before the seed change keeps its backend.
 */
void test_hostile_seeds_per_installation_shared_by_file(void **state)
{
	struct lab *a = *state, *b = lab_open_sized(0);
	static const char secret[] = "0123456789abcdef-fleet-secret";
	static union cb_addr pa[2000], pb[2000];
	struct cb_meta ma, mb;
	struct svc sa, sb;
	struct run_out o, r;

	assert_non_null(b);
	assert_int_equal(cb_meta_get(&a->maps, &ma), 0);
	assert_int_equal(cb_meta_get(&b->maps, &mb), 0);
	if (!getenv("TEST_SEED"))   /* which gives every lab the same seeds */
		assert_true(ma.seed_track != mb.seed_track || ma.maglev_seed[0] != mb.maglev_seed[0]);
	svc_add(a, &sa, 4, VIP4, 80, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	track_set(a, &sa, CB_TRACK_STABLE, EIGHT, BPORT, 8);
	open_flow(a, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.9", 4200, &o);
	assert_int_equal(cb_meta_set_seed(&a->maps, secret, sizeof(secret) - 1), 1);
	assert_int_equal(cb_meta_set_seed(&a->maps, secret, sizeof(secret) - 1), 0);
	assert_int_equal(cb_tables_rebuild(&a->maps, &sa.key), 0);
	track_set(a, &sa, CB_TRACK_STABLE, EIGHT, BPORT, 6);
	assert_int_equal(cb_meta_set_seed(&b->maps, secret, sizeof(secret) - 1), 1);
	svc_add(b, &sb, 4, VIP4, 80, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	track_set(b, &sb, CB_TRACK_STABLE, EIGHT, BPORT, 6);
	assert_int_equal(cb_meta_get(&a->maps, &ma), 0);
	assert_int_equal(cb_meta_get(&b->maps, &mb), 0);
	assert_int_equal(ma.seed_track, mb.seed_track);
	assert_int_equal(ma.seed_backend, mb.seed_backend);
	assert_true(ma.flags & CB_META_F_SHARED);
	backends_of(a, 2000, pa);
	backends_of(b, 2000, pb);
	for (int i = 0; i < 2000; i++)
		assert_true(pkt_addr_eq(&pa[i], &pb[i]));
	/* The connection of 10.0.1.1..6 made before the change is where it was. */
	struct pkt_spec d = client_pkt(4, IPPROTO_TCP, "10.9.0.9", 4200, 0x10);

	d.seq = PKT_SEQ + 1;
	d.ack = TEST_BACKEND_ISN + 1;
	run_spec(a, HOOK_XDP, &d, &r);
	if (addr_index(4, &o.v.daddr, EIGHT, 6) >= 0)
		assert_true(pkt_addr_eq(&r.v.daddr, &o.v.daddr));
	assert_int_equal(cb_meta_set_seed(&a->maps, secret, 15), -EINVAL);
	lab_free(b);
}

/*
 * Two services with the same backend, one client port dialing both: the
 * backend sees one tuple for two flows. The second cannot be told apart on
 * the way back: it is dropped and counted; the first's replies stay its own.
 */
void test_hostile_shared_backend_reverse_collision(void **state)
{
	struct lab *l = *state;
	static const char *const one[1] = { "10.0.5.1" };
	union cb_addr vip_a = pkt_addr(4, VIP4);
	struct run_out o;
	struct svc a, b;

	for (int proto = IPPROTO_TCP; proto <= IPPROTO_UDP; proto += IPPROTO_UDP - IPPROTO_TCP) {
		uint16_t port = (uint16_t)(proto == IPPROTO_TCP ? 80 : 81);
		struct pkt_spec pa = client_pkt(4, proto, "10.9.0.10", 5000, 0x02);
		struct pkt_spec pb = pa;
		struct pkt_spec rep = {
			.family = 4, .proto = proto, .src = one[0], .dst = "10.9.0.10", .sport = BPORT,
			.dport = 5000, .tcp_flags = 0x12, .seq = TEST_BACKEND_ISN,
		};
		uint64_t coll = global_count(l, CB_G_DROP_REV_COLLISION);

		svc_add(l, &a, 4, VIP4, port, proto, CB_AFFINITY_CONNECTION);
		svc_add(l, &b, 4, "10.96.0.11", port, proto, CB_AFFINITY_CONNECTION);
		track_set(l, &a, CB_TRACK_STABLE, one, BPORT, 1);
		track_set(l, &b, CB_TRACK_STABLE, one, BPORT, 1);
		pa.dport = pb.dport = port;
		pb.dst = "10.96.0.11";
		run_spec(l, HOOK_XDP, &pa, &o);
		assert_int_equal(o.verdict, V_PASS);
		assert_int_equal(o.v.dport, BPORT);
		run_spec(l, HOOK_XDP, &pb, &o);
		assert_int_equal(o.verdict, V_DROP);
		assert_int_equal(global_count(l, CB_G_DROP_REV_COLLISION), coll + 1);
		run_spec(l, HOOK_TC_OUT, &rep, &o);
		assert_true(pkt_addr_eq(&o.v.saddr, &vip_a));
		assert_int_equal(o.v.sport, port);
		assert_int_equal(o.csum, 0);
	}
}

/* A UDP flow's replies keep it alive: a flow that only the backend talks on does not expire. */
void test_hostile_udp_reply_refreshes_flow(void **state)
{
	struct lab *l = *state;
	struct cb_ct_key k = flow_key(4, IPPROTO_UDP, "10.9.0.11", 5300, VIP4, 80);
	struct cb_ct_entry e;
	struct run_out o;
	struct svc s;
	char be[64];
	uint64_t old;

	if (now_ns() < 2 * CB_CT_UDP_LIFETIME)
		skip();
	std_service(l, &s, 4, IPPROTO_UDP, CB_AFFINITY_CONNECTION);
	send_track(l, HOOK_XDP, 4, IPPROTO_UDP, "10.9.0.11", 5300, 0, &o);
	assert_int_equal(flow_get(l, &k, &e, NULL), 0);
	old = now_ns() - CB_CT_UDP_LIFETIME + 5000000000ULL;   /* 5 s from expiry */
	e.last_seen = old;
	flow_put(l, &k, &e, NULL);
	inet_ntop(AF_INET, o.v.daddr.b, be, sizeof(be));
	struct pkt_spec rep = {
		.family = 4, .proto = IPPROTO_UDP, .src = be, .dst = "10.9.0.11", .sport = BPORT,
		.dport = 5300, .payload = 20,
	};
	run_spec(l, HOOK_TC_OUT, &rep, &o);
	assert_int_equal(o.v.sport, 80);
	assert_int_equal(flow_get(l, &k, &e, NULL), 0);
	assert_true(e.last_seen > old + 4000000000ULL);
}
