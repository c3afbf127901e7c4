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

static int step(int fd, int tc, unsigned int ifindex, const struct pk *p,
		uint32_t want, struct tr *o)
{
	uint8_t buf[PK_MAX];
	size_t len = pk_build(buf, p);
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
	struct pk p = { .family = s->family, .dst = s->vip, .sport = sport, .dport = 80,
			.flags = TCP_SYN, .seq = 1000 };
	struct tr o;
	struct pk_view v;

	memset(f, 0, sizeof(*f));
	f->family = s->family;
	f->client = p.src = addr_of(s->family, client);
	f->sport = sport;
	if (step(xdp, 0, l->if_client, &p, XDP_REDIRECT, &o) || pk_parse(o.out, o.out_len, &v))
		return fail("flow", "SYN not forwarded");
	f->be = v.dst;
	f->bport = v.dport;
	f->be_idx = svc_backend(s, &v.dst, v.dport);
	if (f->be_idx < 0)
		return fail("flow", "SYN sent to a backend the service does not have");
	p = (struct pk){ .family = s->family, .src = f->be, .dst = f->client, .sport = f->bport,
			 .dport = sport, .flags = TCP_SYN | TCP_ACK, .seq = 5000 };
	if (step(xdp, 0, l->if_backend, &p, XDP_REDIRECT, &o))
		return -1;
	p = (struct pk){ .family = s->family, .src = f->client, .dst = s->vip, .sport = sport,
			 .dport = 80, .flags = TCP_ACK, .seq = 1001 };
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
	struct pk p = { .family = c->s->family, .dst = c->s->vip, .dport = 80,
			.sport = (uint16_t)(20000 + (n & 0x3fff)), .flags = TCP_SYN, .seq = 1000 };

	/* Distinct client addresses x ports: 2^14 ports each, none seen before. */
	if (p.family == 4) {
		p.src = addr_of(4, "198.18.0.0");
		p.src.b[2] = (uint8_t)(host >> 8);
		p.src.b[3] = (uint8_t)host;
	} else {
		p.src = addr_of(6, "2001:db8:1::");
		p.src.b[14] = (uint8_t)(host >> 8);
		p.src.b[15] = (uint8_t)host;
	}
	*len = pk_build(pkt, &p);
	return 0;
}

/* A request (untimed, as the client sends it) and then its response's first segment. */
int next_reply(struct meas *m, uint8_t *pkt, size_t *len)
{
	struct cctx *c = m->ctx;
	struct flow *f = &c->fl;
	struct pk p = { .family = f->family, .src = f->client, .dst = c->s->vip, .sport = f->sport,
			.dport = 80, .flags = TCP_PSH | TCP_ACK, .seq = f->seq, .payload = REQUEST };
	struct tr o;

	if (step(bpf_program__fd(c->l->skel->progs.cb_xdp_ingress), 0, c->l->if_client,
		 &p, XDP_REDIRECT, &o))
		return -1;
	f->seq += sizeof(REQUEST) - 1;
	p = (struct pk){ .family = f->family, .src = f->be, .dst = f->client, .sport = f->bport,
			 .dport = f->sport, .flags = TCP_PSH | TCP_ACK, .seq = 5001,
			 .payload = RESPONSE };
	*len = pk_build(pkt, &p);
	return 0;
}

