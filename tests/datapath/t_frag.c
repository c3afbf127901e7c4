// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Fragments of a service flow: the later ones follow their first to the
 * same backend, replies are reverse-NATed whole, and no fragment ever leaves
 * toward a client with a backend's address.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "tests.h"

#define SPLIT 64   /* bytes of the datagram in the first fragment (a multiple of 8) */

/* The IPv4 header of a frame we built holds its checksum (IPv6 has none). */
static int l3_ok(const struct run_out *o)
{
	const uint8_t *ip = o->data + 14;

	return o->v.family == 6 || pkt_fold(pkt_sum16(ip, (size_t)(ip[0] & 0xf) * 4, 0)) == 0;
}

/* Both fragments of whole[] through hook h; the datagram they make, checked from scratch. */
static void run_pair(struct lab *l, enum hook h, const uint8_t *whole, size_t len, int family,
		     uint16_t id, struct pkt_view *v)
{
	uint8_t f[2][PKT_MAX], d[PKT_MAX];
	struct run_out o[2];
	size_t n[2], dl;
	uint64_t nat = global_count(l, CB_G_FRAG_NAT);

	for (int part = 0; part < 2; part++) {
		n[part] = pkt_fragment(f[part], whole, len, family, id, SPLIT, part);
		run_pkt(l, h, f[part], n[part], 0, &o[part]);
		assert_int_equal(o[part].verdict, V_PASS);
		assert_true(l3_ok(&o[part]));
	}
	assert_true(pkt_addr_eq(&o[0].v.saddr, &o[1].v.saddr));
	assert_true(pkt_addr_eq(&o[0].v.daddr, &o[1].v.daddr));
	assert_int_equal(global_count(l, CB_G_FRAG_NAT), nat + 1);
	dl = pkt_reassemble(d, o[0].data, o[0].len, o[1].data, o[1].len, family);
	assert_int_equal(pkt_check(d, dl, v), 0);
}

/*
 * A 300-byte UDP request in two fragments, IPv4 and IPv6, on every hook:
 * both reach one backend, the datagram's checksum holds; the reply in two
 * fragments leaves from VIP:port. A later fragment of no known datagram
 * passes when it is a request, and is dropped when a backend sent it.
 */
void test_frag_follow_first_both_ways(void **state)
{
	struct lab *l = *state;
	uint8_t whole[PKT_MAX], f[PKT_MAX];
	struct pkt_view v;
	struct run_out o;
	struct svc s;
	size_t len, n;

	for (int family = 4; family <= 6; family += 2) {
		const char *client = family == 4 ? "10.9.0.40" : "fd00:9::40";
		union cb_addr vip = pkt_addr(family, family == 4 ? VIP4 : VIP6);
		union cb_addr c = pkt_addr(family, client);

		std_service(l, &s, family, IPPROTO_UDP, CB_AFFINITY_CONNECTION);
		FOR_HOOKS_IN(h) {
			struct pkt_spec p = client_pkt(family, IPPROTO_UDP, client, (uint16_t)(7000 + h), 0);
			char be[64];

			p.payload = 300;
			len = pkt_build(whole, &p);
			run_pair(l, h, whole, len, family, (uint16_t)(0x70 + h), &v);
			assert_true(addr_index(family, &v.daddr, family == 4 ? STABLE4 : STABLE6, 4) >= 0 ||
				    addr_index(family, &v.daddr, family == 4 ? CANARY4 : CANARY6, 1) >= 0);
			assert_int_equal(v.dport, BPORT);
			/* The reply, fragmented by the backend, on its way out and coming in. */
			inet_ntop(family == 4 ? AF_INET : AF_INET6, v.daddr.b, be, sizeof(be));
			struct pkt_spec r = {
				.family = family, .proto = IPPROTO_UDP, .src = be, .dst = client,
				.sport = BPORT, .dport = p.sport, .payload = 300,
			};
			len = pkt_build(whole, &r);
			for (enum hook rh = HOOK_XDP; rh <= HOOK_TC_OUT; rh++) {
				run_pair(l, rh, whole, len, family, (uint16_t)(0x90 + h * 4 + rh), &v);
				assert_true(pkt_addr_eq(&v.saddr, &vip));
				assert_int_equal(v.sport, 80);
				assert_true(pkt_addr_eq(&v.daddr, &c));
				/* A stray later fragment from the backend: never out with its address. */
				uint64_t drop = global_count(l, CB_G_DROP_FRAG);

				n = pkt_fragment(f, whole, len, family, (uint16_t)(0x5500 + rh), SPLIT, 1);
				run_pkt(l, rh, f, n, 0, &o);
				assert_int_equal(o.verdict, V_DROP);
				assert_int_equal(global_count(l, CB_G_DROP_FRAG), drop + 1);
			}
			/* A stray later fragment of a request: as it came. */
			uint64_t pass = global_count(l, CB_G_PASS_FRAGMENT);

			len = pkt_build(whole, &p);
			n = pkt_fragment(f, whole, len, family, (uint16_t)(0x6600 + h), SPLIT, 1);
			run_pkt(l, h, f, n, 0, &o);
			assert_int_equal(o.verdict, V_PASS);
			assert_memory_equal(o.data, f, n);
			assert_int_equal(global_count(l, CB_G_PASS_FRAGMENT), pass + 1);
		}
	}
}
