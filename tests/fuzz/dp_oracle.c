// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The oracle. It parses every input on its own, by the RFCs and the
 * product contract (SPEC "Datapath behaviour"), not by reading bpf/:
 *
 *   PASS  anything that is not a whole, unfragmented TCP/UDP datagram whose
 *         final destination is its daddr: cut or lying headers, fragments,
 *         other protocols, a routing header or IPv4 source route still
 *         pending. Must leave byte-identical with PASS.
 *   GRAY  well-formed, but beyond what the datapath documents it follows
 *         (more than two VLAN tags, more than four IPv6 extension headers,
 *         hop-by-hop not first, atomic fragments, L4 header deeper than
 *         400 bytes, malformed IPv4 option TLVs): untouched, or handled as OK.
 *   OK    everything else: its verdict is fixed by the configuration.
 *
 * For a handled packet the output may differ from the input only in the
 * NAT fields (destination address and port forward, source address and
 * port for replies), the IPv4 header and L4 checksums, and when redirected
 * the MACs and TTL / hop limit. A checksum must keep its residual: valid
 * stays valid, and a broken one stays broken by the same amount (a NAT
 * must not launder corruption); a UDP checksum of 0 (none) stays 0, and a
 * computed one is never sent as 0.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dp_fuzz.h"

#define FZ_DEEP 400   /* L4 headers deeper than this may be left alone */

int fz_waive_srr;

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int pass_why(struct fz_view *v, const char *why)
{
	v->cls = FZ_C_PASS;
	v->why = why;
	return -1;
}

static void gray_why(struct fz_view *v, const char *why)
{
	if (v->cls == FZ_C_OK) {
		v->cls = FZ_C_GRAY;
		v->why = why;
	}
}

/* IPv4 options: -1 malformed, 1 a source route with hops left, 0 otherwise. */
static int v4_options(const uint8_t *o, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t l;

		if (o[i] == 0)
			break;
		if (o[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= n)
			return -1;
		l = o[i + 1];
		if (l < 2 || i + l > n)
			return -1;
		if ((o[i] == 131 || o[i] == 137) && (l < 3 || o[i + 2] < 4))
			return -1;
		if ((o[i] == 131 || o[i] == 137) && o[i + 2] <= l)
			return 1;
		i += l;
	}
	return 0;
}

static int parse_v4(const uint8_t *p, size_t len, struct fz_view *v)
{
	const uint8_t *ip = p + v->l3;
	size_t hl, tot;
	int opt;

	if (v->l3 + 20 > len)
		return pass_why(v, "IPv4 header cut");
	if (ip[0] >> 4 != 4)
		return pass_why(v, "IPv4 ethertype, other version");
	hl = (size_t)(ip[0] & 0xf) * 4;
	tot = get16(ip + 2);
	if (hl < 20)
		return pass_why(v, "IHL below 5");
	if (tot < hl)
		return pass_why(v, "total length below header length");
	if (v->l3 + tot > len)
		return pass_why(v, "total length beyond the frame");
	if (get16(ip + 6) & 0x3fff)
		return pass_why(v, "IPv4 fragment");
	if (ip[9] != IPPROTO_TCP && ip[9] != IPPROTO_UDP)
		return pass_why(v, "IPv4, not TCP/UDP");
	opt = v4_options(ip + 20, hl - 20);
	if (opt > 0 && !fz_waive_srr)
		return pass_why(v, "IPv4 source route with hops left");
	if (opt > 0)
		gray_why(v, "IPv4 source route with hops left (waived)");
	if (opt < 0)
		gray_why(v, "malformed IPv4 options");
	v->family = 4;
	v->proto = ip[9];
	v->ttl = ip[8];
	memcpy(v->saddr.b, ip + 12, 4);
	memcpy(v->daddr.b, ip + 16, 4);
	v->l4 = v->l3 + hl;
	v->ip_end = v->l3 + tot;
	return 0;
}

