// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ICMP errors about NATed flows, both ways and both families, and TTL 1:
 * translated with every checksum valid, never revealing a backend.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "tests.h"

struct flow {
	int family, proto;
	const char *client, *vip;
	uint16_t cport;
	char be[64];
	union cb_addr c, v, b;
};

/* The frame an error quotes: a packet of the flow between src:sport and dst:dport. */
static size_t quote(uint8_t *pkt, const struct flow *f, const union cb_addr *src, uint16_t sport,
		    const union cb_addr *dst, uint16_t dport)
{
	struct pkt_spec p = {
		.family = f->family, .proto = f->proto, .src_addr = src, .dst_addr = dst,
		.sport = sport, .dport = dport, .tcp_flags = 0x18, .payload = 120,
	};

	return pkt_build(pkt, &p);
}

static uint8_t type_of(int family, int what)
{
	static const uint8_t t4[] = { 3, 3, 11 }, t6[] = { 2, 1, 3 };

	return family == 4 ? t4[what] : t6[what];
}

enum { PMTU, UNREACH, TIME_EXCEEDED };

static void run_error(struct lab *l, enum hook h, const struct flow *f, const char *from,
		      const char *to, int what, const uint8_t *q, size_t qlen, size_t keep,
		      struct pkt_icmp_view *v)
{
	uint8_t err[PKT_MAX];
	struct run_out o;
	uint64_t nat = global_count(l, CB_G_ICMP_NAT);
	size_t len = pkt_icmp_error(err, f->family, from, to, type_of(f->family, what),
				    what == PMTU && f->family == 4 ? 4 : what == UNREACH ? 3 : 0,
				    what == PMTU ? 1280 : 0, q, qlen, keep);

	/* Now and then a frame trailer (Ethernet padding): no part of the message. */
	if (keep && what == UNREACH) {
		memset(err + len, 0xa5, 18);
		len += 18;
	}
	run_pkt(l, h, err, len, 0, &o);
	assert_int_equal(o.verdict, V_PASS);
	assert_int_equal(pkt_icmp_check(o.data, o.len, v), 0);
	assert_int_equal(v->whole, keep == 0);
	assert_int_equal(global_count(l, CB_G_ICMP_NAT), nat + 1);
}

static void errors_of(struct lab *l, struct flow *f)
{
	const char *router = f->family == 4 ? "10.9.9.9" : "fd00:9::9";
	const char *near_be = f->family == 4 ? "10.0.9.1" : "fd00:0:9::1";
	union cb_addr r = pkt_addr(f->family, router), nb = pkt_addr(f->family, near_be);
	size_t hl = f->family == 4 ? 20 : 40;
	struct pkt_icmp_view v;
	uint8_t q[PKT_MAX];
	size_t qlen;

	for (enum hook h = HOOK_XDP; h <= HOOK_TC_OUT; h++) {
		for (size_t keep = 0; keep <= hl + 8; keep += hl + 8) {
			/* A hop toward the client: "too big" about our reply, sent to the VIP. */
			if (h != HOOK_TC_OUT) {   /* nothing goes out to a VIP */
				qlen = quote(q, f, &f->v, 80, &f->c, f->cport);
				run_error(l, h, f, router, f->vip, PMTU, q, qlen, keep, &v);
				assert_true(pkt_addr_eq(&v.daddr, &f->b));
				assert_true(pkt_addr_eq(&v.saddr, &r));
				assert_true(pkt_addr_eq(&v.in_saddr, &f->b));
				assert_int_equal(v.in_sport, BPORT);
				assert_true(pkt_addr_eq(&v.in_daddr, &f->c));
				assert_int_equal(v.in_dport, f->cport);
			}
			/* The backend about the request it got: to the client, from the VIP. */
			qlen = quote(q, f, &f->c, f->cport, &f->b, BPORT);
			run_error(l, h, f, f->be, f->client, UNREACH, q, qlen, keep, &v);
			assert_true(pkt_addr_eq(&v.saddr, &f->v));
			assert_true(pkt_addr_eq(&v.daddr, &f->c));
			assert_true(pkt_addr_eq(&v.in_daddr, &f->v));
			assert_int_equal(v.in_dport, 80);
			assert_true(pkt_addr_eq(&v.in_saddr, &f->c));
			/* A router on the backend's side: its own address stays, the quote is the VIP's. */
			run_error(l, h, f, near_be, f->client, TIME_EXCEEDED, q, qlen, keep, &v);
			assert_true(pkt_addr_eq(&v.saddr, &nb));
			assert_true(pkt_addr_eq(&v.in_daddr, &f->v));
			assert_int_equal(v.in_dport, 80);
		}
	}
}

