// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Fixtures (valid packets: client -> VIP, backend -> client replies of
 * flows the model knows, packets for no service, random frames), decorated
 * with VLAN tags, IPv4 options, IPv6 extension headers and TCP options
 * (well-formed or soup), then mutated: bit flips, byte sets, truncation,
 * trailers, length fields that lie, ethertype/protocol/version changes,
 * fragments, TTLs, flags, retargeted or swapped addresses. Half of the
 * mutated packets get their checksums recomputed so they reach past a
 * checksum-checking stage, if there were one.
 */
#include <netinet/in.h>
#include <string.h>

#include "dp_fuzz.h"
#include "dp_gen.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void rand_bytes(struct rng *r, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = rng_u8(r);
}

static const char *const STATUS[] = { "200 OK", "302 Found", "404 Not Found", "503 Unavailable",
				      "100 Continue", "204 No Content" };

static void payload(struct rng *r, struct fz_spec *s, int reply)
{
	static const char *const req = "GET /index.html HTTP/1.1\r\nHost: vip\r\n\r\n";
	size_t n = rng_pct(r, 50) ? rng_below(r, 64) : rng_below(r, 360);
	int t = (int)rng_below(r, 10);

	if (t < 3) {
		char line[64];
		int k = snprintf(line, sizeof(line), "%s", reply ? "HTTP/1.1 " : req);

		if (reply)
			k += snprintf(line + k, sizeof(line) - (size_t)k, "%s\r\n",
				      STATUS[rng_below(r, 6)]);
		if (n < (size_t)k)
			n = (size_t)k;
		memcpy(s->payload, line, (size_t)k);
		for (size_t i = (size_t)k; i < n; i++)
			s->payload[i] = (uint8_t)('a' + i % 26);
	} else if (t < 6) {
		for (size_t i = 0; i < n; i++)
			s->payload[i] = (uint8_t)('A' + i % 26);
	} else {
		rand_bytes(r, s->payload, n);
	}
	s->plen = n;
}

static uint8_t tcp_flags(struct rng *r, int reply)
{
	uint32_t x = rng_below(r, 100);

	if (x < 30)
		return reply ? 0x12 : 0x02;           /* SYN(-ACK) */
	if (x < 55)
		return 0x10;                          /* ACK */
	if (x < 77)
		return 0x18;                          /* PSH ACK: data */
	if (x < 85)
		return 0x11;                          /* FIN ACK */
	if (x < 90)
		return 0x04;                          /* RST */
	if (x < 93)
		return 0x14;                          /* RST ACK */
	return rng_u8(r);
}

/* IPv4 options: well-formed TLVs, or soup (anything, length consistent with IHL). */
static void ip_options(struct rng *r, struct fz_spec *s)
{
	size_t n = 4 * (1 + rng_below(r, 10)), i = 0;

	if (rng_pct(r, 25)) {
		rand_bytes(r, s->ipopt, n);
	} else {
		while (i < n) {
			size_t room = n - i, l;
			uint32_t k = rng_below(r, 8);

			if (k < 2 || room < 4) {
				s->ipopt[i++] = k == 0 && room < 4 ? 0 : 1;   /* EOL / NOP */
				continue;
			}
			if (k == 6 && room >= 7) {
				/* Loose or strict source route: hops left, or all done */
				size_t hops = 1 + rng_below(r, (uint32_t)(room - 3) / 4);

				l = 3 + 4 * hops;
				s->ipopt[i] = rng_pct(r, 50) ? 131 : 137;
				s->ipopt[i + 1] = (uint8_t)l;
				s->ipopt[i + 2] = (uint8_t)(rng_pct(r, 50) ? 4 : 4 + 4 *
							    rng_below(r, (uint32_t)hops + 1));
				rand_bytes(r, s->ipopt + i + 3, l - 3);
				i += l;
				continue;
			}
			l = 4 + 4 * rng_below(r, (uint32_t)(room / 4));
			if (l > room)
				l = room;
			s->ipopt[i] = k == 2 ? 7 : k == 3 ? 68 : k == 4 ? 148 : k == 5 ? 130 :
				      (uint8_t)(rng_u8(r) & 0x7f);   /* RR, TS, RA, SEC, any */
			s->ipopt[i + 1] = (uint8_t)l;
			s->ipopt[i + 2] = 4;                         /* pointer: nothing recorded */
			rand_bytes(r, s->ipopt + i + 3, l - 3);
			i += l;
		}
	}
	s->ipopt_len = n;
}

