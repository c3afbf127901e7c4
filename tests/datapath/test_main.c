// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Datapath tests: the real BPF programs on the running kernel, fed crafted
 * packets through BPF_PROG_TEST_RUN. The binary moves into a network
 * namespace of its own first, so nothing it creates outlives it.
 */

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>

#include "tests.h"

const char *const STABLE4[4] = { "10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4" };
const char *const CANARY4[1] = { "10.0.2.1" };
const char *const STABLE6[4] = { "fd00:1::1", "fd00:1::2", "fd00:1::3", "fd00:1::4" };
const char *const CANARY6[1] = { "fd00:2::1" };

void std_service(struct lab *l, struct svc *s, int family, int proto, int affinity)
{
	svc_add(l, s, family, family == 4 ? VIP4 : VIP6, 80, proto, affinity);
	track_set(l, s, CB_TRACK_STABLE, family == 4 ? STABLE4 : STABLE6, BPORT, 4);
	track_set(l, s, CB_TRACK_CANARY, family == 4 ? CANARY4 : CANARY6, BPORT, 1);
}

struct pkt_spec client_pkt(int family, int proto, const char *src, uint16_t sport, uint8_t flags)
{
	struct pkt_spec s = {
		.family = family, .proto = proto, .src = src, .dst = family == 4 ? VIP4 : VIP6,
		.sport = sport, .dport = 80, .tcp_flags = flags,
	};
	return s;
}

int landed_track(const struct run_out *o, int family)
{
	if (addr_index(family, &o->v.daddr, family == 4 ? STABLE4 : STABLE6, 4) >= 0)
		return CB_TRACK_STABLE;
	if (addr_index(family, &o->v.daddr, family == 4 ? CANARY4 : CANARY6, 1) >= 0)
		return CB_TRACK_CANARY;
	return -1;
}

const char *client_addr(int family, uint32_t i, char *buf)
{
	if (family == 4)
		sprintf(buf, "10.%u.%u.%u", 100 + (i >> 16 & 0x7f), i >> 8 & 0xff, i & 0xff);
	else
		sprintf(buf, "fd00:100::%x:%x", i >> 16, i & 0xffff);
	return buf;
}

/* A client packet through hook h; asserts it was rewritten with valid checksums. */
int send_track(struct lab *l, enum hook h, int family, int proto, const char *src,
		      uint16_t sport, uint8_t flags, struct run_out *o)
{
	struct pkt_spec s = client_pkt(family, proto, src, sport, flags);

	run_spec(l, h, &s, o);
	assert_int_equal(o->verdict, V_PASS);
	assert_int_equal(o->csum, 0);
	return landed_track(o, family);
}

int open_flow(struct lab *l, enum hook h, int family, int proto, const char *src,
	      uint16_t sport, struct run_out *o)
{
	int track = send_track(l, h, family, proto, src, sport, 0x02, o);
	char be[64];
	struct pkt_spec r = {
		.family = family, .proto = proto, .src = be, .dst = src, .sport = o->v.dport,
		.dport = sport, .tcp_flags = 0x12, .seq = TEST_BACKEND_ISN,
	};
	struct pkt_spec a = client_pkt(family, proto, src, sport, 0x10);
	struct run_out ro;

	if (proto != IPPROTO_TCP)
		return track;
	inet_ntop(family == 4 ? AF_INET : AF_INET6, o->v.daddr.b, be, sizeof(be));
	run_spec(l, HOOK_TC_OUT, &r, &ro);            /* the backend's SYN-ACK, reverse-NATed */
	assert_int_equal(ro.verdict, V_PASS);
	assert_int_equal(ro.v.sport, 80);
	a.seq = PKT_SEQ + 1;
	a.ack = TEST_BACKEND_ISN + 1;                 /* the client acknowledges it */
	run_spec(l, h, &a, &ro);
	assert_int_equal(ro.verdict, V_PASS);
	assert_true(pkt_addr_eq(&ro.v.daddr, &o->v.daddr));
	return track;
}

int flow_verified(struct lab *l, int family, int proto, const char *src, uint16_t sport)
{
	struct cb_ct_key k = flow_key(family, proto, src, sport, family == 4 ? VIP4 : VIP6, 80);
	struct cb_ct_entry e;

	return bpf_map_lookup_elem(l->maps.ct, &k, &e) == 0;
}

#define CASE(name) cmocka_unit_test_setup_teardown(name, lab_setup, lab_teardown),

int main(void)
{
	const struct CMUnitTest tests[] = {
		TESTS_BASIC(CASE)
		TESTS_SPLIT(CASE)
		TESTS_MALFORMED(CASE)
		TESTS_SIGNALS(CASE)
		TESTS_FORWARD(CASE)
		TESTS_HOSTILE(CASE)
	};

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "test_datapath: unshare(CLONE_NEWNET): %s (run as root)\n",
			strerror(errno));
		return 1;
	}
	if (fwd_env_setup()) {
		fprintf(stderr, "test_datapath: cannot build the forwarding namespace\n");
		return 1;
	}
	return cmocka_run_group_tests_name("datapath", tests, NULL, NULL);
}
