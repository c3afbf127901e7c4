// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Forwarding after NAT: fib lookup + redirect, or the stack when that cannot be done. */
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "canary_params.h"
#include "tests.h"

unsigned int fwd_if_client, fwd_if_backend;

static const uint8_t NEIGH_MAC[6] = { 0x02, 0xcb, 0, 0, 0, 0x01 };

int fwd_env_setup(void)
{
	/* Runs inside the test's private namespace: the names cannot collide. */
	static const char *const cmds[] = {
		"ip link set lo up",
		"ip link add cbt-c type veth peer name cbt-cp",
		"ip link add cbt-b type veth peer name cbt-bp",
		"ip link set cbt-c up", "ip link set cbt-cp up",
		"ip link set cbt-b up", "ip link set cbt-bp up",
		"ip addr add 192.0.2.1/24 dev cbt-c",
		"ip addr add 10.0.7.254/24 dev cbt-b",
		"ip -6 addr add 2001:db8:c::1/64 dev cbt-c nodad",
		"ip -6 addr add fd00:7::fe/64 dev cbt-b nodad",
		"ip neigh replace 10.0.7.1 lladdr 02:cb:00:00:00:01 dev cbt-b nud permanent",
		"ip neigh replace 10.0.7.2 lladdr 02:cb:00:00:00:01 dev cbt-b nud permanent",
		"ip neigh replace 10.0.7.3 lladdr 02:cb:00:00:00:01 dev cbt-b nud permanent",
		"ip neigh replace 10.0.7.4 lladdr 02:cb:00:00:00:01 dev cbt-b nud permanent",
		"ip -6 neigh replace fd00:7::1 lladdr 02:cb:00:00:00:01 dev cbt-b nud permanent",
		"ip -6 neigh replace fd00:7::2 lladdr 02:cb:00:00:00:01 dev cbt-b nud permanent",
		"ip -6 neigh replace fd00:7::3 lladdr 02:cb:00:00:00:01 dev cbt-b nud permanent",
		"ip -6 neigh replace fd00:7::4 lladdr 02:cb:00:00:00:01 dev cbt-b nud permanent",
		"echo 1 > /proc/sys/net/ipv4/ip_forward",
		"echo 1 > /proc/sys/net/ipv6/conf/all/forwarding",
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (system(cmds[i]) != 0) {
			fprintf(stderr, "setup: '%s' failed\n", cmds[i]);
			return -1;
		}
	}
	fwd_if_client = if_nametoindex("cbt-c");
	fwd_if_backend = if_nametoindex("cbt-b");
	return fwd_if_client && fwd_if_backend ? 0 : -1;
}

static void backend_mac(uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	strcpy(ifr.ifr_name, "cbt-b");
	assert_int_equal(ioctl(fd, SIOCGIFHWADDR, &ifr), 0);
	close(fd);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
}

/*
 * The other tests' backends have no route in this namespace (their packets
 * go to the stack); these are behind cbt-b with static neighbours.
 */
static const char *const FWD4[2] = { "10.0.7.1", "10.0.7.2" }, *const FWD6[2] = { "fd00:7::1", "fd00:7::2" };
static const char *const NOROUTE4[1] = { "10.0.8.1" };

static void fwd_service(struct lab *l, struct svc *s, int family, int proto)
{
	svc_add(l, s, family, family == 4 ? VIP4 : VIP6, 80, proto, CB_AFFINITY_CONNECTION);
	track_set(l, s, CB_TRACK_STABLE, family == 4 ? FWD4 : FWD6, BPORT, 2);
	if (family == 4)
		track_set(l, s, CB_TRACK_CANARY, NOROUTE4, BPORT, 1);
}

static void run_in(struct lab *l, enum hook h, const struct pkt_spec *p, struct run_out *o)
{
	uint8_t pkt[PKT_MAX];
	size_t len = pkt_build(pkt, p);

	run_pkt(l, h, pkt, len, fwd_if_client, o);
}