/* IPv6 extension headers: hop-by-hop, destination, routing (segments left 0), any order. */
static void ext_headers(struct rng *r, struct fz_spec *s)
{
	int n = 1 + (int)rng_below(r, rng_pct(r, 80) ? 3 : 6);

	s->next_ext = 0;
	for (int i = 0; i < n; i++) {
		uint8_t *e = s->ext + s->next_ext, type;
		uint32_t k = rng_below(r, 10);
		/* now and then a big one: L4 lands around the datapath's 511-byte reach */
		size_t units = rng_pct(r, 6) ? 20 + rng_below(r, 45) :
			       rng_pct(r, 70) ? 0 : rng_below(r, 4);

		if (s->next_ext + (units + 1) * 8 > sizeof(s->ext))
			break;
		if (i == 0 && k < 4)
			type = 0;
		else if (k < 6)
			type = 60;
		else if (k < 9 || rng_pct(r, 50))
			type = 43;
		else
			type = 44;
		memset(e, 0, (units + 1) * 8);
		e[1] = (uint8_t)units;
		if (type == 43) {
			e[2] = rng_u8(r) & 3;               /* routing type */
			e[3] = rng_pct(r, 85) ? 0 : (uint8_t)(1 + rng_below(r, 3));
		} else if (type == 44) {
			units = 0;
			e[1] = 0;
			if (rng_pct(r, 50))
				put16(e + 2, (uint16_t)(rng_pct(r, 50) ? 1 :
							(rng_below(r, 100) << 3)));
			rand_bytes(r, e + 4, 4);
		} else if (rng_pct(r, 20)) {
			rand_bytes(r, e + 2, units * 8 + 6);    /* option soup */
		} else {
			e[2] = 1;                               /* PadN filling the header */
			e[3] = (uint8_t)(units * 8 + 4);
		}
		s->ext_type[s->n_ext++] = type;
		s->next_ext += (units + 1) * 8;
	}
}

static void tcp_options(struct rng *r, struct fz_spec *s)
{
	size_t n = 4 * (1 + rng_below(r, 10)), i = 0;

	if (rng_pct(r, 30)) {
		rand_bytes(r, s->tcpopt, n);
	} else {
		while (i < n) {
			size_t room = n - i;
			uint32_t k = rng_below(r, 7);

			if (k == 0 && room >= 4) {
				s->tcpopt[i] = 2, s->tcpopt[i + 1] = 4;     /* MSS */
				put16(s->tcpopt + i + 2, 1460);
				i += 4;
			} else if (k == 1 && room >= 3) {
				s->tcpopt[i] = 3, s->tcpopt[i + 1] = 3, s->tcpopt[i + 2] = 7;
				i += 3;
			} else if (k == 2 && room >= 2) {
				s->tcpopt[i] = 4, s->tcpopt[i + 1] = 2;     /* SACK permitted */
				i += 2;
			} else if (k == 3 && room >= 10) {
				s->tcpopt[i] = 8, s->tcpopt[i + 1] = 10;    /* timestamps */
				rand_bytes(r, s->tcpopt + i + 2, 8);
				i += 10;
			} else if (k == 4 && room >= 2) {
				size_t l = 2 + rng_below(r, (uint32_t)room - 1);

				s->tcpopt[i] = rng_u8(r), s->tcpopt[i + 1] = (uint8_t)l;
				rand_bytes(r, s->tcpopt + i + 2, l - 2);
				i += l;
			} else {
				s->tcpopt[i++] = k == 5 ? 0 : 1;           /* EOL / NOP */
			}
		}
	}
	s->tcpopt_len = n;
}

static void decorate(struct rng *r, struct fz_spec *s)
{
	uint32_t v = rng_below(r, 100);

	s->ntags = v < 75 ? 0 : v < 90 ? 1 : v < 98 ? 2 : 3;
	for (int i = 0; i < s->ntags; i++)
		s->tpid[i] = i == 0 && s->ntags > 1 && rng_pct(r, 50) ? 0x88a8 : 0x8100;
	if (s->family == 4 && rng_pct(r, 20))
		ip_options(r, s);
	if (s->family == 6 && rng_pct(r, 25))
		ext_headers(r, s);
	if (s->proto == IPPROTO_TCP && rng_pct(r, 30))
		tcp_options(r, s);
	if (rng_pct(r, 10)) {
		static const uint8_t ttls[] = { 0, 1, 2, 255 };

		s->ttl = rng_pct(r, 70) ? ttls[rng_below(r, 4)] : rng_u8(r);
	}
	if (s->proto == IPPROTO_UDP && rng_pct(r, 15))
		s->udp_zero = 1;
}

