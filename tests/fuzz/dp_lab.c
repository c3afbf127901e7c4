// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The fuzzer's lab: a private network namespace with two veth pairs and
 * static neighbours (so bpf_fib_lookup() resolves exactly the addresses the
 * oracle knows), the real datapath loaded from the embedded skeleton (no
 * pins: nothing outlives the process), and a fixed set of services set up
 * through the library, as the CLI would.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "dp_fuzz.h"
#include "skel_maps.h"

struct be_cfg {
	const char *addr;
	uint16_t port;
	int track;
};

struct svc_cfg {
	int family, proto;
	const char *vip;
	uint16_t port;
	int affinity;
	uint32_t weight;
	int pending;
	struct be_cfg be[FZ_MAX_BE];
	const char *ovr;
	int ovr_len, ovr_track;
};

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define CONN CB_AFFINITY_CONNECTION
#define CLIENT CB_AFFINITY_CLIENT

/*
 * Every backend address:port belongs to one service and one track, so a
 * rewritten packet says which service and track it went to. 10.0.7.0/24 and
 * fd00:7::/64 sit behind the backend veth with neighbours (redirected);
 * 10.0.8.0/24 and fd00:8::/64 have no route (handed to the stack).
 */
static const struct svc_cfg SVC_CFG[] = {
	{ 4, TCP, "10.96.0.10", 80, CONN, 3000, 0,
	  { { "10.0.7.1", 8080, 0 }, { "10.0.7.2", 8080, 0 }, { "10.0.8.1", 8080, 0 },
	    { "10.0.7.3", 8080, 1 } },
	  "192.0.2.16", 28, 1 },
	{ 4, UDP, "10.96.0.10", 53, CLIENT, 5000, 0,
	  { { "10.0.7.4", 5353, 0 }, { "10.0.8.2", 53, 1 } }, NULL, 0, 0 },
	/* stable empty: every connection falls over to canary */
	{ 4, TCP, "10.96.0.10", 443, CONN, 0, 0, { { "10.0.7.5", 443, 1 } }, NULL, 0, 0 },
	/* no backend at all: dropped and counted */
	{ 4, TCP, "10.96.0.11", 80, CONN, 5000, 0, { { NULL, 0, 0 } }, NULL, 0, 0 },
	/* never published: passes as if it did not exist */
	{ 4, UDP, "10.96.0.12", 80, CONN, 0, 1, { { "10.0.7.6", 80, 0 } }, NULL, 0, 0 },
	{ 6, TCP, "fd00:96::10", 80, CONN, 2000, 0,
	  { { "fd00:7::1", 8080, 0 }, { "fd00:7::2", 8080, 0 }, { "fd00:8::1", 8080, 1 } },
	  "2001:db8:c::18", 125, 1 },
	{ 6, UDP, "fd00:96::10", 53, CLIENT, 10000, 0,
	  { { "fd00:7::3", 5353, 0 }, { "fd00:7::4", 53, 1 } }, NULL, 0, 0 },
	{ 6, UDP, "fd00:96::11", 53, CONN, 5000, 0, { { NULL, 0, 0 } }, NULL, 0, 0 },
	{ 6, TCP, "fd00:96::12", 80, CONN, 0, 1, { { "fd00:7::5", 80, 0 } }, NULL, 0, 0 },
};

#define NSVC ((int)(sizeof(SVC_CFG) / sizeof(SVC_CFG[0])))
#define NCLIENT 16
#define NNEIGH (6 + 4 + NCLIENT + NCLIENT)

static struct fz_service services[NSVC];
static struct fz_neigh neighs[NNEIGH];
static union cb_addr clients4[NCLIENT + 4], clients6[NCLIENT + 4];

struct fz_stats fz_stats;

static const char *const HOOKS[FZ_HOOKS] = { "xdp", "tc-in", "tc-out" };
static const char *const SIDES[FZ_SIDES] = { "none", "client", "backend" };

const char *fz_hook_name(enum fz_hook h)
{
	return HOOKS[h];
}

const char *fz_side_name(enum fz_side s)
{
	return SIDES[s];
}