/*
 * "Fragmentation needed" / "packet too big", destination unreachable and
 * time exceeded, IPv4 and IPv6, TCP and UDP, quoted whole or only their
 * first 8 bytes: matched to the flow, rewritten outside and inside, all
 * checksums valid. An error about no flow of ours passes untouched.
 */
void test_icmp_errors_translated_both_ways(void **state)
{
	struct lab *l = *state;
	struct run_out o;
	struct svc s;

	for (int family = 4; family <= 6; family += 2) {
		for (int proto = IPPROTO_TCP; proto <= IPPROTO_UDP; proto += IPPROTO_UDP - IPPROTO_TCP) {
			struct flow f = {
				.family = family, .proto = proto,
				.client = family == 4 ? "10.9.0.20" : "fd00:9::20",
				.vip = family == 4 ? VIP4 : VIP6, .cport = (uint16_t)(6000 + proto),
			};

			std_service(l, &s, family, proto, CB_AFFINITY_CONNECTION);
			open_flow(l, HOOK_XDP, family, proto, f.client, f.cport, &o);
			f.c = pkt_addr(family, f.client);
			f.v = pkt_addr(family, f.vip);
			f.b = o.v.daddr;
			inet_ntop(family == 4 ? AF_INET : AF_INET6, f.b.b, f.be, sizeof(f.be));
			errors_of(l, &f);
		}
	}
	/* About a flow nobody opened. */
	union cb_addr vip = pkt_addr(4, VIP4), other = pkt_addr(4, "10.9.0.99");
	struct flow f = { .family = 4, .proto = IPPROTO_TCP };
	uint8_t q[PKT_MAX], err[PKT_MAX];
	uint64_t unknown = global_count(l, CB_G_PASS_UNKNOWN);
	size_t qlen = quote(q, &f, &vip, 80, &other, 1234);
	size_t len = pkt_icmp_error(err, 4, "10.9.9.9", VIP4, 3, 4, 1280, q, qlen, 0);

	run_pkt(l, HOOK_XDP, err, len, 0, &o);
	assert_int_equal(o.verdict, V_PASS);
	assert_memory_equal(o.data, err, len);
	assert_int_equal(global_count(l, CB_G_PASS_UNKNOWN), unknown + 1);
}

/*
 * TTL / hop limit 1 toward a VIP, new or established: the stack gets the
 * packet as the client sent it, so its "time exceeded" quotes the VIP.
 */
void test_icmp_ttl1_never_reveals_backend(void **state)
{
	struct lab *l = *state;
	struct run_out o;
	struct svc s;

	for (int family = 4; family <= 6; family += 2) {
		const char *client = family == 4 ? "10.9.0.30" : "fd00:9::30";
		union cb_addr vip = pkt_addr(family, family == 4 ? VIP4 : VIP6);

		std_service(l, &s, family, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
		open_flow(l, HOOK_XDP, family, IPPROTO_TCP, client, 6100, &o);
		FOR_HOOKS_IN(h) {
			for (int established = 0; established < 2; established++) {
				struct pkt_spec p = client_pkt(family, IPPROTO_TCP, client,
							       established ? 6100 : (uint16_t)(6200 + h),
							       established ? 0x18 : 0x02);
				uint64_t ttl = global_count(l, CB_G_PASS_TTL);

				p.ttl = 1;
				p.seq = established ? PKT_SEQ + 1 : 0;
				p.ack = established ? TEST_BACKEND_ISN + 1 : 0;
				run_spec(l, h, &p, &o);
				assert_int_equal(o.verdict, V_PASS);
				assert_int_equal(o.csum, 0);
				assert_int_equal(o.v.ttl, 1);
				assert_true(pkt_addr_eq(&o.v.daddr, &vip));
				assert_int_equal(o.v.dport, 80);
				assert_int_equal(global_count(l, CB_G_PASS_TTL), ttl + 1);
			}
		}
	}
}
