// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The benchmark's lab: the real datapath loaded from its skeleton (as the
 * datapath tests load it, maps unpinned, gone with the process), the
 * baseline program, services made through the library, one test run.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "canary.skel.h"
#include "bench_min.skel.h"
#include "prog.h"
#include "skel_maps.h"

const uint8_t NEIGH_MAC[6] = { 0x02, 0xcb, 0, 0, 0, 0x01 };

/* libbpf's own messages only when something goes wrong. */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || level == LIBBPF_INFO)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int lab_open(struct lab *l, int with_min)
{
	struct canary *s;
	int err;

	memset(l, 0, sizeof(*l));
	libbpf_set_print(quiet);
	s = l->skel = canary__open_and_load();
	if (!s)
		return fail("load datapath", "%s", strerror(errno));
	l->maps = cb_maps_of_skel(s);
	err = cb_meta_init(&l->maps);
	if (err) {
		lab_close(l);
		return fail("layout version", "%s", strerror(-err));
	}
	if (with_min) {
		l->min = bench_min__open_and_load();
		if (!l->min) {
			err = errno;
			lab_close(l);
			return fail("load baseline program", "%s", strerror(err));
		}
	}
	return 0;
}

void lab_close(struct lab *l)
{
	bench_min__destroy(l->min);
	canary__destroy(l->skel);
	l->min = NULL;
	l->skel = NULL;
}

/* Every half-open flow out: each new-connection case starts from the same tables. */
int lab_flush_pending(struct lab *l)
{
	const struct bpf_map *maps[2] = { l->skel->maps.cb_pend, l->skel->maps.cb_pend_rev };
	struct cb_ct_key k;

	for (int i = 0; i < 2; i++) {
		int fd = bpf_map__fd(maps[i]);

		while (!bpf_map_get_next_key(fd, NULL, &k))
			if (bpf_map_delete_elem(fd, &k))
				return fail("flush", "delete from %s: %s", bpf_map__name(maps[i]),
					    strerror(errno));
	}
	return 0;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int err;

	if (!f)
		return fail(path, "%s", strerror(errno));
	err = fputs(text, f) < 0;
	if (fclose(f) || err)
		return fail(path, "write failed");
	return 0;
}

int lab_netns(struct lab *l)
{
	/*
	 * cbx-c faces the clients (192.0.2.0/24, 2001:db8:c::/64), cbx-b the
	 * backends: every backend and loop VIP (10.0.0.0/16, 10.96.0.0/16,
	 * fd00::/16) is routed via one gateway with a permanent neighbour, and
	 * so are the clients that receive replies.
	 */
	static const char *const cmds[] = {
		"ip link set lo up",
		"ip link add cbx-c type veth peer name cbx-cp",
		"ip link add cbx-b type veth peer name cbx-bp",
		"ip link set cbx-c up", "ip link set cbx-cp up",
		"ip link set cbx-b up", "ip link set cbx-bp up",
		"ip addr add 192.0.2.1/24 dev cbx-c",
		"ip -6 addr add 2001:db8:c::1/64 dev cbx-c nodad",
		"ip addr add 10.255.0.254/24 dev cbx-b",
		"ip -6 addr add fd00:ff::fe/64 dev cbx-b nodad",
		"ip neigh replace 10.255.0.1 lladdr 02:cb:00:00:00:01 dev cbx-b nud permanent",
		"ip -6 neigh replace fd00:ff::1 lladdr 02:cb:00:00:00:01 dev cbx-b nud permanent",
		"ip neigh replace 192.0.2.77 lladdr 02:cb:00:00:00:01 dev cbx-c nud permanent",
		"ip -6 neigh replace 2001:db8:c::77 lladdr 02:cb:00:00:00:01 dev cbx-c nud permanent",
		"ip route add 10.0.0.0/16 via 10.255.0.1 dev cbx-b",
		"ip route add 10.96.0.0/16 via 10.255.0.1 dev cbx-b",
		"ip -6 route add fd00::/16 via fd00:ff::1 dev cbx-b",
	};
	int err;

	/* Unnamed: no `ip netns` entry to leak, nothing left when the process ends. */
	if (unshare(CLONE_NEWNET))
		return fail("unshare(CLONE_NEWNET)", "%s (run as root)", strerror(errno));
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "%s >/dev/null", cmds[i]);
		if (system(cmd) != 0)
			return fail("namespace setup", "'%s' failed", cmds[i]);
	}
	/* After the devices exist: "all" also switches every existing device on. */
	if (write_file("/proc/sys/net/ipv4/ip_forward", "1\n") ||
	    write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1\n"))
		return -1;
	l->if_client = if_nametoindex("cbx-c");
	l->if_backend = if_nametoindex("cbx-b");
	if (!l->if_client || !l->if_backend)
		return fail("namespace setup", "veths missing: %s", strerror(errno));
	/* As `attach` does for XDP devices: both sides take redirected frames. */
	err = cb_tx_port_add(&l->maps, l->if_client);
	if (!err)
		err = cb_tx_port_add(&l->maps, l->if_backend);
	if (err)
		return fail("cb_tx_port_add", "%s", strerror(-err));
	return 0;
}

