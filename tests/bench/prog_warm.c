// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_prog warm PIN VIP CLIENT SPORT COUNT: COUNT TCP connections from
 * CLIENT:SPORT.. to VIP:80 made established in the pinned state at PIN, by
 * their real handshakes through the pinned programs (the SYN on XDP, the
 * backend's SYN-ACK on tc egress, the client's ACK of it on XDP). The
 * forwarding benchmark's established-flow mixes (tests/bench/fwd.sh) send
 * ACKs of those flows, whose backends never answer: without a handshake the
 * datapath would take them for packets of no flow and pass them.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prog.h"

static int prog_at(const char *pin, const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/progs/%s", pin, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fail("warm", "%s: %s", path, strerror(errno));
	return fd;
}

/* One packet through a pinned program; 0, or -1 with a line said. */
static int send_one(int fd, int tc, const struct pkt_spec *p, struct pkt_view *v)
{
	uint8_t buf[PKT_MAX];
	struct tr o;
	size_t len = pkt_build(buf, p);
	int e = tr_run(fd, tc, buf, len, 0, 1, &o);

	if (e)
		return fail("warm", "test run: %s", strerror(-e));
	if (pkt_check(o.out, o.out_len, v) == -2)
		return fail("warm", "output not parsable");
	return 0;
}

static int handshake(int xdp, int egress, const union cb_addr *vip, const union cb_addr *cl,
		     int family, uint16_t sport)
{
	struct pkt_spec p = { .family = family, .src_addr = cl, .dst_addr = vip, .sport = sport,
			      .dport = 80, .tcp_flags = TCP_SYN, .seq = 999 };
	union cb_addr be;
	struct pkt_view v;
	uint16_t bport;

	if (send_one(xdp, 0, &p, &v))
		return -1;
	if (pkt_addr_eq(&v.daddr, vip))
		return fail("warm", "SYN from port %u not NATed", sport);
	be = v.daddr;
	bport = v.dport;
	p = (struct pkt_spec){ .family = family, .src_addr = &be, .dst_addr = cl, .sport = bport,
			       .dport = sport, .tcp_flags = TCP_SYN | TCP_ACK, .seq = 0 };
	if (send_one(egress, 1, &p, &v))
		return -1;
	/* The ACK the benchmark's frames carry (seq 1000, ack 1): it acknowledges the SYN-ACK. */
	p = (struct pkt_spec){ .family = family, .src_addr = cl, .dst_addr = vip, .sport = sport,
			       .dport = 80, .tcp_flags = TCP_ACK, .seq = 1000, .ack = 1 };
	return send_one(xdp, 0, &p, &v);
}

int bench_warm(int argc, char **argv)
{
	unsigned long first, n;
	union cb_addr vip, cl;
	int family, xdp, egress, r = 0;

	if (argc != 7)
		return fail("warm", "usage: bench_prog warm PIN VIP CLIENT SPORT COUNT");
	family = strchr(argv[3], ':') ? 6 : 4;
	vip = pkt_addr(family, argv[3]);
	cl = pkt_addr(family, argv[4]);
	first = strtoul(argv[5], NULL, 10);
	n = strtoul(argv[6], NULL, 10);
	if (!first || first + n > 65536)
		return fail("warm", "ports %lu..%lu out of range", first, first + n);
	xdp = prog_at(argv[2], "cb_xdp_ingress");
	egress = prog_at(argv[2], "cb_tc_egress");
	if (xdp < 0 || egress < 0)
		return -1;
	for (unsigned long i = 0; i < n && !r; i++)
		r = handshake(xdp, egress, &vip, &cl, family, (uint16_t)(first + i));
	close(xdp);
	close(egress);
	if (!r)
		printf("warm: %lu connections established\n", n);
	return r;
}
