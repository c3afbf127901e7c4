// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* SPEC point 7: odd, broken and foreign packets get a defined verdict. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "tests.h"

static int tc_refused;

/*
 * Run pkt through both ingress hooks: passed byte-for-byte, counter +1 each
 * time. BPF_PROG_TEST_RUN builds no skb whose IP header is cut short (the
 * skb path reads it); XDP still runs every such packet.
 */
static void expect_untouched(struct lab *l, const uint8_t *pkt, size_t len, int counter)
{
	FOR_HOOKS_IN(h) {
		struct run_out o;
		uint64_t before = global_count(l, counter);

		int err = run_pkt_try(l, h, pkt, len, 0, &o);

		if (err) {
			if (h == HOOK_XDP || err != -EINVAL)
				fail_msg("%s: %zu bytes refused", hook_name(h), len);
			tc_refused++;
			continue;
		}
		if (o.verdict == V_OTHER)
			fail_msg("%s: %zu-byte packet: unexpected verdict", hook_name(h), len);
		if (o.verdict != V_PASS || o.len != len || memcmp(o.data, pkt, len) ||
		    global_count(l, counter) != before + 1)
			fail_msg("%s: %zu-byte packet not passed untouched with counter %d",
				 hook_name(h), len, counter);
	}
}

/* Run a service packet through both ingress hooks: rewritten to a backend, valid. */
static void expect_natted(struct lab *l, const struct pkt_spec *p)
{
	FOR_HOOKS_IN(h) {
		struct run_out o;

		run_spec(l, h, p, &o);
		assert_int_equal(o.verdict, V_PASS);
		assert_int_equal(o.csum, 0);
		assert_true(landed_track(&o, p->family) >= 0);
		assert_int_equal(o.v.dport, BPORT);
	}
}