int fz_hook_parse(const char *s, enum fz_hook *h)
{
	for (int i = 0; i < FZ_HOOKS; i++) {
		if (!strcmp(s, HOOKS[i])) {
			*h = (enum fz_hook)i;
			return 0;
		}
	}
	return -1;
}

int fz_side_parse(const char *s, enum fz_side *side)
{
	for (int i = 0; i < FZ_SIDES; i++) {
		if (!strcmp(s, SIDES[i])) {
			*side = (enum fz_side)i;
			return 0;
		}
	}
	return -1;
}

static int addr_of(int family, const char *s, union cb_addr *a)
{
	memset(a, 0, sizeof(*a));
	return inet_pton(family == 4 ? AF_INET : AF_INET6, s, a->b) == 1 ? 0 : -1;
}

static void mac_of(uint8_t mac[6], uint8_t a, uint8_t b, uint8_t c)
{
	mac[0] = 0x02;
	mac[1] = a;
	mac[2] = 0;
	mac[3] = 0;
	mac[4] = b;
	mac[5] = c;
}

/* Neighbours: backends behind cbf-b, routable clients behind cbf-c. */
static int neigh_build(void)
{
	static const char *const be4[6] = { "10.0.7.1", "10.0.7.2", "10.0.7.3",
					     "10.0.7.4", "10.0.7.5", "10.0.7.6" };
	static const char *const be6[4] = { "fd00:7::1", "fd00:7::2", "fd00:7::3", "fd00:7::4" };
	char buf[64];
	int n = 0;

	for (int i = 0; i < 6; i++, n++) {
		neighs[n].family = 4;
		neighs[n].side = FZ_IF_BACKEND;
		mac_of(neighs[n].mac, 0xcb, 0, (uint8_t)(i + 1));
		if (addr_of(4, be4[i], &neighs[n].addr))
			return -1;
	}
	for (int i = 0; i < 4; i++, n++) {
		neighs[n].family = 6;
		neighs[n].side = FZ_IF_BACKEND;
		mac_of(neighs[n].mac, 0xcb, 1, (uint8_t)(i + 1));
		if (addr_of(6, be6[i], &neighs[n].addr))
			return -1;
	}
	for (int i = 0; i < NCLIENT; i++, n += 2) {
		snprintf(buf, sizeof(buf), "192.0.2.%d", 10 + i);
		neighs[n].family = 4;
		neighs[n].side = FZ_IF_CLIENT;
		mac_of(neighs[n].mac, 0xcc, 0, (uint8_t)(10 + i));
		if (addr_of(4, buf, &neighs[n].addr))
			return -1;
		clients4[i] = neighs[n].addr;
		snprintf(buf, sizeof(buf), "2001:db8:c::%x", 0x10 + i);
		neighs[n + 1].family = 6;
		neighs[n + 1].side = FZ_IF_CLIENT;
		mac_of(neighs[n + 1].mac, 0xcc, 1, (uint8_t)(0x10 + i));
		if (addr_of(6, buf, &neighs[n + 1].addr))
			return -1;
		clients6[i] = neighs[n + 1].addr;
	}
	/* Clients without a route back: their replies go to the stack. */
	for (int i = 0; i < 4; i++) {
		snprintf(buf, sizeof(buf), "10.9.%d.%d", i, 7 * i + 1);
		addr_of(4, buf, &clients4[NCLIENT + i]);
		snprintf(buf, sizeof(buf), "fd00:9::%x", 0x100 + i);
		addr_of(6, buf, &clients6[NCLIENT + i]);
	}
	return 0;
}