static void spec_init(struct rng *r, struct fz_spec *s, int family, int proto)
{
	memset(s, 0, sizeof(*s));
	s->family = family;
	s->proto = proto;
	s->ttl = 64;
	s->seq = (uint32_t)rng_next(r);
	s->ack = (uint32_t)rng_next(r);
	s->dmac[0] = 0x02, s->dmac[5] = 0x01;
	s->smac[0] = 0x02, s->smac[5] = 0x02;
}

static union cb_addr client(struct rng *r, const struct fz_lab *lab, int family)
{
	union cb_addr a;
	int f = family == 4 ? 0 : 1;

	if (rng_pct(r, 85))
		return lab->clients[f][rng_below(r, (uint32_t)lab->nclients[f])];
	memset(&a, 0, sizeof(a));
	if (family == 4) {
		a.b[0] = 10, a.b[1] = (uint8_t)(9 + rng_below(r, 2));
		rand_bytes(r, a.b + 2, 2);
	} else {
		a.b[0] = 0xfd, a.b[3] = 9;
		rand_bytes(r, a.b + 12, 4);
	}
	return a;
}

static uint16_t client_port(struct rng *r)
{
	if (rng_pct(r, 80))
		return (uint16_t)(40000 + rng_below(r, 48));   /* flows come back */
	return (uint16_t)(1 + rng_below(r, 65535));
}

static void gen_fwd(struct rng *r, const struct fz_lab *lab, struct fz_spec *s)
{
	const struct fz_service *sv = &lab->svc[rng_below(r, (uint32_t)lab->nsvc)];

	spec_init(r, s, sv->family, sv->proto);
	s->src = client(r, lab, sv->family);
	s->dst = sv->vip;
	s->sport = client_port(r);
	s->dport = sv->port;
	s->flags = tcp_flags(r, 0);
	if (s->flags != 0x02 || rng_pct(r, 10))
		payload(r, s, 0);
	if (sv->proto == IPPROTO_UDP)
		payload(r, s, 0);
	decorate(r, s);
}

static void gen_reply(struct rng *r, const struct fz_lab *lab, const struct fz_flow *f,
		      struct fz_spec *s)
{
	const struct fz_backend *be = &lab->svc[f->svc].be[f->be];

	spec_init(r, s, f->t.family, f->t.proto);
	s->src = be->addr;
	s->sport = be->port;
	s->dst = f->t.saddr;
	s->dport = f->t.sport;
	s->flags = tcp_flags(r, 1);
	if (s->flags != 0x12 || s->proto == IPPROTO_UDP)
		payload(r, s, 1);
	decorate(r, s);
}

/*
 * The UDP checksum edge: a packet of a known UDP flow whose checksum, once
 * rewritten, computes to 0, which UDP cannot send (0 means none): it must
 * leave as 0xffff. Two payload bytes make it so. Returns 1 for a reply, 0
 * for a client packet, -1 when the model knows no UDP flow.
 */
static int gen_csum_edge(struct rng *r, const struct fz_lab *lab, const struct fz_model *m,
			 struct fz_spec *s, const struct fz_flow **flow)
{
	static struct fz_spec post;
	static uint8_t buf[FZ_PKT_MAX];
	size_t n = fz_model_flows(m);
	const struct fz_flow *f = NULL;
	const struct fz_service *sv;
	int reply = rng_pct(r, 50);