void test_forward_fib_redirect(void **state)
{
	struct lab *l = *state;
	struct svc s4, s6;
	uint8_t smac[6];

	backend_mac(smac);
	fwd_service(l, &s4, 4, IPPROTO_TCP);
	fwd_service(l, &s6, 6, IPPROTO_UDP);
	assert_int_equal(cb_tx_port_add(&l->maps, fwd_if_backend), 0);
	for (int family = 4; family <= 6; family += 2) {
		FOR_HOOKS_IN(h) {
			struct pkt_spec p = client_pkt(family, family == 4 ? IPPROTO_TCP : IPPROTO_UDP,
						       family == 4 ? "192.0.2.77" : "2001:db8:c::77",
						       (uint16_t)(600 + h), 0x02);
			struct run_out o;

			p.payload = 40;
			run_in(l, h, &p, &o);
			assert_int_equal(o.verdict, V_REDIRECT);
			assert_int_equal(o.csum, 0);
			assert_true(addr_index(family, &o.v.daddr, family == 4 ? FWD4 : FWD6, 2) >= 0);
			assert_int_equal(o.v.ttl, 63);
			assert_memory_equal(o.data, NEIGH_MAC, 6);
			assert_memory_equal(o.data + 6, smac, 6);
		}
	}
	assert_int_equal(global_count(l, CB_G_FWD_REDIRECT), 4);
}

void test_forward_stack_fallback(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct run_out o;
	struct pkt_spec p = client_pkt(4, IPPROTO_TCP, "192.0.2.77", 700, 0x02);
	uint8_t in[PKT_MAX];

	pkt_build(in, &p);
	fwd_service(l, &s, 4, IPPROTO_TCP);
	/* XDP: the egress device does not take XDP frames -> the stack forwards */
	run_in(l, HOOK_XDP, &p, &o);
	assert_int_equal(o.verdict, V_PASS);
	assert_int_equal(o.csum, 0);
	assert_true(addr_index(4, &o.v.daddr, FWD4, 2) >= 0);
	assert_int_equal(o.v.ttl, 64);
	assert_memory_equal(o.data, in, 12);
	/* tc may redirect anywhere; now make the route fail instead: no route to canary */
	cb_tx_port_add(&l->maps, fwd_if_backend);
	weight_set(l, &s, CB_WEIGHT_MAX);
	FOR_HOOKS_IN(h) {
		p.sport = (uint16_t)(710 + h);
		run_in(l, h, &p, &o);
		assert_int_equal(o.verdict, V_PASS);
		assert_true(addr_index(4, &o.v.daddr, NOROUTE4, 1) >= 0);
		assert_int_equal(o.v.ttl, 64);
		assert_memory_equal(o.data, in, 12);
	}
	/*
	 * TTL about to expire: the stack sends the ICMP error, quoting the
	 * packet as the client sent it (to the VIP), never a backend's address.
	 */
	weight_set(l, &s, 0);
	FOR_HOOKS_IN(h) {
		union cb_addr vip = pkt_addr(4, VIP4);
		uint64_t ttl = global_count(l, CB_G_PASS_TTL);

		p.sport = (uint16_t)(720 + h);
		p.ttl = 1;
		run_in(l, h, &p, &o);
		assert_int_equal(o.verdict, V_PASS);
		assert_int_equal(o.v.ttl, 1);
		assert_int_equal(o.csum, 0);
		assert_true(pkt_addr_eq(&o.v.daddr, &vip));
		assert_int_equal(global_count(l, CB_G_PASS_TTL), ttl + 1);
	}
	/* No neighbour entry for the backend yet */
	const char *const lone[1] = { "10.0.7.9" };

	track_set(l, &s, CB_TRACK_STABLE, lone, BPORT, 1);
	FOR_HOOKS_IN(h) {
		p.sport = (uint16_t)(730 + h);
		p.ttl = 64;
		run_in(l, h, &p, &o);
		assert_int_equal(o.verdict, V_PASS);
		assert_int_equal(o.v.ttl, 64);
	}
	assert_int_equal(global_count(l, CB_G_FWD_REDIRECT), 0);
	assert_int_equal(global_count(l, CB_G_FWD_STACK), 5);
}