static int parse_v6(const uint8_t *p, size_t len, struct fz_view *v)
{
	const uint8_t *ip = p + v->l3;
	size_t off = v->l3 + 40, plen;
	uint8_t nh;
	int n = 0;

	if (v->l3 + 40 > len)
		return pass_why(v, "IPv6 header cut");
	if (ip[0] >> 4 != 6)
		return pass_why(v, "IPv6 ethertype, other version");
	plen = get16(ip + 4);
	if (plen == 0)
		return pass_why(v, "IPv6 payload length 0 (jumbogram)");
	v->ip_end = v->l3 + 40 + plen;
	if (v->ip_end > len)
		return pass_why(v, "IPv6 payload length beyond the frame");
	nh = ip[6];
	while (nh != IPPROTO_TCP && nh != IPPROTO_UDP) {
		size_t hlen;

		if (nh != 0 && nh != 43 && nh != 60 && nh != 44)
			return pass_why(v, "IPv6, not TCP/UDP");
		if (off + 8 > v->ip_end)
			return pass_why(v, "extension header cut");
		hlen = nh == 44 ? 8 : ((size_t)p[off + 1] + 1) * 8;
		if (off + hlen > v->ip_end)
			return pass_why(v, "extension header beyond the payload");
		if (nh == 43 && p[off + 3] != 0)
			return pass_why(v, "routing header with segments left");
		if (nh == 44 && (get16(p + off + 2) & 0xfff9))
			return pass_why(v, "IPv6 fragment");
		if (nh == 44)
			gray_why(v, "IPv6 atomic fragment");
		if (nh == 0 && n > 0)
			gray_why(v, "hop-by-hop header not first");
		n++;
		nh = p[off];
		off += hlen;
	}
	if (n > 4)
		gray_why(v, "more than four extension headers");
	v->family = 6;
	v->proto = nh;
	v->ttl = ip[7];
	memcpy(v->saddr.b, ip + 8, 16);
	memcpy(v->daddr.b, ip + 24, 16);
	v->l4 = off;
	return 0;
}

void fz_parse(const uint8_t *p, size_t len, struct fz_view *v)
{
	size_t off = 12, l4n;
	uint16_t et;

	memset(v, 0, sizeof(*v));
	v->cls = FZ_C_OK;
	if (len < 14) {
		pass_why(v, "frame shorter than Ethernet");
		return;
	}
	et = get16(p + off);
	while (et == 0x8100 || et == 0x88a8) {
		if (off + 6 > len) {
			pass_why(v, "VLAN tag cut");
			return;
		}
		off += 4;
		v->ntags++;
		et = get16(p + off);
	}
	if (v->ntags > 2)
		gray_why(v, "more than two VLAN tags");
	v->l3 = off + 2;
	if (et == 0x0800) {
		if (parse_v4(p, len, v))
			return;
	} else if (et == 0x86dd) {
		if (parse_v6(p, len, v))
			return;
	} else {
		pass_why(v, "not IP");
		return;
	}
	l4n = v->ip_end - v->l4;
	if (v->proto == IPPROTO_TCP) {
		size_t doff;

		if (l4n < 20)
			return (void)pass_why(v, "TCP header cut");
		doff = (size_t)(p[v->l4 + 12] >> 4) * 4;
		if (doff < 20 || doff > l4n)
			return (void)pass_why(v, "TCP data offset lies");
		v->tcp_flags = p[v->l4 + 13];
		v->csum_off = v->l4 + 16;
		v->l4_len = l4n;
	} else {
		size_t ulen;

		if (l4n < 8)
			return (void)pass_why(v, "UDP header cut");
		ulen = get16(p + v->l4 + 4);
		if (ulen < 8 || ulen > l4n)
			return (void)pass_why(v, "UDP length lies");
		v->csum_off = v->l4 + 6;
		v->l4_len = ulen;
		v->udp_zero = get16(p + v->csum_off) == 0;
	}
	v->sport = get16(p + v->l4);
	v->dport = get16(p + v->l4 + 2);
	if (v->l4 > FZ_DEEP)
		gray_why(v, "L4 header deeper than 400 bytes");
}

/* Ones' complement sum, folded; +0 and -0 are one value: reported as 0xffff. */
static uint16_t fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s == 0 ? 0xffff : (uint16_t)s;
}

static uint64_t sum(const uint8_t *p, size_t n)
{
	uint64_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint64_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint64_t)p[n - 1] << 8;
	return s;
}