static void two_services(struct lab *l)
{
	struct svc s4, s6, u4, u6;

	std_service(l, &s4, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	std_service(l, &s6, 6, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	std_service(l, &u4, 4, IPPROTO_UDP, CB_AFFINITY_CONNECTION);
	std_service(l, &u6, 6, IPPROTO_UDP, CB_AFFINITY_CONNECTION);
}

void test_spec7_truncated_headers_pass_untouched(void **state)
{
	struct lab *l = *state;
	int cases = 0;

	tc_refused = 0;
	two_services(l);
	for (int family = 4; family <= 6; family += 2) {
		for (int proto = IPPROTO_TCP; proto <= IPPROTO_UDP; proto += IPPROTO_UDP - IPPROTO_TCP) {
			for (int vlans = 0; vlans <= 1; vlans++) {
				struct pkt_spec p = client_pkt(family, proto, family == 4 ? "10.9.0.1" : "fd00:9::1",
							       1234, 0x02);
				uint8_t pkt[PKT_MAX];
				size_t len;

				p.vlans = vlans;
				p.payload = 10;
				len = pkt_build(pkt, &p);
				/* Every cut, from a bare Ethernet header to one byte short. */
				for (size_t cut = 14; cut < len; cut++, cases++)
					expect_untouched(l, pkt, cut, CB_G_PASS_MALFORMED);
			}
		}
	}
	print_message("      %d truncated packets through xdp and %d through tc (the kernel's test "
		      "runner refuses %d with a cut IP header to tc), each passed untouched and counted\n",
		      cases, cases - tc_refused, tc_refused);
}

void test_spec7_lying_length_fields_pass_untouched(void **state)
{
	struct lab *l = *state;
	uint8_t pkt[PKT_MAX];
	size_t len;
	struct pkt_spec p;

	two_services(l);
	/* IPv4 total length beyond the frame, and below the header length */
	p = client_pkt(4, IPPROTO_TCP, "10.9.0.1", 1, 0x02);
	len = pkt_build(pkt, &p);
	pkt[16] = 0x05, pkt[17] = 0xdc;
	expect_untouched(l, pkt, len, CB_G_PASS_MALFORMED);
	pkt[16] = 0, pkt[17] = 16;
	expect_untouched(l, pkt, len, CB_G_PASS_MALFORMED);
	/* TCP data offset below 5 and beyond the segment */
	len = pkt_build(pkt, &p);
	pkt[14 + 20 + 12] = 4 << 4;
	expect_untouched(l, pkt, len, CB_G_PASS_MALFORMED);
	pkt[14 + 20 + 12] = 15 << 4;
	expect_untouched(l, pkt, len, CB_G_PASS_MALFORMED);
	/* UDP length below its header and beyond the datagram */
	p = client_pkt(4, IPPROTO_UDP, "10.9.0.1", 1, 0);
	len = pkt_build(pkt, &p);
	pkt[14 + 20 + 4] = 0, pkt[14 + 20 + 5] = 7;
	expect_untouched(l, pkt, len, CB_G_PASS_MALFORMED);
	pkt[14 + 20 + 5] = 200;
	expect_untouched(l, pkt, len, CB_G_PASS_MALFORMED);
	/* IPv6 payload length beyond the frame, and zero (jumbogram) */
	p = client_pkt(6, IPPROTO_TCP, "fd00:9::1", 1, 0x02);
	len = pkt_build(pkt, &p);
	pkt[14 + 4] = 0x01;
	expect_untouched(l, pkt, len, CB_G_PASS_MALFORMED);
	pkt[14 + 4] = 0, pkt[14 + 5] = 0;
	expect_untouched(l, pkt, len, CB_G_PASS_MALFORMED);
}

void test_spec7_bad_ihl_passes_untouched(void **state)
{
	struct lab *l = *state;
	struct pkt_spec p = client_pkt(4, IPPROTO_TCP, "10.9.0.1", 1, 0x02);
	uint8_t pkt[PKT_MAX];
	size_t len;

	two_services(l);
	for (int ihl = 0; ihl < 5; ihl++) {
		len = pkt_build(pkt, &p);
		pkt[14] = (uint8_t)(0x40 | ihl);
		expect_untouched(l, pkt, len, CB_G_PASS_MALFORMED);
	}
	len = pkt_build(pkt, &p);
	pkt[14] = 0x4f;    /* 60-byte header in a 40-byte packet */
	expect_untouched(l, pkt, len, CB_G_PASS_MALFORMED);
	len = pkt_build(pkt, &p);
	pkt[14] = 0x55;    /* version 5 behind an IPv4 ethertype */
	expect_untouched(l, pkt, len, CB_G_PASS_MALFORMED);
}

void test_spec7_ipv4_options_are_natted(void **state)
{
	struct lab *l = *state;

	two_services(l);
	for (int opts = 4; opts <= 40; opts += 12) {
		struct pkt_spec p = client_pkt(4, IPPROTO_TCP, "10.9.0.1", (uint16_t)opts, 0x02);

		p.ip_opts = opts;
		p.payload = 50;
		expect_natted(l, &p);
		p.proto = IPPROTO_UDP;
		expect_natted(l, &p);
	}
}

/* Put IPv4 option bytes opt (<= 8) into a packet built with ip_opts = 8; fix the header checksum. */
static size_t v4_with_options(uint8_t *pkt, struct pkt_spec *p, const uint8_t *opt, size_t n)
{
	size_t len, l3 = 14;
	uint16_t sum;

	p->ip_opts = 8;
	len = pkt_build(pkt, p);
	memset(pkt + l3 + 20, 0, 8);            /* end of options */
	memcpy(pkt + l3 + 20, opt, n);
	pkt[l3 + 10] = pkt[l3 + 11] = 0;
	sum = pkt_fold(pkt_sum16(pkt + l3, 28, 0));
	pkt[l3 + 10] = (uint8_t)(sum >> 8);
	pkt[l3 + 11] = (uint8_t)sum;
	return len;
}

/*
 * A loose or strict source route with an address still to visit: the final
 * destination is not the VIP (as for an IPv6 routing header with segments
 * left), so the packet passes untouched. Found by the datapath fuzzer
 * (tests/fuzz/crashes/datapath/).
 */
void test_spec7_ipv4_source_route_passes(void **state)
{
	static const uint8_t lsrr_left[] = { 131, 7, 4, 198, 51, 100, 7 },
			     ssrr_left[] = { 137, 7, 4, 198, 51, 100, 7 },
			     lsrr_done[] = { 1, 131, 7, 8, 198, 51, 100, 7 },
			     rr[] = { 7, 7, 4, 0, 0, 0, 0 },
			     short_len[] = { 1, 1, 68, 1 },        /* a timestamp of length 1 */
			     past_end[] = { 1, 68, 12, 5 };        /* 12 bytes in 7 */
	static const struct { const uint8_t *o; size_t n; int counter; } untouched[] = {
		{ lsrr_left, sizeof(lsrr_left), CB_G_PASS_UNKNOWN },
		{ ssrr_left, sizeof(ssrr_left), CB_G_PASS_UNKNOWN },
		{ short_len, sizeof(short_len), CB_G_PASS_MALFORMED },
		{ past_end, sizeof(past_end), CB_G_PASS_MALFORMED },
	};
	static const struct { const uint8_t *o; size_t n; } natted[] = {
		{ lsrr_done, sizeof(lsrr_done) }, { rr, sizeof(rr) },
	};
	struct lab *l = *state;
	uint8_t pkt[PKT_MAX];
	size_t len;

	two_services(l);
	for (size_t i = 0; i < sizeof(untouched) / sizeof(untouched[0]); i++) {
		struct pkt_spec p = client_pkt(4, IPPROTO_TCP, "10.9.0.1", (uint16_t)(900 + i), 0x02);

		len = v4_with_options(pkt, &p, untouched[i].o, untouched[i].n);
		expect_untouched(l, pkt, len, untouched[i].counter);
	}
	for (size_t i = 0; i < sizeof(natted) / sizeof(natted[0]); i++) {
		struct pkt_spec p = client_pkt(4, IPPROTO_UDP, "10.9.0.1", (uint16_t)(910 + i), 0);

		len = v4_with_options(pkt, &p, natted[i].o, natted[i].n);
		FOR_HOOKS_IN(h) {
			struct run_out o;

			run_pkt(l, h, pkt, len, 0, &o);
			assert_int_equal(o.verdict, V_PASS);
			assert_int_equal(o.csum, 0);
			assert_true(landed_track(&o, 4) >= 0);
			assert_int_equal(o.v.dport, BPORT);
		}
	}
}

void test_spec7_ipv6_extension_headers(void **state)
{
	struct lab *l = *state;
	static const struct { uint8_t ext[4]; int n; } ok[] = {
		{ { IPPROTO_HOPOPTS }, 1 },
		{ { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS }, 2 },
		{ { IPPROTO_ROUTING }, 1 },
		{ { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS }, 3 },
	};
	uint8_t pkt[PKT_MAX];
	size_t len;

	two_services(l);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct pkt_spec p = client_pkt(6, IPPROTO_TCP, "fd00:9::1", (uint16_t)(100 + i), 0x02);

		memcpy(p.ext, ok[i].ext, sizeof(p.ext));
		p.n_ext = ok[i].n;
		p.payload = 20;
		expect_natted(l, &p);
		p.proto = IPPROTO_UDP;
		expect_natted(l, &p);
	}
	/* Routing header with segments left: the real destination is elsewhere. */
	struct pkt_spec r = client_pkt(6, IPPROTO_TCP, "fd00:9::1", 200, 0x02);

	r.ext[0] = IPPROTO_ROUTING;
	r.n_ext = 1;
	r.routing_segleft = 2;
	len = pkt_build(pkt, &r);
	expect_untouched(l, pkt, len, CB_G_PASS_UNKNOWN);
	/* A fragment header of a first fragment (offset 0): its ports are there, it is NATed. */
	r.ext[0] = IPPROTO_FRAGMENT;
	r.routing_segleft = 0;
	expect_natted(l, &r);
	r.ext[0] = IPPROTO_HOPOPTS;
	r.ext[1] = IPPROTO_FRAGMENT;
	r.n_ext = 2;
	r.sport = 201;
	expect_natted(l, &r);
	/* More extension headers than the parser follows. */
	memset(r.ext, IPPROTO_DSTOPTS, sizeof(r.ext));
	r.n_ext = 4;
	r.ext[0] = IPPROTO_HOPOPTS;
	len = pkt_build(pkt, &r);
	/* 4 headers are followed; a 5th cannot be built by pkt_build: cut the chain instead */
	pkt[14 + 40 + 3 * 16] = IPPROTO_DSTOPTS;   /* 4th header points to yet another */
	expect_untouched(l, pkt, len, CB_G_PASS_UNKNOWN);
}

void test_spec7_vlan_tags_are_natted(void **state)
{
	struct lab *l = *state;

	two_services(l);
	for (int family = 4; family <= 6; family += 2) {
		for (int vlans = 1; vlans <= 2; vlans++) {
			struct pkt_spec p = client_pkt(family, IPPROTO_TCP,
						       family == 4 ? "10.9.0.1" : "fd00:9::1",
						       (uint16_t)(300 + vlans), 0x02);
			uint8_t in[PKT_MAX];
			size_t len;

			p.vlans = vlans;
			len = pkt_build(in, &p);
			expect_natted(l, &p);
			/* the tags themselves are left alone */
			struct run_out o;

			run_pkt(l, HOOK_XDP, in, len, 0, &o);
			assert_memory_equal(o.data + 12, in + 12, (size_t)vlans * 4 + 2);
		}
	}
	/* Three tags: not followed. */
	struct pkt_spec p = client_pkt(4, IPPROTO_TCP, "10.9.0.1", 310, 0x02);
	uint8_t in[PKT_MAX + 4];
	size_t len;

	p.vlans = 2;
	len = pkt_build(in + 4, &p);
	memmove(in, in + 4, 12);
	in[12] = 0x81, in[13] = 0x00, in[14] = 0, in[15] = 99;
	expect_untouched(l, in, len + 4, CB_G_PASS_UNKNOWN);
}

/*
 * A first fragment (offset 0) carries the ports and is NATed with its flow;
 * a later one that comes without its first cannot be placed and passes as
 * it came (the fragments of one datagram, in order: cb_frag tests).
 */
void test_spec7_fragments_pass_and_count(void **state)
{
	struct lab *l = *state;
	uint8_t pkt[PKT_MAX];
	size_t len;

	two_services(l);
	for (int proto = IPPROTO_TCP; proto <= IPPROTO_UDP; proto += IPPROTO_UDP - IPPROTO_TCP) {
		struct pkt_spec p = client_pkt(4, proto, "10.9.0.1", 400, 0x02);

		p.v4_frag = 1;
		p.payload = 64;
		expect_natted(l, &p);
		/* A later fragment of a datagram whose first never came (t_frag.c: of one that did) */
		p.v4_frag = 2;
		p.src = "10.9.0.2";
		len = pkt_build(pkt, &p);
		expect_untouched(l, pkt, len, CB_G_PASS_FRAGMENT);
	}
	struct pkt_spec p6 = client_pkt(6, IPPROTO_UDP, "fd00:9::1", 400, 0);

	p6.ext[0] = IPPROTO_FRAGMENT;
	p6.n_ext = 1;
	expect_natted(l, &p6);
}

void test_spec7_icmp_and_non_ip_pass_untouched(void **state)
{
	struct lab *l = *state;
	uint8_t pkt[PKT_MAX];
	size_t len;
	struct pkt_spec p = client_pkt(4, IPPROTO_ICMP, "10.9.0.1", 0, 0);

	two_services(l);
	len = pkt_build(pkt, &p);
	expect_untouched(l, pkt, len, CB_G_PASS_UNKNOWN);
	p = client_pkt(6, IPPROTO_ICMPV6, "fd00:9::1", 0, 0);
	len = pkt_build(pkt, &p);
	expect_untouched(l, pkt, len, CB_G_PASS_UNKNOWN);
	/* ARP request: ethertype 0x0806 */
	memset(pkt, 0, 60);
	memset(pkt, 0xff, 6);
	pkt[12] = 0x08, pkt[13] = 0x06;
	expect_untouched(l, pkt, 60, CB_G_PASS_UNKNOWN);
}

void test_spec7_zero_length_payloads(void **state)
{
	struct lab *l = *state;

	two_services(l);
	for (int family = 4; family <= 6; family += 2) {
		struct pkt_spec p = client_pkt(family, IPPROTO_TCP, family == 4 ? "10.9.0.1" : "fd00:9::1",
					       500, 0x02);
		uint8_t pkt[PKT_MAX];
		size_t len;

		p.payload = 0;
		expect_natted(l, &p);
		p.proto = IPPROTO_UDP;
		expect_natted(l, &p);
		/* an empty ACK of no flow is no flow of ours: as it came, a conntrack miss */
		p.proto = IPPROTO_TCP;
		p.tcp_flags = 0x10;
		p.sport = 501;
		len = pkt_build(pkt, &p);
		expect_untouched(l, pkt, len, CB_G_CT_MISS);
	}
}

/* Headers so long that the L4 header lies beyond what XDP may rewrite: passed, counted. */
void test_spec7_deep_l4_header_passes_untouched(void **state)
{
	struct lab *l = *state;
	struct pkt_spec p = client_pkt(6, IPPROTO_TCP, "fd00:9::1", 900, 0x02);
	uint8_t pkt[PKT_MAX];
	size_t len;

	two_services(l);
	/* One destination-options header of 448 bytes (PadN), TCP behind it at offset 502. */
	p.ext[0] = IPPROTO_DSTOPTS;
	p.n_ext = 1;
	len = pkt_build(pkt, &p);
	uint8_t *ext = pkt + 14 + 40, tcp[20];

	memcpy(tcp, ext + 16, sizeof(tcp));
	memset(ext, 0, 448);
	ext[0] = IPPROTO_TCP;
	ext[1] = 448 / 8 - 1;
	ext[2] = 1;                 /* PadN options fill the 446 option bytes */
	ext[3] = 255;
	ext[2 + 257] = 1;
	ext[2 + 257 + 1] = 446 - 257 - 2;
	memcpy(ext + 448, tcp, sizeof(tcp));
	len = 14 + 40 + 448 + 20;
	pkt[14 + 4] = (uint8_t)((448 + 20) >> 8);
	pkt[14 + 5] = (uint8_t)((448 + 20) & 0xff);
	expect_untouched(l, pkt, len, CB_G_PASS_UNKNOWN);
}