static int net_setup(void)
{
	static const char *const base[] = {
		"link set lo up",
		/* fixed MACs: a run's output bytes depend on its seed alone */
		"link add cbf-c address 02:cf:00:00:00:01 type veth peer name cbf-cp",
		"link add cbf-b address 02:cf:00:00:00:02 type veth peer name cbf-bp",
		"link set cbf-c up", "link set cbf-cp up",
		"link set cbf-b up", "link set cbf-bp up",
		"addr add 192.0.2.1/24 dev cbf-c",
		"addr add 10.0.7.254/24 dev cbf-b",
		"addr add 2001:db8:c::1/64 dev cbf-c nodad",
		"addr add fd00:7::fe/64 dev cbf-b nodad",
	};
	char addr[INET6_ADDRSTRLEN];
	FILE *ip;
	int rc;

	if (system("echo 1 > /proc/sys/net/ipv4/ip_forward && "
		   "echo 1 > /proc/sys/net/ipv6/conf/all/forwarding") != 0)
		return -1;
	ip = popen("ip -batch -", "w");
	if (!ip)
		return -1;
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		fprintf(ip, "%s\n", base[i]);
	for (int i = 0; i < NNEIGH; i++) {
		const struct fz_neigh *n = &neighs[i];

		inet_ntop(n->family == 4 ? AF_INET : AF_INET6, n->addr.b, addr, sizeof(addr));
		fprintf(ip, "neigh replace %s lladdr %02x:%02x:%02x:%02x:%02x:%02x dev %s "
			"nud permanent\n", addr, n->mac[0], n->mac[1], n->mac[2], n->mac[3],
			n->mac[4], n->mac[5], n->side == FZ_IF_BACKEND ? "cbf-b" : "cbf-c");
	}
	rc = pclose(ip);
	return rc == 0 ? 0 : -1;
}

static int dev_mac(const char *name, uint8_t mac[6])
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	err = ioctl(fd, SIOCGIFHWADDR, &ifr);
	close(fd);
	if (err)
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

static int svc_setup(struct fz_lab *lab)
{
	for (int i = 0; i < NSVC; i++) {
		const struct svc_cfg *c = &SVC_CFG[i];
		struct fz_service *s = &services[i];
		struct cb_endpoint vip = { .port = c->port,
					   .family = c->family == 4 ? CB_AF_INET : CB_AF_INET6 };
		struct cb_endpoint e[CB_TRACKS][FZ_MAX_BE];
		int err;

		memset(s, 0, sizeof(*s));
		s->family = c->family;
		s->proto = c->proto;
		s->port = c->port;
		s->affinity = c->affinity;
		s->weight = c->weight;
		s->pending = c->pending;
		if (addr_of(c->family, c->vip, &s->vip))
			return -1;
		vip.addr = s->vip;
		for (int b = 0; b < FZ_MAX_BE && c->be[b].addr; b++, s->nbe++) {
			struct fz_backend *be = &s->be[b];
			struct cb_endpoint *ep = &e[c->be[b].track][s->ntrack[c->be[b].track]++];

			if (addr_of(c->family, c->be[b].addr, &be->addr))
				return -1;
			be->port = c->be[b].port;
			be->track = c->be[b].track;
			ep->addr = be->addr;
			ep->port = be->port;
			ep->family = vip.family;
		}
		cb_svc_key_make(&s->key, &vip, (uint8_t)c->proto);
		err = cb_svc_add(&lab->maps, &s->key, (uint8_t)c->affinity, 0,
				 c->pending ? CB_SVC_F_PENDING : 0, &s->id);
		for (unsigned int t = 0; !err && t < CB_TRACKS; t++)
			err = cb_track_set(&lab->maps, &s->key, t, e[t], (size_t)s->ntrack[t]);
		if (!err)
			err = cb_weight_set(&lab->maps, &s->key, c->weight);
		if (!err && c->ovr) {
			struct cb_endpoint net = { .family = vip.family };

			if (addr_of(c->family, c->ovr, &net.addr))
				return -1;
			s->has_ovr = 1;
			s->ovr = net.addr;
			s->ovr_len = c->ovr_len;
			s->ovr_track = c->ovr_track;
			err = cb_override_add(&lab->maps, &s->key, &net, (unsigned int)c->ovr_len,
					      (unsigned int)c->ovr_track);
		}
		if (err) {
			fprintf(stderr, "dp_fuzz: service %s:%u: %s\n", c->vip, c->port,
				strerror(-err));
			return -1;
		}
	}
	lab->svc = services;
	lab->nsvc = NSVC;
	return 0;
}