	for (int i = 0; i < 8 && n && !f; i++) {
		f = fz_model_flow(m, rng_below(r, (uint32_t)n));
		if (f->t.proto != IPPROTO_UDP)
			f = NULL;
	}
	if (!f)
		return -1;
	sv = &lab->svc[f->svc];
	if (reply) {
		gen_reply(r, lab, f, s);
	} else {
		spec_init(r, s, f->t.family, IPPROTO_UDP);
		s->src = f->t.saddr;
		s->sport = f->t.sport;
		s->dst = f->t.daddr;
		s->dport = f->t.dport;
		payload(r, s, 0);
		decorate(r, s);
	}
	s->udp_zero = 0;
	if (s->plen < 2)
		s->plen = 2;
	s->payload[0] = s->payload[1] = 0;
	post = *s;
	if (reply) {
		post.src = sv->vip;
		post.sport = sv->port;
	} else {
		post.dst = sv->be[f->be].addr;
		post.dport = sv->be[f->be].port;
	}
	put16(s->payload, (uint16_t)~fz_udp_presum(buf, fz_build(&post, buf)));
	*flow = reply ? f : NULL;
	return reply;
}

/* A random flow of the model that pred accepts, or NULL. */
static const struct fz_flow *pick_flow(struct rng *r, const struct fz_model *m,
				       int (*pred)(const struct fz_flow *))
{
	size_t n = fz_model_flows(m);

	for (int i = 0; i < 8 && n; i++) {
		const struct fz_flow *f = fz_model_flow(m, rng_below(r, (uint32_t)n));

		if (!pred || pred(f))
			return f;
	}
	return NULL;
}

static int awaits_ack(const struct fz_flow *f)
{
	return f->t.proto == IPPROTO_TCP && f->synack && !f->verified;
}

/*
 * The client's ACK of a SYN-ACK the model saw pass: the one packet that
 * verifies a pending flow (a spoofer never saw the number it acknowledges).
 */
static int gen_handshake(struct rng *r, const struct fz_model *m, struct fz_spec *s)
{
	const struct fz_flow *f = pick_flow(r, m, awaits_ack);

	if (!f)
		return -1;
	spec_init(r, s, f->t.family, IPPROTO_TCP);
	s->src = f->t.saddr;
	s->dst = f->t.daddr;
	s->sport = f->t.sport;
	s->dport = f->t.dport;
	s->flags = rng_pct(r, 70) ? 0x10 : 0x18;
	s->seq = f->isn + 1;
	s->ack = rng_pct(r, 90) ? f->server_isn + 1 : f->server_isn + 1 + rng_below(r, 3);
	if (s->flags == 0x18)
		payload(r, s, 0);
	if (rng_pct(r, 30))
		decorate(r, s);
	return 0;
}

/*
 * An ICMP error about a flow of the model: sent to the VIP about our reply
 * (a hop toward the client: "too big"), or toward the client about the
 * request as the backend got it, from the backend or a router beside it.
 * The quote is whole or its first 8 bytes past the IP header. Returns 1
 * when it comes from the backend's side, 0 from the client's, -1 for none.
 */
static int gen_icmp_error(struct rng *r, const struct fz_lab *lab, const struct fz_model *m,
			  struct fz_spec *s)
{
	static const uint8_t t4[][2] = { { 3, 4 }, { 3, 3 }, { 3, 1 }, { 11, 0 } };
	static const uint8_t t6[][2] = { { 2, 0 }, { 1, 4 }, { 1, 3 }, { 3, 0 } };
	const struct fz_flow *f = pick_flow(r, m, NULL);
	const struct fz_service *sv;
	const struct fz_backend *be;
	static uint8_t qb[FZ_PKT_MAX];
	struct fz_spec q;
	size_t ql, hl, keep;
	int dir, v4, k;

	if (!f)
		return -1;
	sv = &lab->svc[f->svc];
	be = &sv->be[f->be];
	v4 = f->t.family == 4;
	dir = (int)rng_below(r, 3);
	spec_init(r, &q, f->t.family, f->t.proto);
	if (dir == 0) {
		q.src = sv->vip, q.sport = sv->port, q.dst = f->t.saddr, q.dport = f->t.sport;
	} else {
		q.src = f->t.saddr, q.sport = f->t.sport, q.dst = be->addr, q.dport = be->port;
	}
	q.flags = 0x18;
	payload(r, &q, dir != 0);
	if (q.plen > 64)
		q.plen = 64;
	ql = fz_build(&q, qb) - 14;
	hl = v4 ? 20 : 40;
	keep = rng_pct(r, 50) ? ql : rng_pct(r, 70) ? hl + 8 : 1 + rng_below(r, (uint32_t)ql);
	spec_init(r, s, f->t.family, v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	s->src = dir == 1 ? be->addr : client(r, lab, f->t.family);
	s->dst = dir == 0 ? sv->vip : f->t.saddr;
	k = (int)rng_below(r, 4);
	s->icmp_type = v4 ? t4[k][0] : t6[k][0];
	s->icmp_code = v4 ? t4[k][1] : t6[k][1];
	s->icmp_info = k == 0 ? 1280 : 0;
	memcpy(s->payload, qb + 14, keep);
	s->plen = keep;
	if (rng_pct(r, 20))
		decorate(r, s);
	return dir != 0;
}

/*
 * Fragments: the first of a datagram of a client or a backend, or the one
 * after the first made last (same addresses and IP id), which must follow
 * it: to its backend, or back from the VIP.
 */
static struct {
	int valid, reply;
	const struct fz_flow *flow;
	struct fz_spec first;
	uint16_t next_off;
} frag_last;

static int gen_frag(struct rng *r, const struct fz_lab *lab, const struct fz_model *m,
		    struct fz_spec *s, const struct fz_flow **flow)
{
	size_t l4;