static struct cb_nexthop ct_next_hop(struct lab *l, const char *src, uint16_t sport)
{
	struct cb_ct_key k = flow_key(4, IPPROTO_TCP, src, sport, VIP4, 80);
	struct cb_ct_entry e;

	assert_int_equal(flow_get(l, &k, &e, NULL), 0);
	return e.nh;
}

static void ct_next_hop_age(struct lab *l, const char *src, uint16_t sport)
{
	struct cb_ct_key k = flow_key(4, IPPROTO_TCP, src, sport, VIP4, 80);
	struct cb_ct_entry e;

	assert_int_equal(flow_get(l, &k, &e, NULL), 0);
	e.nh.stamp -= (uint32_t)(CB_NH_REFRESH_NS >> CB_NH_STAMP_SHIFT) + 1;
	flow_put(l, &k, &e, NULL);
}

static void set_neigh_mac(const char *mac)
{
	char cmd[128];

	for (int i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), "ip neigh replace %s lladdr %s dev cbt-b nud permanent",
			 FWD4[i], mac);
		assert_int_equal(system(cmd), 0);
	}
}

/*
 * An established flow reuses the next hop its conntrack entry cached, until
 * the cache is CB_NH_REFRESH_NS old; the XDP device check is not cached.
 */
void test_forward_next_hop_cache(void **state)
{
	static const uint8_t NEW_MAC[6] = { 0x02, 0xcb, 0, 0, 0, 0x02 };
	struct lab *l = *state;
	struct svc s;
	struct run_out o;
	struct cb_nexthop nh;
	struct pkt_spec p = client_pkt(4, IPPROTO_TCP, "192.0.2.78", 800, 0x02);

	fwd_service(l, &s, 4, IPPROTO_TCP);
	weight_set(l, &s, 0);
	assert_int_equal(cb_tx_port_add(&l->maps, fwd_if_backend), 0);
	/* the first packet looks up; its entry does not exist yet to cache it */
	run_in(l, HOOK_XDP, &p, &o);
	assert_int_equal(o.verdict, V_REDIRECT);
	assert_int_equal(ct_next_hop(l, "192.0.2.78", 800).ifindex, 0);
	/* the second caches */
	p.tcp_flags = 0x10;
	run_in(l, HOOK_XDP, &p, &o);
	assert_int_equal(o.verdict, V_REDIRECT);
	nh = ct_next_hop(l, "192.0.2.78", 800);
	assert_int_equal(nh.ifindex, fwd_if_backend);
	assert_int_equal(nh.iif, fwd_if_client);
	assert_memory_equal(nh.dmac, NEIGH_MAC, 6);
	/* a neighbour change is seen once the cache is a refresh interval old */
	set_neigh_mac("02:cb:00:00:00:02");
	run_in(l, HOOK_XDP, &p, &o);
	assert_memory_equal(o.data, NEIGH_MAC, 6);
	ct_next_hop_age(l, "192.0.2.78", 800);
	FOR_HOOKS_IN(h) {
		run_in(l, h, &p, &o);
		assert_int_equal(o.verdict, V_REDIRECT);
		assert_memory_equal(o.data, NEW_MAC, 6);
		assert_int_equal(o.csum, 0);
		assert_int_equal(o.v.ttl, 63);
	}
	assert_memory_equal(ct_next_hop(l, "192.0.2.78", 800).dmac, NEW_MAC, 6);
	set_neigh_mac("02:cb:00:00:00:01");
	/* a device that stops taking XDP frames does so at once, cached or not */
	assert_int_equal(cb_tx_port_del(&l->maps, fwd_if_backend), 0);
	run_in(l, HOOK_XDP, &p, &o);
	assert_int_equal(o.verdict, V_PASS);
	assert_int_equal(o.v.ttl, 64);
	assert_int_equal(global_count(l, CB_G_FWD_STACK), 1);
}