int fz_lab_open(struct fz_lab *lab)
{
	static const char *const dev[FZ_SIDES] = { "lo", "cbf-c", "cbf-b" };

	memset(lab, 0, sizeof(*lab));
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "dp_fuzz: unshare(CLONE_NEWNET): %s (run as root)\n",
			strerror(errno));
		return -1;
	}
	if (neigh_build() || net_setup()) {
		fprintf(stderr, "dp_fuzz: cannot build the lab's namespace\n");
		return -1;
	}
	for (int i = 0; i < FZ_SIDES; i++) {
		lab->ifindex[i] = if_nametoindex(dev[i]);
		if (!lab->ifindex[i] || dev_mac(dev[i], lab->mac[i]))
			return -1;
	}
	/*
	 * Half-open flows get as much room as verified ones: most of the
	 * model's flows are half-open, and it flushes long before any LRU map
	 * could evict (an eviction would fool it).
	 */
	lab->skel = canary__open();
	if (lab->skel) {
		bpf_map__set_max_entries(lab->skel->maps.cb_pend, CB_CT_ENTRIES);
		bpf_map__set_max_entries(lab->skel->maps.cb_pend_rev, CB_CT_ENTRIES);
	}
	if (lab->skel && canary__load(lab->skel)) {
		canary__destroy(lab->skel);
		lab->skel = NULL;
	}
	if (!lab->skel) {
		fprintf(stderr, "dp_fuzz: load datapath: %s\n", strerror(errno));
		return -1;
	}
	lab->maps = cb_maps_of_skel(lab->skel);
	if (cb_meta_init(&lab->maps) || svc_setup(lab))
		return -1;
	/* XDP may redirect to the backend side only: replies to clients take the stack. */
	if (cb_tx_port_add(&lab->maps, lab->ifindex[FZ_IF_BACKEND]))
		return -1;
	lab->tx_port[FZ_IF_BACKEND] = 1;
	lab->neigh = neighs;
	lab->nneigh = NNEIGH;
	lab->clients[0] = clients4;
	lab->clients[1] = clients6;
	lab->nclients[0] = lab->nclients[1] = NCLIENT + 4;
	lab->csum_complete = 1;
	return 0;
}

void fz_lab_close(struct fz_lab *lab)
{
	if (lab->skel)
		canary__destroy(lab->skel);
	lab->skel = NULL;
}

int fz_run(struct fz_lab *lab, enum fz_hook h, enum fz_side side, const uint8_t *pkt,
	   size_t len, struct fz_run *r)
{
	struct xdp_md xctx = { .data_end = (uint32_t)len };
	struct __sk_buff sctx = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = (uint32_t)len,
		    .data_out = r->out, .data_size_out = sizeof(r->out), .repeat = 1);
	int fd;

	r->err = 0;
	if (h == FZ_XDP) {
		fd = bpf_program__fd(lab->skel->progs.cb_xdp_ingress);
		if (side != FZ_IF_NONE) {
			xctx.ingress_ifindex = lab->ifindex[side];
			opts.ctx_in = &xctx;
			opts.ctx_size_in = sizeof(xctx);
		}
	} else {
		fd = bpf_program__fd(h == FZ_TC_IN ? lab->skel->progs.cb_tc_ingress
						   : lab->skel->progs.cb_tc_egress);
		if (side != FZ_IF_NONE) {
			sctx.ifindex = lab->ifindex[side];
			opts.ctx_in = &sctx;
			opts.ctx_size_in = sizeof(sctx);
		}
		/* The kernel then checks that the program kept skb->csum right. */
		if (lab->csum_complete)
			opts.flags = BPF_F_TEST_SKB_CHECKSUM_COMPLETE;
	}
	if (bpf_prog_test_run_opts(fd, &opts)) {
		r->err = -errno;
		r->verdict = FZ_V_REFUSED;
		r->out_len = 0;
		return r->err;
	}
	r->out_len = opts.data_size_out;
	if (h == FZ_XDP)
		r->verdict = opts.retval == XDP_PASS ? FZ_V_PASS :
			     opts.retval == XDP_DROP ? FZ_V_DROP :
			     opts.retval == XDP_REDIRECT ? FZ_V_REDIRECT : FZ_V_OTHER;
	else
		r->verdict = opts.retval == TC_ACT_OK ? FZ_V_PASS :
			     opts.retval == TC_ACT_SHOT ? FZ_V_DROP :
			     opts.retval == TC_ACT_REDIRECT ? FZ_V_REDIRECT : FZ_V_OTHER;
	return 0;
}