uint16_t fz_sum_ip4(const uint8_t *p, const struct fz_view *v)
{
	return fold(sum(p + v->l3, (size_t)(p[v->l3] & 0xf) * 4));
}

uint16_t fz_sum_l4(const uint8_t *p, const struct fz_view *v)
{
	const uint8_t *ip = p + v->l3;
	uint64_t s = v->family == 4 ? sum(ip + 12, 8) : sum(ip + 8, 32);

	s += (uint64_t)v->proto + v->l4_len;
	return fold(s + sum(p + v->l4, v->l4_len));
}

static void addr_str(int family, const union cb_addr *a, uint16_t port, char *buf, size_t n)
{
	if (family == 4)
		snprintf(buf, n, "%u.%u.%u.%u:%u", a->b[0], a->b[1], a->b[2], a->b[3], port);
	else
		snprintf(buf, n, "[%x:%x:%x:%x:%x:%x:%x:%x]:%u", get16(a->b), get16(a->b + 2),
			 get16(a->b + 4), get16(a->b + 6), get16(a->b + 8), get16(a->b + 10),
			 get16(a->b + 12), get16(a->b + 14), port);
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct fz_tuple tuple_of(const struct fz_view *v)
{
	struct fz_tuple t;

	memset(&t, 0, sizeof(t));
	t.family = (uint8_t)v->family;
	t.proto = (uint8_t)v->proto;
	t.saddr = v->saddr;
	t.daddr = v->daddr;
	t.sport = v->sport;
	t.dport = v->dport;
	return t;
}

/* Bytes a handled packet may change. */
static int may_change(const struct fz_view *v, size_t i, int fwd, int redirect)
{
	size_t a = v->l3 + (v->family == 4 ? (fwd ? 16 : 12) : (fwd ? 24 : 8));
	size_t alen = v->family == 4 ? 4 : 16, port = v->l4 + (fwd ? 2 : 0);

	if (redirect && (i < 12 || i == v->l3 + (v->family == 4 ? 8 : 7)))
		return 1;
	if (v->family == 4 && (i == v->l3 + 10 || i == v->l3 + 11))
		return 1;
	return (i >= a && i < a + alen) || i == port || i == port + 1 || i == v->csum_off ||
	       i == v->csum_off + 1;
}

/* Sources no router forwards from: unspecified, loopback, multicast, IPv4 class E, broadcast. */
static int martian_src(const struct fz_view *v, const uint8_t *pkt)
{
	const uint8_t *a = pkt + v->l3 + (v->family == 4 ? 12 : 8);
	static const uint8_t zero[16], one[16] = { [15] = 1 };

	if (v->family == 4)
		return a[0] == 0 || a[0] == 127 || a[0] >= 224;
	return a[0] == 0xff || !memcmp(a, zero, 16) || !memcmp(a, one, 16);
}

/* The rewritten packet: only NAT fields changed, checksums kept, forwarded as the FIB says. */
static int check_rewrite(const struct fz_lab *lab, enum fz_hook h, const uint8_t *in,
			 const struct fz_view *v, const struct fz_run *r, int fwd,
			 const union cb_addr *to, char *why, size_t wlen)
{
	const uint8_t *out = r->out;
	const struct fz_neigh *n = fz_lab_neigh(lab, v->family, to);
	int redirect = r->verdict == FZ_V_REDIRECT, expect;
	uint16_t ci = 0xffff, co;

	for (size_t i = 0; i < r->out_len; i++)
		if (in[i] != out[i] && !may_change(v, i, fwd, redirect))
			return fz_failf(why, wlen, "byte %zu changed (%02x -> %02x) outside the "
				     "NAT fields", i, in[i], out[i]);
	if (v->family == 4 && (ci = fz_sum_ip4(in, v)) != (co = fz_sum_ip4(out, v)))
		return fz_failf(why, wlen, "IPv4 header checksum residual %04x became %04x", ci, co);
	if (v->family == 4 && ci != 0xffff)
		fz_stats.nat_badsum++;
	if (v->udp_zero) {
		if (get16(out + v->csum_off))
			return fz_failf(why, wlen, "UDP checksum 0 (none) became %04x",
				     get16(out + v->csum_off));
	} else {
		if (v->proto == IPPROTO_UDP && !get16(out + v->csum_off))
			return fz_failf(why, wlen, "UDP checksum written as 0 (means none)");
		if ((ci = fz_sum_l4(in, v)) != (co = fz_sum_l4(out, v)))
			return fz_failf(why, wlen, "%s checksum residual %04x became %04x%s",
				     v->proto == IPPROTO_TCP ? "TCP" : "UDP", ci, co,
				     ci == 0xffff ? " (valid checksum broken)" : "");
		if (ci != 0xffff)
			fz_stats.nat_badsum++;
	}
	fz_stats.nat_vlan += v->ntags > 0;
	fz_stats.nat_ipopt += v->family == 4 && v->l4 - v->l3 > 20;
	fz_stats.nat_ext += v->family == 6 && v->l4 - v->l3 > 40;
	fz_stats.nat_udp0 += v->udp_zero;
	fz_stats.nat_ttl1 += v->ttl <= 1;
	/*
	 * Redirected exactly when the FIB knows a neighbour; XDP only to XDP
	 * devices. The FIB may refuse a martian source: then the stack is right too.
	 */
	expect = h != FZ_TC_OUT && v->ntags == 0 && v->ttl > 1 && n &&
		 (h == FZ_TC_IN || lab->tx_port[n->side]);
	if (redirect != expect && (redirect || !martian_src(v, out)))
		return fz_failf(why, wlen, "%s, expected %s (ttl %u, %d tags, %s neighbour)",
			     redirect ? "redirected" : "handed to the stack",
			     expect ? "a redirect" : "the stack", v->ttl, v->ntags, n ? "a" : "no");
	if (redirect) {
		if (out[v->l3 + (v->family == 4 ? 8 : 7)] != (uint8_t)(v->ttl - 1))
			return fz_failf(why, wlen, "redirected with TTL %u, expected %u",
				     out[v->l3 + (v->family == 4 ? 8 : 7)], v->ttl - 1);
		if (memcmp(out, n->mac, 6) || memcmp(out + 6, lab->mac[n->side], 6))
			return fz_failf(why, wlen, "redirected with wrong MACs");
	}
	return 0;
}

static int check_forward(const struct fz_lab *lab, struct fz_model *m, enum fz_hook h,
			 const uint8_t *in, const struct fz_view *v, int s, const struct fz_run *r,
			 struct fz_tally *t, char *why, size_t wlen)
{
	const struct fz_service *sv = &lab->svc[s];
	struct fz_view o = *v;
	struct fz_tuple tp = tuple_of(v);
	struct fz_flow *f;
	int be, track, ot, prev, k, syn = (v->tcp_flags & 0x12) == 0x02;
	double now = mono_s();
	char a[64];

	memcpy(o.daddr.b, r->out + v->l3 + (v->family == 4 ? 16 : 24), v->family == 4 ? 4 : 16);
	o.dport = get16(r->out + v->l4 + 2);
	be = fz_lab_backend(lab, s, &o.daddr, o.dport);
	if (be < 0) {
		addr_str(v->family, &o.daddr, o.dport, a, sizeof(a));
		return fz_failf(why, wlen, "sent to %s, not a backend of the service", a);
	}
	track = sv->be[be].track;
	if (check_rewrite(lab, h, in, v, r, 1, &o.daddr, why, wlen))
		return -1;
	f = fz_model_find(m, &tp);
	if (f && f->be != be)
		return fz_failf(why, wlen, "flow moved from backend %d to %d", f->be, be);
	if (sv->affinity == CB_AFFINITY_CLIENT) {
		prev = fz_model_client_be(m, &tp, s, be);
		if (prev >= 0 && prev != be)
			return fz_failf(why, wlen, "client affinity: client moved from backend "
				     "%d to %d", prev, be);
	}
	ot = fz_lab_override(lab, s, &v->saddr);
	if (ot >= 0 && sv->ntrack[ot] && track != ot)
		return fz_failf(why, wlen, "override to track %d ignored (went to %d)", ot, track);
	if (ot < 0 && sv->weight == 0 && sv->ntrack[0] && track != 0)
		return fz_failf(why, wlen, "weight 0 but sent to canary");
	if (ot < 0 && sv->weight == CB_WEIGHT_MAX && sv->ntrack[1] && track != 1)
		return fz_failf(why, wlen, "weight 100 %% but sent to stable");
	/*
	 * Connections: every flow the model had not seen is one; a flow it knows
	 * may start another only with a SYN after a FIN or RST (port reuse), or
	 * after idling long enough to expire (10 s once closing, 60 s for UDP).
	 */
	k = s * CB_TRACKS + track;
	if (!f) {
		f = fz_model_add(m, lab, &tp, s, be);
		if (!f)
			return fz_failf(why, wlen, "the model is full");
		t->conn_lo[k]++;
		t->conn_hi[k]++;
	} else if ((v->proto == IPPROTO_TCP && syn && f->closing) || now - f->last > 8.0) {
		t->conn_hi[k]++;
	}
	if (v->proto == IPPROTO_TCP && syn)
		f->closing = 0;
	if (v->proto == IPPROTO_TCP && (v->tcp_flags & 0x05))
		f->closing = 1;
	f->last = now;
	if (v->proto == IPPROTO_TCP && (v->tcp_flags & 0x04))
		t->rst_client[k]++;
	t->packets[k]++;
	fz_stats.fwd_nat++;
	return track;
}

static int check_reply(const struct fz_lab *lab, enum fz_hook h, const uint8_t *in,
		       const struct fz_view *v, struct fz_flow *f, const struct fz_run *r,
		       struct fz_tally *t, char *why, size_t wlen)
{
	const struct fz_service *sv = &lab->svc[f->svc];
	int track = sv->be[f->be].track, i = f->svc * CB_TRACKS + track;
	size_t alen = v->family == 4 ? 4 : 16;
	char a[64];

	if (memcmp(r->out + v->l3 + (v->family == 4 ? 12 : 8), sv->vip.b, alen) ||
	    get16(r->out + v->l4) != sv->port) {
		union cb_addr s;

		memset(&s, 0, sizeof(s));
		memcpy(s.b, r->out + v->l3 + (v->family == 4 ? 12 : 8), alen);
		addr_str(v->family, &s, get16(r->out + v->l4), a, sizeof(a));
		return fz_failf(why, wlen, "reply restored to %s, not to its VIP:port", a);
	}
	if (check_rewrite(lab, h, in, v, r, 0, &v->daddr, why, wlen))
		return -1;
	if (v->proto == IPPROTO_TCP && (v->tcp_flags & 0x05))
		f->closing = 1;
	if (v->proto == IPPROTO_TCP && (v->tcp_flags & 0x04))
		t->rst_backend[i]++;
	t->packets[i]++;
	t->rev_nat++;
	fz_stats.rev_nat++;
	return track;
}

static int fz_judge(const struct fz_lab *lab, struct fz_model *m, enum fz_hook h,
		    const uint8_t *in, size_t in_len, const struct fz_run *r, struct fz_tally *t,
		    char *why, size_t wlen);

/* A refusal of the kernel's test runner that says nothing about the datapath. */
static int refusal_ok(enum fz_hook h, const uint8_t *in, size_t len, int err)
{
	uint16_t et = len >= 14 ? get16(in + 12) : 0;

	/* tc: the runner builds no skb whose outer IP header is cut short. */
	return h != FZ_XDP && err == -EINVAL &&
	       ((et == 0x0800 && len < 14 + 20) || (et == 0x86dd && len < 14 + 40));
}

/* How often each PASS and GRAY reason came, and how the datapath treated it. */
static void note_reason(const struct fz_view *v, int untouched)
{
	for (int i = 0; i < FZ_REASONS; i++) {
		if (!fz_stats.reason[i].why) {
			fz_stats.reason[i].why = v->why;
			fz_stats.reason[i].cls = v->cls;
		}
		if (fz_stats.reason[i].why == v->why) {
			if (untouched)
				fz_stats.reason[i].untouched++;
			else
				fz_stats.reason[i].handled++;
			return;
		}
	}
}

int fz_check(const struct fz_lab *lab, struct fz_model *m, enum fz_hook h, const uint8_t *in,
	     size_t in_len, const struct fz_run *r, struct fz_tally *t, char *why, size_t wlen)
{
	int ret = fz_judge(lab, m, h, in, in_len, r, t, why, wlen);

	if (!ret && r->verdict != FZ_V_REFUSED) {
		struct fz_view v;

		fz_parse(in, in_len, &v);
		if (v.cls != FZ_C_OK)
			note_reason(&v, r->verdict == FZ_V_PASS && r->out_len == in_len &&
					!memcmp(r->out, in, in_len));
	}
	return ret;
}

static int fz_judge(const struct fz_lab *lab, struct fz_model *m, enum fz_hook h,
		    const uint8_t *in, size_t in_len, const struct fz_run *r, struct fz_tally *t,
		    char *why, size_t wlen)
{
	struct fz_view v;
	struct fz_tuple tp;
	struct fz_flow *rf = NULL;
	int s = -1, track;

	fz_parse(in, in_len, &v);
	t->runs++;
	fz_stats.verdict[h][r->verdict]++;
	if (r->verdict == FZ_V_REFUSED) {
		if (!refusal_ok(h, in, in_len, r->err))
			return fz_failf(why, wlen, "the kernel refused the run: %s%s",
				     strerror(-r->err),
				     r->err == -EBADMSG ? " (skb->csum not kept right)" : "");
		t->refused++;
		return 0;
	}
	if (r->verdict == FZ_V_OTHER)
		return fz_failf(why, wlen, "unexpected program return code");
	if (r->verdict == FZ_V_REDIRECT && h == FZ_TC_OUT)
		return fz_failf(why, wlen, "tc egress redirected");
	if (v.cls != FZ_C_PASS) {
		tp = tuple_of(&v);
		if (h != FZ_TC_OUT)
			s = fz_lab_service(lab, v.family, v.proto, &v.daddr, v.dport);
		if (s < 0)
			rf = fz_model_find_reply(m, lab, &tp);
	}
	if (r->verdict == FZ_V_PASS && r->out_len == in_len && !memcmp(r->out, in, in_len)) {
		if (v.cls == FZ_C_OK && s >= 0)
			return fz_failf(why, wlen, "packet for a service passed untouched");
		if (v.cls == FZ_C_OK && rf)
			return fz_failf(why, wlen, "reply of a known flow passed untouched");
		t->untouched++;
		if (v.cls == FZ_C_PASS) {
			t->untouched_parse++;
			fz_stats.untouched_parse++;
		} else if (v.cls == FZ_C_OK) {
			t->untouched_ns++;
			fz_stats.untouched_ns++;
		} else {
			fz_stats.untouched_gray++;
		}
		return 0;
	}
	if (v.cls == FZ_C_PASS)
		return fz_failf(why, wlen, "must pass untouched (%s), but %s", v.why,
			     r->verdict == FZ_V_DROP ? "was dropped" : "was changed");
	if (s >= 0 && !lab->svc[s].nbe) {
		if (r->verdict != FZ_V_DROP)
			return fz_failf(why, wlen, "service without backends: expected a drop");
		t->drop++;
		t->drops[s * CB_TRACKS]++;
		fz_stats.drop++;
		return 0;
	}
	if (r->verdict == FZ_V_DROP)
		return fz_failf(why, wlen, "dropped (%s)", s >= 0 ? "service with backends" :
			     rf ? "reply of a known flow" : "no service");
	if (s < 0 && !rf)
		return fz_failf(why, wlen, "rewritten, but for no service and no known flow");
	if (r->out_len != in_len)
		return fz_failf(why, wlen, "length changed: %zu -> %zu", in_len, r->out_len);
	track = s >= 0 ? check_forward(lab, m, h, in, &v, s, r, t, why, wlen) :
		check_reply(lab, h, in, &v, rf, r, t, why, wlen);
	if (track < 0)
		return -1;
	t->bytes[(s >= 0 ? s : rf->svc) * CB_TRACKS + track] += in_len;
	if (r->verdict == FZ_V_REDIRECT)
		t->redirect++;
	else if (h != FZ_TC_OUT)
		t->nat_stack++;
	return 0;
}
