// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A pending flow is one element of cb_pend; its replies find it through its
 * backend address (cb_baddr). These tests move an address through the
 * states that lookup depends on: one VIP:port's, shared by a second
 * service, retired (no record left), and one VIP:port with two protocols.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <string.h>

#include "tests.h"

static uint32_t keys_in(int fd)
{
	struct cb_ct_key k, next;
	uint32_t n = 0;
	void *cur = NULL;

	while (bpf_map_get_next_key(fd, cur, &next) == 0) {
		k = next;
		cur = &k;
		n++;
	}
	return n;
}

/* The backend's answer to client:cport (SYN-ACK for TCP, a datagram for UDP). */
static void reply(struct lab *l, int proto, const char *backend, const char *client, uint16_t cport,
		  struct run_out *o)
{
	struct pkt_spec r = {
		.family = 4, .proto = proto, .src = backend, .dst = client, .sport = BPORT,
		.dport = cport, .tcp_flags = 0x12, .seq = TEST_BACKEND_ISN, .payload = 8,
	};

	if (proto == IPPROTO_TCP)
		r.payload = 0;
	run_spec(l, HOOK_TC_OUT, &r, o);
}

static void expect_from(const struct run_out *o, const char *vip, uint16_t vport)
{
	union cb_addr a = pkt_addr(4, vip);

	assert_true(pkt_addr_eq(&o->v.saddr, &a));
	assert_int_equal(o->v.sport, vport);
	assert_int_equal(o->csum, 0);
}

void test_pend_one_element_through_address_states(void **state)
{
	struct lab *l = *state;
	static const char *const one[1] = { "10.0.6.1" };
	static const char *const udp_old[1] = { "10.0.6.2" }, *const udp_new[1] = { "10.0.6.3" };
	static const char *const dns[1] = { "10.0.6.4" };
	uint64_t coll = global_count(l, CB_G_DROP_REV_COLLISION);
	struct pkt_spec p;
	struct run_out o;
	struct svc a, b, c, d, e;

	/* One service's address: a SYN writes one element and no index entry. */
	svc_add(l, &a, 4, VIP4, 80, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	track_set(l, &a, CB_TRACK_STABLE, one, BPORT, 1);
	p = client_pkt(4, IPPROTO_TCP, "10.9.0.20", 6000, 0x02);
	run_spec(l, HOOK_XDP, &p, &o);
	assert_int_equal(o.v.dport, BPORT);
	assert_int_equal(keys_in(l->maps.pend), 1);
	assert_int_equal(keys_in(l->maps.pend_rev), 0);

	/* A second service takes the address: the first's flow still holds its reply tuple. */
	svc_add(l, &b, 4, "10.96.0.11", 80, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	track_set(l, &b, CB_TRACK_STABLE, one, BPORT, 1);
	p.dst = "10.96.0.11";
	run_spec(l, HOOK_XDP, &p, &o);
	assert_int_equal(o.verdict, V_DROP);
	assert_int_equal(global_count(l, CB_G_DROP_REV_COLLISION), coll + 1);
	reply(l, IPPROTO_TCP, one[0], "10.9.0.20", 6000, &o);
	expect_from(&o, VIP4, 80);

	/* A flow placed while shared has its index entry, used by its replies, gone when verified. */
	p = client_pkt(4, IPPROTO_TCP, "10.9.0.21", 6001, 0x02);
	p.dst = "10.96.0.11";
	run_spec(l, HOOK_XDP, &p, &o);
	assert_int_equal(o.v.dport, BPORT);
	assert_int_equal(keys_in(l->maps.pend_rev), 1);
	reply(l, IPPROTO_TCP, one[0], "10.9.0.21", 6001, &o);
	expect_from(&o, "10.96.0.11", 80);
	p.tcp_flags = 0x10;
	p.seq = PKT_SEQ + 1;
	p.ack = TEST_BACKEND_ISN + 1;
	run_spec(l, HOOK_XDP, &p, &o);
	assert_int_equal(keys_in(l->maps.pend_rev), 0);
	reply(l, IPPROTO_TCP, one[0], "10.9.0.21", 6001, &o);
	expect_from(&o, "10.96.0.11", 80);

	/* A retired address: its last record gone, the flows on it still answer as the VIP. */
	svc_add(l, &c, 4, VIP4, 81, IPPROTO_UDP, CB_AFFINITY_CONNECTION);
	track_set(l, &c, CB_TRACK_STABLE, udp_old, BPORT, 1);
	p = client_pkt(4, IPPROTO_UDP, "10.9.0.22", 6002, 0);
	p.dport = 81;
	run_spec(l, HOOK_XDP, &p, &o);
	assert_int_equal(o.v.dport, BPORT);
	track_set(l, &c, CB_TRACK_STABLE, udp_new, BPORT, 1);
	reply(l, IPPROTO_UDP, udp_old[0], "10.9.0.22", 6002, &o);
	expect_from(&o, VIP4, 81);

	/* One VIP:port over TCP and UDP (DNS): not shared, the protocol tells the flows apart. */
	svc_add(l, &d, 4, "10.96.0.12", 53, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	svc_add(l, &e, 4, "10.96.0.12", 53, IPPROTO_UDP, CB_AFFINITY_CONNECTION);
	track_set(l, &d, CB_TRACK_STABLE, dns, BPORT, 1);
	track_set(l, &e, CB_TRACK_STABLE, dns, BPORT, 1);
	for (int proto = IPPROTO_TCP; proto <= IPPROTO_UDP; proto += IPPROTO_UDP - IPPROTO_TCP) {
		p = client_pkt(4, proto, "10.9.0.23", 6003, proto == IPPROTO_TCP ? 0x02 : 0);
		p.dst = "10.96.0.12";
		p.dport = 53;
		run_spec(l, HOOK_XDP, &p, &o);
		assert_int_equal(o.v.dport, BPORT);
		reply(l, proto, dns[0], "10.9.0.23", 6003, &o);
		expect_from(&o, "10.96.0.12", 53);
	}
	assert_int_equal(keys_in(l->maps.pend_rev), 0);
	assert_int_equal(global_count(l, CB_G_DROP_REV_COLLISION), coll + 1);
}
