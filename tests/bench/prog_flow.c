// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The packets of `bench_prog prog`: connections opened through the datapath
 * as a client and a backend would, and the packet each call measures.
 */
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <string.h>

#include "canary.skel.h"
#include "prog_cases.h"

static const char REQUEST[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
static const char RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

static int step(int fd, int tc, unsigned int ifindex, const struct pkt_spec *p,
		uint32_t want, struct tr *o)
{
	uint8_t buf[PKT_MAX];
	size_t len = pkt_build(buf, p);
	int err = tr_run(fd, tc, buf, len, ifindex, 1, o);

	if (err)
		return fail("setup packet", "%s", strerror(-err));
	if (o->retval != want)
		return fail("setup packet", "returned %u, not %u", o->retval, want);
	return 0;
}

/* SYN, SYN-ACK, ACK from client:sport; the flow learns its backend. */
int flow_open(struct lab *l, const struct svc *s, const char *client, uint16_t sport,
	      struct flow *f)
{
	int xdp = bpf_program__fd(l->skel->progs.cb_xdp_ingress);
	struct pkt_spec p = { .family = s->family, .src_addr = &f->client, .dst_addr = &s->vip,
			      .sport = sport, .dport = 80, .tcp_flags = TCP_SYN, .seq = 1000 };
	struct tr o;
	struct pkt_view v;

	memset(f, 0, sizeof(*f));
	f->family = s->family;
	f->client = pkt_addr(s->family, client);
	f->sport = sport;
	if (step(xdp, 0, l->if_client, &p, XDP_REDIRECT, &o) ||
	    pkt_check(o.out, o.out_len, &v) == -2)
		return fail("flow", "SYN not forwarded");
	f->be = v.daddr;
	f->bport = v.dport;
	f->be_idx = svc_backend(s, &v.daddr, v.dport);
	if (f->be_idx < 0)
		return fail("flow", "SYN sent to a backend the service does not have");
	p = (struct pkt_spec){ .family = s->family, .src_addr = &f->be, .dst_addr = &f->client,
			       .sport = f->bport, .dport = sport, .tcp_flags = TCP_SYN | TCP_ACK,
			       .seq = 5000 };
	if (step(xdp, 0, l->if_backend, &p, XDP_REDIRECT, &o))
		return -1;
	p = (struct pkt_spec){ .family = s->family, .src_addr = &f->client, .dst_addr = &s->vip,
			       .sport = sport, .dport = 80, .tcp_flags = TCP_ACK, .seq = 1001,
			       .ack = 5001 };   /* acknowledges the SYN-ACK: the flow is verified */
	f->seq = 1001;
	return step(xdp, 0, l->if_client, &p, XDP_REDIRECT, &o);
}

int next_fixed(struct meas *m, uint8_t *pkt, size_t *len)
{
	struct cctx *c = m->ctx;

	memcpy(pkt, c->pkt, c->len);
	*len = c->len;
	return 0;
}

int next_syn(struct meas *m, uint8_t *pkt, size_t *len)
{
	struct cctx *c = m->ctx;
	uint64_t n = c->flows++;
	uint32_t host = (uint32_t)(n >> 14);
	union cb_addr src;
	struct pkt_spec p = { .family = c->s->family, .src_addr = &src, .dst_addr = &c->s->vip,
			      .dport = 80, .sport = (uint16_t)(20000 + (n & 0x3fff)),
			      .tcp_flags = TCP_SYN, .seq = 1000 };

	/* Distinct client addresses x ports: 2^14 ports each, none seen before. */
	if (p.family == 4) {
		src = pkt_addr(4, "198.18.0.0");
		src.b[2] = (uint8_t)(host >> 8);
		src.b[3] = (uint8_t)host;
	} else {
		src = pkt_addr(6, "2001:db8:1::");
		src.b[14] = (uint8_t)(host >> 8);
		src.b[15] = (uint8_t)host;
	}
	*len = pkt_build(pkt, &p);
	return 0;
}

/* A request (untimed, as the client sends it) and then its response's first segment. */
int next_reply(struct meas *m, uint8_t *pkt, size_t *len)
{
	struct cctx *c = m->ctx;
	struct flow *f = &c->fl;
	struct pkt_spec p = { .family = f->family, .src_addr = &f->client, .dst_addr = &c->s->vip,
			      .sport = f->sport, .dport = 80, .tcp_flags = TCP_PSH | TCP_ACK,
			      .seq = f->seq, .text = REQUEST };
	struct tr o;

	if (step(bpf_program__fd(c->l->skel->progs.cb_xdp_ingress), 0, c->l->if_client,
		 &p, XDP_REDIRECT, &o))
		return -1;
	f->seq += sizeof(REQUEST) - 1;
	p = (struct pkt_spec){ .family = f->family, .src_addr = &f->be, .dst_addr = &f->client,
			       .sport = f->bport, .dport = f->sport, .tcp_flags = TCP_PSH | TCP_ACK,
			       .seq = 5001, .text = RESPONSE };
	*len = pkt_build(pkt, &p);
	return 0;
}