static int addr_eq(const union cb_addr *a, const union cb_addr *b)
{
	return !memcmp(a->b, b->b, sizeof(a->b));
}

int fz_lab_service(const struct fz_lab *lab, int family, int proto, const union cb_addr *daddr,
		   uint16_t dport)
{
	for (int i = 0; i < lab->nsvc; i++) {
		const struct fz_service *s = &lab->svc[i];

		if (!s->pending && s->family == family && s->proto == proto && s->port == dport &&
		    addr_eq(&s->vip, daddr))
			return i;
	}
	return -1;
}

int fz_lab_backend(const struct fz_lab *lab, int s, const union cb_addr *addr, uint16_t port)
{
	for (int b = 0; b < lab->svc[s].nbe; b++)
		if (lab->svc[s].be[b].port == port && addr_eq(&lab->svc[s].be[b].addr, addr))
			return b;
	return -1;
}

const struct fz_neigh *fz_lab_neigh(const struct fz_lab *lab, int family,
				    const union cb_addr *addr)
{
	for (int i = 0; i < lab->nneigh; i++)
		if (lab->neigh[i].family == family && addr_eq(&lab->neigh[i].addr, addr))
			return &lab->neigh[i];
	return NULL;
}

int fz_lab_override(const struct fz_lab *lab, int s, const union cb_addr *client)
{
	const struct fz_service *sv = &lab->svc[s];
	int bits = sv->ovr_len;

	if (!sv->has_ovr)
		return -1;
	for (int i = 0; i < 16 && bits > 0; i++, bits -= 8) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		if ((client->b[i] & mask) != (sv->ovr.b[i] & mask))
			return -1;
	}
	return sv->ovr_track;
}

int fz_counters_read(struct fz_lab *lab, struct fz_counters *c)
{
	int err;

	if (!c->t) {
		c->t = calloc((size_t)lab->nsvc * CB_TRACKS, sizeof(*c->t));
		if (!c->t)
			return -ENOMEM;
	}
	err = cb_global_read(&lab->maps, c->g);
	for (int i = 0; !err && i < lab->nsvc; i++)
		for (unsigned int t = 0; !err && t < CB_TRACKS; t++)
			err = cb_stats_read(&lab->maps, lab->svc[i].id, t,
					    &c->t[i * CB_TRACKS + (int)t]);
	return err;
}

void fz_counters_free(struct fz_counters *c)
{
	free(c->t);
	c->t = NULL;
}

static int map_clear(int fd, size_t key_size)
{
	uint8_t key[64], next[64];

	if (key_size > sizeof(key))
		return -EINVAL;
	/* Always restart from the first key: deleting the current one ends a walk. */
	while (bpf_map_get_next_key(fd, NULL, next) == 0) {
		memcpy(key, next, key_size);
		if (bpf_map_delete_elem(fd, key))
			return -errno;
	}
	return errno == ENOENT ? 0 : -errno;
}

int fz_lab_flush_flows(struct fz_lab *lab)
{
	int err = map_clear(lab->maps.ct, sizeof(struct cb_ct_key));

	if (!err)
		err = map_clear(lab->maps.rev, sizeof(struct cb_ct_key));
	if (!err)
		err = map_clear(lab->maps.pend, sizeof(struct cb_ct_key));
	if (!err)
		err = map_clear(lab->maps.pend_rev, sizeof(struct cb_ct_key));
	return err ? err : map_clear(lab->maps.frag, sizeof(struct cb_frag_key));
}