int svc_make(struct lab *l, struct svc *s, int family, const char *vip,
	     const char *const be[5], const uint16_t be_port[5], uint32_t weight_bp)
{
	struct cb_endpoint v = { .addr = pkt_addr(family, vip), .port = 80 }, e[5];
	uint8_t af = family == 4 ? CB_AF_INET : CB_AF_INET6;
	int err;

	memset(s, 0, sizeof(*s));
	s->family = family;
	s->vip = v.addr;
	v.family = af;
	for (int i = 0; i < 5; i++) {
		s->be[i] = pkt_addr(family, be[i]);
		s->be_port[i] = be_port[i];
		e[i] = (struct cb_endpoint){ .addr = s->be[i], .port = be_port[i], .family = af };
	}
	cb_svc_key_make(&s->key, &v, IPPROTO_TCP);
	err = cb_svc_add(&l->maps, &s->key, CB_AFFINITY_CONNECTION, 0, 0, &s->id);
	if (err)
		return fail("cb_svc_add", "%s: %s", vip, strerror(-err));
	err = cb_track_set(&l->maps, &s->key, CB_TRACK_STABLE, e, 4);
	if (!err)
		err = cb_track_set(&l->maps, &s->key, CB_TRACK_CANARY, e + 4, 1);
	if (err)
		return fail("cb_track_set", "%s: %s", vip, strerror(-err));
	err = cb_weight_set(&l->maps, &s->key, weight_bp);
	if (err)
		return fail("cb_weight_set", "%s: %s", vip, strerror(-err));
	return 0;
}

int svc_backend(const struct svc *s, const union cb_addr *addr, uint16_t port)
{
	for (int i = 0; i < 5; i++)
		if (pkt_addr_eq(&s->be[i], addr) && s->be_port[i] == port)
			return i;
	return -1;
}

int tr_run(int prog_fd, int tc, const uint8_t *pkt, size_t len, unsigned int ifindex,
	   unsigned int repeat, struct tr *o)
{
	struct xdp_md xctx = { .data_end = (uint32_t)len, .ingress_ifindex = ifindex };
	struct __sk_buff sctx = { .ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = (uint32_t)len,
		    .data_out = o->out, .data_size_out = sizeof(o->out), .repeat = repeat);

	/* The device context is what lets bpf_fib_lookup() find a route, as when attached. */
	if (ifindex && tc) {
		opts.ctx_in = &sctx;
		opts.ctx_size_in = sizeof(sctx);
	} else if (ifindex) {
		opts.ctx_in = &xctx;
		opts.ctx_size_in = sizeof(xctx);
	}
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	o->retval = opts.retval;
	o->duration = opts.duration;
	o->out_len = opts.data_size_out;
	return 0;
}

int counters_read(const struct lab *l, uint32_t svc_id, struct counters *c)
{
	int err = cb_global_read(&l->maps, c->g);

	for (unsigned int t = 0; !err && t < CB_TRACKS; t++)
		err = cb_stats_read(&l->maps, svc_id, t, &c->t[t]);
	if (err)
		return fail("read counters", "%s", strerror(-err));
	return 0;
}