	if (frag_last.valid && rng_pct(r, 60)) {
		*s = frag_last.first;
		s->frag = 2;
		s->frag_off = frag_last.next_off;
		s->plen = 8 + rng_below(r, 200);
		rand_bytes(r, s->payload, s->plen);
		frag_last.valid = rng_pct(r, 20);      /* now and then a duplicate */
		*flow = frag_last.flow;
		return frag_last.reply;
	}
	*flow = pick_flow(r, m, NULL);
	frag_last.reply = *flow && rng_pct(r, 40);
	if (frag_last.reply)
		gen_reply(r, lab, *flow, s);
	else
		gen_fwd(r, lab, s);
	if (!frag_last.reply)
		*flow = NULL;
	s->frag = 1;
	s->frag_id = (uint32_t)rng_next(r);
	if (s->family == 4)
		s->frag_id &= 0xffff;
	if (s->plen < 16)
		s->plen = 16;
	l4 = (s->proto == IPPROTO_TCP ? 20 + s->tcpopt_len : 8) + s->plen;
	frag_last.first = *s;
	frag_last.flow = *flow;
	frag_last.next_off = (uint16_t)((l4 + 7) & ~7u);
	frag_last.valid = 1;
	return frag_last.reply;
}

/* Traffic for no service: wrong port or protocol, pending service, strangers, ICMP. */
static void gen_other(struct rng *r, const struct fz_lab *lab, struct fz_spec *s)
{
	static const uint16_t ports[] = { 81, 8080, 0, 5353, 22, 53, 80, 443 };
	const struct fz_service *sv = &lab->svc[rng_below(r, (uint32_t)lab->nsvc)];
	uint32_t k = rng_below(r, 8);
	int proto = sv->proto;

	if (k == 0)
		proto = proto == IPPROTO_TCP ? IPPROTO_UDP : IPPROTO_TCP;
	else if (k == 1)
		proto = sv->family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	spec_init(r, s, sv->family, proto);
	s->src = client(r, lab, sv->family);
	s->dst = sv->vip;
	s->sport = client_port(r);
	s->dport = k == 2 ? ports[rng_below(r, 8)] : sv->port;
	if (k == 3 && sv->nbe) {            /* straight to a backend */
		s->dst = sv->be[rng_below(r, (uint32_t)sv->nbe)].addr;
	} else if (k == 4 && sv->nbe) {     /* a backend answering a flow nobody opened */
		const struct fz_backend *be = &sv->be[rng_below(r, (uint32_t)sv->nbe)];

		s->src = be->addr;
		s->sport = be->port;
		s->dst = client(r, lab, sv->family);
		s->dport = (uint16_t)(1 + rng_below(r, 30000));
	} else if (k == 5) {                /* looks NATed back already: VIP -> client */
		s->src = sv->vip;
		s->sport = sv->port;
		s->dst = client(r, lab, sv->family);
	} else if (k == 6) {
		rand_bytes(r, s->dst.b, sv->family == 4 ? 4 : 16);
		s->dport = (uint16_t)rng_next(r);
	}
	s->flags = tcp_flags(r, 0);
	payload(r, s, 0);
	decorate(r, s);
}

/* A frame that is mostly noise behind a plausible Ethernet header. */
static size_t gen_random(struct rng *r, uint8_t *buf)
{
	static const uint16_t et[] = { 0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806, 0x88cc, 0x9100 };
	size_t len = 14 + rng_below(r, 300);

	rand_bytes(r, buf, len);
	if (rng_pct(r, 80))
		put16(buf + 12, et[rng_below(r, 7)]);
	if (rng_pct(r, 50) && len >= 34)
		buf[14] = rng_pct(r, 50) ? 0x45 : 0x60;
	return len;
}

/* ---- mutators ---- */

static size_t header_end(const struct fz_loc *l, size_t len)
{
	size_t e = l->have_l4 ? l->l4 + 24 : l->have_l3 ? l->l3 + 44 : 64;

	return e < len ? e : len;
}

static size_t pick_pos(struct rng *r, const struct fz_loc *l, size_t len)
{
	if (rng_pct(r, 75))
		return rng_below(r, (uint32_t)header_end(l, len));
	return rng_below(r, (uint32_t)len);
}

static void m_lie(struct rng *r, uint8_t *p, size_t len, const struct fz_loc *l)
{
	static const int16_t delta[] = { -8, -4, -2, -1, 1, 2, 4, 8, 20, 40 };
	int16_t d = delta[rng_below(r, 10)];
	uint32_t k = rng_below(r, 3);

	if (!l->have_l3)
		return;
	if (l->family == 4 && l->l3 + 20 <= len) {
		if (k == 0) {
			uint16_t v = get16(p + l->l3 + 2);

			put16(p + l->l3 + 2, rng_pct(r, 60) ? (uint16_t)(v + d) :
					     (uint16_t)rng_next(r));
		} else if (k == 1) {
			p[l->l3] = (uint8_t)((p[l->l3] & 0xf0) | rng_below(r, 16));
		}
	} else if (l->family == 6 && l->l3 + 40 <= len && k < 2) {
		uint16_t v = get16(p + l->l3 + 4);

		put16(p + l->l3 + 4, rng_pct(r, 60) ? (uint16_t)(v + d) : rng_pct(r, 30) ? 0 :
		      (uint16_t)rng_next(r));
	}
	if (k == 2 && l->have_l4 && l->proto == IPPROTO_TCP && l->l4 + 13 <= len)
		p[l->l4 + 12] = (uint8_t)(rng_below(r, 16) << 4 | (p[l->l4 + 12] & 0xf));
	else if (k == 2 && l->have_l4 && l->proto == IPPROTO_UDP && l->l4 + 6 <= len)
		put16(p + l->l4 + 4, rng_pct(r, 60) ? (uint16_t)(get16(p + l->l4 + 4) + d) :
		      (uint16_t)rng_below(r, 16));
}

static size_t m_ethertype(struct rng *r, uint8_t *p, size_t len, const struct fz_loc *l)
{
	static const uint16_t et[] = { 0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806, 0x9100, 0x0000 };
	uint32_t k = rng_below(r, 3);

	if (k == 0) {
		put16(p + l->et_off, rng_pct(r, 80) ? et[rng_below(r, 7)] : (uint16_t)rng_next(r));
	} else if (k == 1 && len + 4 <= FZ_PKT_MAX) {     /* insert a tag */
		memmove(p + 16, p + 12, len - 12);
		put16(p + 12, rng_pct(r, 70) ? 0x8100 : 0x88a8);
		put16(p + 14, (uint16_t)rng_below(r, 4096));
		len += 4;
	} else if (l->et_off > 12 && len > 18) {          /* remove the outer tag */
		memmove(p + 12, p + 16, len - 16);
		len -= 4;
	}
	return len;
}

static void m_proto(struct rng *r, uint8_t *p, size_t len, const struct fz_loc *l)
{
	static const uint8_t pr[] = { 6, 17, 1, 58, 0, 43, 44, 60, 59, 51, 50, 132 };
	uint8_t v = rng_pct(r, 85) ? pr[rng_below(r, 12)] : rng_u8(r);

	if (!l->have_l3)
		return;
	if (l->family == 4 && l->l3 + 10 <= len)
		p[l->l3 + 9] = v;
	else if (l->family == 6 && l->nh_off && l->nh_off < len)
		p[l->nh_off] = v;
}

/* New addresses or ports from the lab's vocabulary, so the result means something. */
static void m_retarget(struct rng *r, uint8_t *p, size_t len, const struct fz_loc *l,
		       const struct fz_lab *lab)
{
	const struct fz_service *sv = &lab->svc[rng_below(r, (uint32_t)lab->nsvc)];
	size_t alen = l->family == 4 ? 4 : 16, so = l->l3 + (l->family == 4 ? 12 : 8);
	int dst = rng_pct(r, 50);
	union cb_addr a = sv->vip;
	uint16_t port = sv->port;

	if (!l->have_l4 || l->family != sv->family || l->l4 + 4 > len || so + 2 * alen > len)
		return;
	if (rng_pct(r, 40) && sv->nbe) {
		a = sv->be[rng_below(r, (uint32_t)sv->nbe)].addr;
		port = sv->be[rng_below(r, (uint32_t)sv->nbe)].port;
	} else if (rng_pct(r, 30)) {
		a = client(r, lab, sv->family);
		port = client_port(r);
	}
	if (rng_pct(r, 60))
		memcpy(p + so + (dst ? alen : 0), a.b, alen);
	if (rng_pct(r, 60))
		put16(p + l->l4 + (dst ? 2 : 0), port);
}

static void m_swap(uint8_t *p, size_t len, const struct fz_loc *l)
{
	size_t alen = l->family == 4 ? 4 : 16, so = l->l3 + (l->family == 4 ? 12 : 8);
	uint8_t t[16];

	if (!l->have_l4 || l->l4 + 4 > len || so + 2 * alen > len)
		return;
	memcpy(t, p + so, alen);
	memmove(p + so, p + so + alen, alen);
	memcpy(p + so + alen, t, alen);
	memcpy(t, p + l->l4, 2);
	memmove(p + l->l4, p + l->l4 + 2, 2);
	memcpy(p + l->l4 + 2, t, 2);
}

static size_t mutate(struct rng *r, const struct fz_lab *lab, uint8_t *p, size_t len, char *d,
		     size_t dlen)
{
	static const char *const names[] = { "flip", "set", "trunc", "trail", "lie", "ether",
					     "proto", "version", "frag", "ttl", "flags",
					     "retarget", "swap" };
	int n = 1 + (int)rng_below(r, 4);
	size_t dl = strlen(d);

	for (int i = 0; i < n; i++) {
		struct fz_loc l;
		uint32_t k = rng_below(r, 13);
		size_t pos;

		fz_locate(p, len, &l);
		pos = pick_pos(r, &l, len);
		switch (k) {
		case 0:
			for (uint32_t j = 1 + rng_below(r, 8); j; j--) {
				pos = pick_pos(r, &l, len);
				p[pos] ^= (uint8_t)(1u << rng_below(r, 8));
			}
			break;
		case 1: {
			static const uint8_t v[] = { 0, 1, 0x7f, 0x80, 0xff, 0x40, 0x60, 0x05 };

			p[pos] = rng_pct(r, 70) ? v[rng_below(r, 8)] : rng_u8(r);
			break;
		}
		case 2:
			if (len > 15 && rng_pct(r, 60))
				len = 14 + rng_below(r, (uint32_t)(header_end(&l, len) - 13));
			else if (len > 15)
				len = 14 + rng_below(r, (uint32_t)(len - 14));
			if (len < 14)
				len = 14;
			break;
		case 3:
			for (uint32_t j = 1 + rng_below(r, 64); j && len < FZ_PKT_MAX; j--)
				p[len++] = rng_u8(r);
			break;
		case 4:
			m_lie(r, p, len, &l);
			break;
		case 5:
			len = m_ethertype(r, p, len, &l);
			break;
		case 6:
			m_proto(r, p, len, &l);
			break;
		case 7:
			if (l.have_l3)
				p[l.l3] = (uint8_t)((p[l.l3] & 0x0f) | rng_below(r, 16) << 4);
			break;
		case 8:
			if (l.have_l3 && l.family == 4 && l.l3 + 8 <= len) {
				/* MF, DF, the reserved bit, or any offset */
				uint16_t fo = rng_pct(r, 40) ? 0x2000 : rng_pct(r, 30) ? 0x4000 :
					      rng_pct(r, 30) ? 0x8000 : (uint16_t)rng_next(r);

				put16(p + l.l3 + 6, fo);
			}
			break;
		case 9:
			if (l.have_l3 && l.ttl_off < len)
				p[l.ttl_off] = rng_pct(r, 60) ? (uint8_t)rng_below(r, 3) :
						rng_u8(r);
			break;
		case 10:
			if (l.have_l4 && l.proto == IPPROTO_TCP && l.l4 + 14 <= len)
				p[l.l4 + 13] = rng_u8(r);
			break;
		case 11:
			m_retarget(r, p, len, &l, lab);
			break;
		default:
			m_swap(p, len, &l);
			break;
		}
		dl += (size_t)snprintf(d + dl, dl < dlen ? dlen - dl : 0, " %s", names[k]);
		if (dl >= dlen)
			dl = dlen - 1;
	}
	return len;
}

void fz_gen(struct rng *r, const struct fz_lab *lab, const struct fz_model *m, struct fz_pkt *p)
{
	static const char *const kinds[] = { "fwd", "reply", "other", "random" };
	struct fz_spec s;
	uint32_t k = rng_below(r, 100);
	size_t nflows = fz_model_flows(m);
	int edge = -1, backend_side = -1;
	const char *what = "";

	memset(&s, 0, sizeof(s));   /* random frames describe themselves from it too */
	p->flow = NULL;
	if (k < 3 && (edge = gen_csum_edge(r, lab, m, &s, &p->flow)) >= 0) {
		p->kind = edge ? FZ_K_REPLY : FZ_K_FWD;
		what = " csum-edge";
	} else if (k < 8 && gen_handshake(r, m, &s) == 0) {
		p->kind = FZ_K_FWD;
		what = " handshake";
	} else if (k < 13 && (backend_side = gen_icmp_error(r, lab, m, &s)) >= 0) {
		p->kind = FZ_K_OTHER;
		what = " icmp-error";
	} else if (k < 17) {
		p->kind = gen_frag(r, lab, m, &s, &p->flow) ? FZ_K_REPLY : FZ_K_FWD;
		what = s.frag == 1 ? " frag-first" : " frag-next";
	} else if (k < 50 || (k < 75 && !nflows)) {
		p->kind = FZ_K_FWD;
		gen_fwd(r, lab, &s);
	} else if (k < 75) {
		p->kind = FZ_K_REPLY;
		p->flow = fz_model_flow(m, rng_below(r, (uint32_t)nflows));
		gen_reply(r, lab, p->flow, &s);
	} else if (k < 95) {
		p->kind = FZ_K_OTHER;
		gen_other(r, lab, &s);
	} else {
		p->kind = FZ_K_RANDOM;
	}
	p->len = p->kind == FZ_K_RANDOM ? gen_random(r, p->data) : fz_build(&s, p->data);
	snprintf(p->desc, sizeof(p->desc), "%s%s%s%s%s%s%s", kinds[p->kind], what,
		 p->kind == FZ_K_RANDOM ? "" : s.ntags ? " vlan" : "", s.ipopt_len ? " ipopt" : "",
		 s.n_ext ? " ext" : "", s.tcpopt_len ? " tcpopt" : "", s.udp_zero ? " udp0" : "");
	if (rng_pct(r, 65)) {
		size_t dl = strlen(p->desc);

		snprintf(p->desc + dl, sizeof(p->desc) - dl, " |");
		p->len = mutate(r, lab, p->data, p->len, p->desc, sizeof(p->desc));
		if (rng_pct(r, 50)) {
			fz_fix_csums(p->data, p->len);
			dl = strlen(p->desc);
			snprintf(p->desc + dl, sizeof(p->desc) - dl, " +csum");
		}
	}
	for (int h = 0; h < FZ_HOOKS; h++) {
		enum fz_side home = p->kind == FZ_K_REPLY || backend_side == 1 ? FZ_IF_BACKEND :
				    FZ_IF_CLIENT;

		if (h == FZ_TC_OUT)
			home = FZ_IF_CLIENT;
		p->side[h] = rng_pct(r, 85) ? home : rng_pct(r, 50) ? FZ_IF_NONE :
			     (home == FZ_IF_CLIENT ? FZ_IF_BACKEND : FZ_IF_CLIENT);
	}
}

size_t fz_gen_flow_syn(const struct fz_flow *f, uint8_t *buf)
{
	struct fz_spec s;
	struct rng r;

	rng_seed(&r, 1);
	spec_init(&r, &s, f->t.family, f->t.proto);
	s.src = f->t.saddr;
	s.dst = f->t.daddr;
	s.sport = f->t.sport;
	s.dport = f->t.dport;
	s.flags = 0x02;
	return fz_build(&s, buf);
}
