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
	if (ip[9] != IPPROTO_TCP && ip[9] != IPPROTO_UDP && ip[9] != IPPROTO_ICMP)
		return pass_why(v, "IPv4, not TCP/UDP");
	v->frag = (get16(ip + 6) & 0x1fff) ? 2 : (get16(ip + 6) & 0x2000) ? 1 : 0;
	v->frag_id = get16(ip + 4);
	if (ip[9] == IPPROTO_ICMP && v->frag)
		return pass_why(v, "IPv4 ICMP fragment");
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

		if (nh == 58 && !v->frag)
			break;
		if (nh != 0 && nh != 43 && nh != 60 && nh != 44)
			return pass_why(v, "IPv6, not TCP/UDP");
		if (off + 8 > v->ip_end)
			return pass_why(v, "extension header cut");
		hlen = nh == 44 ? 8 : ((size_t)p[off + 1] + 1) * 8;
		if (off + hlen > v->ip_end)
			return pass_why(v, "extension header beyond the payload");
		if (nh == 43 && p[off + 3] != 0)
			return pass_why(v, "routing header with segments left");
		if (nh == 44 && v->frag)
			return pass_why(v, "two fragment headers");
		if (nh == 44 && (get16(p + off + 2) & 0xfff8))
			v->frag = 2;
		else if (nh == 44 && (get16(p + off + 2) & 1))
			v->frag = 1;
		else if (nh == 44)
			gray_why(v, "IPv6 atomic fragment");
		if (nh == 44)
			v->frag_id = (uint32_t)get16(p + off + 4) << 16 | get16(p + off + 6);
		if (v->frag == 2) {
			nh = p[off];
			off += hlen;
			n++;
			break;
		}
		if (nh == 0 && n > 0)
			gray_why(v, "hop-by-hop header not first");
		n++;
		nh = p[off];
		off += hlen;
	}
	if (v->frag == 2 && nh != IPPROTO_TCP && nh != IPPROTO_UDP)
		return pass_why(v, "IPv6 fragment, not TCP/UDP");
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
	if (v->frag == 2)
		return;   /* no L4 header: judged by its addresses (fz_judge) */
	if (v->proto == IPPROTO_ICMP || v->proto == 58) {
		uint8_t type = l4n >= 8 ? p[v->l4] : 0xff;

		if (l4n < 8)
			return (void)pass_why(v, "ICMP header cut");
		if (v->proto == IPPROTO_ICMP ? type != 3 && type != 11 : type < 1 || type > 3)
			return (void)pass_why(v, "ICMP, not an error about a flow");
		v->icmp = 1;
		v->l4_len = l4n;
		v->csum_off = v->l4 + 2;
		/* The quoted ports (after an IPv4 header of up to 60 bytes) must be in reach too. */
		if (v->l4 + 8 + 60 + 4 > FZ_DEEP)
			gray_why(v, "ICMP error quoting deeper than 400 bytes");
		return;
	}
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
		v->seq = (uint32_t)get16(p + v->l4 + 4) << 16 | get16(p + v->l4 + 6);
		v->ack = (uint32_t)get16(p + v->l4 + 8) << 16 | get16(p + v->l4 + 10);
	} else {
		size_t ulen;

		if (l4n < 8)
			return (void)pass_why(v, "UDP header cut");
		ulen = get16(p + v->l4 + 4);
		/* A first fragment holds only the start of the datagram its length is of. */
		if (ulen < 8 || (ulen > l4n && v->frag != 1))
			return (void)pass_why(v, "UDP length lies");
		v->csum_off = v->l4 + 6;
		v->l4_len = ulen > l4n ? l4n : ulen;
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

/* ICMPv4 sums its message only; ICMPv6 its pseudo-header too. */
static uint16_t sum_icmp(const uint8_t *p, const struct fz_view *v)
{
	uint64_t s = sum(p + v->l4, v->l4_len);

	if (v->family == 6)
		s += sum(p + v->l3 + 8, 32) + 58 + v->l4_len;
	return fold(s);
}

/* SYN checksums as a sender must have made them; tc also takes the offload (partial) form. */
static int syn_sums_ok(const uint8_t *p, const struct fz_view *v, enum fz_hook h)
{
	const uint8_t *ip = p + v->l3;
	uint64_t ps;

	if (v->l4_len > 1536)
		return 0;
	if (v->family == 4 && fz_sum_ip4(p, v) != 0xffff)
		return 0;
	if (fz_sum_l4(p, v) == 0xffff)
		return 1;
	ps = (v->family == 4 ? sum(ip + 12, 8) : sum(ip + 8, 32)) + v->proto + v->l4_len;
	while (ps >> 16)
		ps = (ps & 0xffff) + (ps >> 16);
	return h != FZ_XDP && get16(p + v->csum_off) == (uint16_t)ps;
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

/* A count the model is sure of goes to both bounds; one at a timeout's edge to the upper only. */
static void count(const struct fz_flow *f, uint64_t *lo, uint64_t *hi, int k)
{
	if (!f->fuzzy)
		lo[k]++;
	hi[k]++;
}

/*
 * A client's TCP segment of flow f, NATed: SPEC's evidence rules. A SYN
 * with a new sequence number is a new connect; the same one again while
 * unanswered for CB_SYN_TIMEOUT_NS is a failed connect (counted once); the
 * ACK of the backend's SYN-ACK verifies the flow (counted once). RSTs of a
 * client count only on a verified flow.
 */
static void tcp_client(struct fz_flow *f, const struct fz_view *v, struct fz_tally *t, int k,
		       double now)
{
	int syn = (v->tcp_flags & 0x12) == 0x02;
	double dt = now - f->syn_t;

	if (syn && (f->closing || !f->verified)) {
		if (!f->isn_known || f->isn != v->seq || (f->verified && f->closing)) {
			f->isn = v->seq;
			f->isn_known = 1;
			f->syn_open = 1;
			f->syn_t = now;
			f->synack = f->verified = f->counted = f->failed = f->fuzzy = 0;
			f->closing = f->fin_client = f->fin_backend = 0;
		} else if (!f->syn_open) {
			f->syn_open = 1;
			f->syn_t = now;
			f->failed = f->synack = 0;
		} else if (dt >= 0.85 && !f->failed) {
			f->fuzzy |= dt < 0.95;
			f->failed = 1;
			if (!f->counted) {
				f->counted = 1;
				count(f, t->conn_lo, t->conn_hi, k);
			}
		}
	} else if (!f->verified && (v->tcp_flags & 0x16) == 0x10 && f->synack &&
		   v->ack == f->server_isn + 1) {
		f->verified = 1;
		if (!f->counted) {
			f->counted = 1;
			count(f, t->conn_lo, t->conn_hi, k);
		}
	}
	f->fin_client |= v->tcp_flags & 0x01;
	f->closing |= (v->tcp_flags & 0x04) || (f->fin_client && f->fin_backend);
	if ((v->tcp_flags & 0x04) && f->verified)
		t->rst_client[k]++;
}

/* A backend's TCP segment of flow f, reverse-NATed: it answers a pending SYN (a SYN-ACK, a RST, anything). */
static void tcp_backend(struct fz_flow *f, const struct fz_view *v, struct fz_tally *t, int k)
{
	if (f->verified) {
		if (v->tcp_flags & 0x04) {
			t->rst_backend[k]++;
			t->rst_backend_hi[k]++;
		}
	} else if (f->syn_open) {
		/* Any answer ends the attempt; a bare ACK (TIME_WAIT) only until the SYN comes again. */
		f->syn_open = 0;
		if ((v->tcp_flags & 0x12) == 0x12) {
			f->synack = 1;
			f->server_isn = v->seq;
		} else if ((v->tcp_flags & 0x04) && !f->failed) {
			f->failed = 1;
			count(f, t->rst_backend, t->rst_backend_hi, k);
			if (!f->counted) {
				f->counted = 1;
				count(f, t->conn_lo, t->conn_hi, k);
			}
		}
	}
	/* Before its handshake a backend's FIN or RST only answers the SYN: it closes nothing. */
	if (!f->verified)
		return;
	f->fin_backend |= v->tcp_flags & 0x01;
	f->closing |= (v->tcp_flags & 0x04) || (f->fin_client && f->fin_backend);
}

static int check_forward(const struct fz_lab *lab, struct fz_model *m, enum fz_hook h,
			 const uint8_t *in, const struct fz_view *v, int s, const struct fz_run *r,
			 struct fz_tally *t, char *why, size_t wlen)
{
	const struct fz_service *sv = &lab->svc[s];
	struct fz_view o = *v;
	struct fz_tuple tp = tuple_of(v);
	struct fz_flow *f;
	int be, track, ot, prev, k;
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
	 * Connections. UDP: every flow the model had not seen is one, and one
	 * that idled long enough to expire (60 s) may be another. TCP: a
	 * connect counts once, when its outcome is known (tcp_client).
	 */
	k = s * CB_TRACKS + track;
	if (!f) {
		f = fz_model_add(m, lab, &tp, s, be);
		if (!f)
			return fz_failf(why, wlen, "the model is full");
		if (v->proto == IPPROTO_UDP) {
			t->conn_lo[k]++;
			t->conn_hi[k]++;
		}
		f->last = now;
	} else if (v->proto == IPPROTO_UDP && now - f->last > 8.0) {
		t->conn_hi[k]++;
	}
	if (v->proto == IPPROTO_TCP)
		tcp_client(f, v, t, k, now);
	f->last = now;
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
	if (v->proto == IPPROTO_TCP)
		tcp_backend(f, v, t, i);
	t->packets[i]++;
	t->rev_nat++;
	fz_stats.rev_nat++;
	return track;
}

static int fz_judge(const struct fz_lab *lab, struct fz_model *m, enum fz_hook h,
		    const uint8_t *in, size_t in_len, const struct fz_run *r, struct fz_tally *t,
		    char *why, size_t wlen);

enum svc_pass { SP_NAT, SP_PASS_TTL, SP_PASS_CSUM, SP_PASS_MISS, SP_EITHER };

/*
 * What SPEC says of a well-formed packet to a service with backends: it
 * passes as it came when its TTL would expire here, when it is a SYN whose
 * checksums are wrong, when it is TCP without SYN of no flow (a conntrack
 * miss); a flow idle long enough to have expired may be either.
 */
static enum svc_pass service_pass(struct fz_model *m, enum fz_hook h, const uint8_t *in,
				  const struct fz_view *v)
{
	struct fz_tuple tp = tuple_of(v);
	struct fz_flow *f;
	double idle;

	if (v->ttl <= 1)
		return SP_PASS_TTL;
	if (v->proto != IPPROTO_TCP)
		return SP_NAT;
	f = fz_model_find(m, &tp);
	/*
	 * A SYN must have right checksums to make or restart a flow; on a live
	 * verified flow it goes to the flow's backend like any other segment.
	 * Of a tuple the model knows, the datapath's state decides (the model
	 * follows it only roughly there); of one nobody opened, never a flow.
	 */
	if ((v->tcp_flags & 0x12) == 0x02)
		return syn_sums_ok(in, v, h) ? SP_NAT : f ? SP_EITHER : SP_PASS_CSUM;
	if (!f)
		return SP_PASS_MISS;
	idle = mono_s() - f->last;
	if ((f->closing && idle > 8.0) || idle > 50.0)
		return SP_EITHER;
	return SP_NAT;
}

/* An ICMP error: the flow it quotes, as the model knows it (fwd: quoting a reply to a client). */
static struct fz_flow *icmp_flow(const struct fz_lab *lab, struct fz_model *m, enum fz_hook h,
				 const uint8_t *in, const struct fz_view *v)
{
	size_t q = v->l4 + 8, ql4;
	struct fz_tuple tp;
	struct fz_flow *f;

	memset(&tp, 0, sizeof(tp));
	tp.family = (uint8_t)v->family;
	if (v->family == 4) {
		if (q + 20 > v->ip_end || in[q] >> 4 != 4 || (in[q] & 0xf) < 5 ||
		    (get16(in + q + 6) & 0x1fff))
			return NULL;
		tp.proto = in[q + 9];
		memcpy(tp.saddr.b, in + q + 16, 4);   /* the quoted destination */
		memcpy(tp.daddr.b, in + q + 12, 4);
		ql4 = q + (size_t)(in[q] & 0xf) * 4;
	} else {
		if (q + 40 > v->ip_end || in[q] >> 4 != 6)
			return NULL;
		tp.proto = in[q + 6];
		memcpy(tp.saddr.b, in + q + 24, 16);
		memcpy(tp.daddr.b, in + q + 8, 16);
		ql4 = q + 40;
	}
	if ((tp.proto != IPPROTO_TCP && tp.proto != IPPROTO_UDP) || ql4 + 4 > v->ip_end ||
	    ql4 + 4 > FZ_PKT_MAX)
		return NULL;
	tp.sport = get16(in + ql4 + 2);
	tp.dport = get16(in + ql4);
	/* Quoting our reply (VIP -> client), on an ingress hook: the client -> VIP flow. */
	if (h != FZ_TC_OUT && (f = fz_model_find(m, &tp)))
		return f;
	/* Quoting a request as the backend got it (client -> backend): its reply tuple. */
	return fz_model_find_reply(m, lab, &tp);
}

/* A translated ICMP error: same length, every checksum residual kept. */
static int check_icmp(const uint8_t *in, const struct fz_view *v, const struct fz_run *r, char *why,
		      size_t wlen)
{
	uint16_t a, b;

	if (r->out_len != v->ip_end && r->out_len < v->ip_end)
		return fz_failf(why, wlen, "translated ICMP error cut to %zu bytes", r->out_len);
	if (v->family == 4 && (a = fz_sum_ip4(in, v)) != (b = fz_sum_ip4(r->out, v)))
		return fz_failf(why, wlen, "ICMP error: IPv4 header residual %04x became %04x", a, b);
	if ((a = sum_icmp(in, v)) != (b = sum_icmp(r->out, v)))
		return fz_failf(why, wlen, "ICMP error: its checksum residual %04x became %04x", a, b);
	return 0;
}

/* The lab backend (service and track) at an address, whatever its port. */
static int backend_at(const struct fz_lab *lab, int family, const union cb_addr *a, int *track)
{
	size_t n = family == 4 ? 4 : 16;

	for (int s = 0; s < lab->nsvc; s++)
		for (int b = 0; b < lab->svc[s].nbe; b++)
			if (lab->svc[s].family == family && !memcmp(lab->svc[s].be[b].addr.b, a->b, n)) {
				*track = lab->svc[s].be[b].track;
				return s;
			}
	return -1;
}

/*
 * A fragment after the first: as it came; or one address rewritten (the
 * destination to a backend, or a backend's source to a VIP) and the IPv4
 * header checksum with it; or dropped when a backend sent it.
 */
static int judge_frag(const struct fz_lab *lab, enum fz_hook h, const uint8_t *in, size_t in_len,
		      const struct fz_view *v, const struct fz_run *r, struct fz_tally *t, char *why,
		      size_t wlen)
{
	size_t n = v->family == 4 ? 4 : 16, so = v->l3 + (v->family == 4 ? 12 : 8);
	size_t doff = v->l3 + (v->family == 4 ? 16 : 24);
	int src_track, src_be = backend_at(lab, v->family, &v->saddr, &src_track), s = -1, track = 0;
	int redirect = r->verdict == FZ_V_REDIRECT;
	union cb_addr na;

	/* Its TTL expires here, on the way in: the stack's, as it came. */
	if (v->ttl <= 1 && h != FZ_TC_OUT) {
		if (r->verdict != FZ_V_PASS || r->out_len != in_len || memcmp(r->out, in, in_len))
			return fz_failf(why, wlen, "fragment with TTL %u not passed as it came", v->ttl);
		/* Counted as expiring, or as a fragment the parse stopped at first: either. */
		t->untouched++;
		return 0;
	}
	if (r->verdict == FZ_V_DROP) {
		if (src_be < 0)
			return fz_failf(why, wlen, "fragment dropped, but not from a backend");
		t->drop++;
		t->drop_frag++;
		return 0;
	}
	if (r->out_len != in_len || r->verdict == FZ_V_OTHER)
		return fz_failf(why, wlen, "fragment changed length or verdict");
	for (size_t i = 0; i < r->out_len; i++) {
		int ok = (i >= so && i < so + n) || (i >= doff && i < doff + n) ||
			 (v->family == 4 && (i == v->l3 + 10 || i == v->l3 + 11)) ||
			 (redirect && (i < 12 || i == v->l3 + (v->family == 4 ? 8 : 7)));

		if (in[i] != r->out[i] && !ok)
			return fz_failf(why, wlen, "fragment: byte %zu changed outside the addresses", i);
	}
	if (v->family == 4 && fz_sum_ip4(in, v) != fz_sum_ip4(r->out, v))
		return fz_failf(why, wlen, "fragment: IPv4 header checksum residual changed");
	memset(&na, 0, sizeof(na));
	if (memcmp(in + doff, r->out + doff, n)) {
		memcpy(na.b, r->out + doff, n);
		s = backend_at(lab, v->family, &na, &track);
		if (s < 0)
			return fz_failf(why, wlen, "fragment sent to a destination that is no backend");
	} else if (memcmp(in + so, r->out + so, n)) {
		if (src_be < 0)
			return fz_failf(why, wlen, "fragment's source rewritten, but not a backend's");
		memcpy(na.b, r->out + so, n);
		if (memcmp(na.b, lab->svc[src_be].vip.b, n))
			return fz_failf(why, wlen, "backend fragment's source is not its VIP");
		s = src_be;
		track = src_track;
	} else {
		t->untouched++;
		t->untouched_parse++;
		return 0;
	}
	t->frag_nat++;
	t->packets[s * CB_TRACKS + track]++;
	t->bytes[s * CB_TRACKS + track] += r->out_len;
	if (redirect)
		t->redirect++;
	else if (h != FZ_TC_OUT)
		t->nat_stack++;
	return 0;
}

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

/* An ICMP error: translated exactly when it quotes a flow the model knows. */
static int judge_icmp(const struct fz_lab *lab, struct fz_model *m, enum fz_hook h,
		      const uint8_t *in, size_t in_len, const struct fz_view *v,
		      const struct fz_run *r, struct fz_tally *t, char *why, size_t wlen)
{
	struct fz_flow *f = icmp_flow(lab, m, h, in, v);
	int untouched = r->verdict == FZ_V_PASS && r->out_len == in_len &&
			!memcmp(r->out, in, in_len);
	int k;

	if (!f) {
		if (!untouched)
			return fz_failf(why, wlen, "ICMP error about no known flow changed");
		t->untouched++;
		t->untouched_parse++;
		return 0;
	}
	if (untouched && v->cls == FZ_C_OK)
		return fz_failf(why, wlen, "ICMP error about a known flow passed untranslated");
	if (untouched) {
		t->untouched++;
		return 0;
	}
	if (r->verdict == FZ_V_DROP || r->out_len != in_len)
		return fz_failf(why, wlen, "ICMP error %s", r->verdict == FZ_V_DROP ? "dropped" :
			     "changed length");
	if (check_icmp(in, v, r, why, wlen))
		return -1;
	k = f->svc * CB_TRACKS + lab->svc[f->svc].be[f->be].track;
	t->icmp_nat++;
	t->packets[k]++;
	t->bytes[k] += in_len;
	if (r->verdict == FZ_V_REDIRECT)
		t->redirect++;
	else if (h != FZ_TC_OUT)
		t->nat_stack++;
	fz_stats.icmp_nat++;
	return 0;
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
	enum svc_pass sp = SP_NAT;
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
	if (v.cls != FZ_C_PASS && v.frag == 2)
		return judge_frag(lab, h, in, in_len, &v, r, t, why, wlen);
	if (v.cls != FZ_C_PASS && v.icmp)
		return judge_icmp(lab, m, h, in, in_len, &v, r, t, why, wlen);
	if (v.cls != FZ_C_PASS) {
		tp = tuple_of(&v);
		if (h != FZ_TC_OUT)
			s = fz_lab_service(lab, v.family, v.proto, &v.daddr, v.dport);
		if (s < 0)
			rf = fz_model_find_reply(m, lab, &tp);
	}
	if (s >= 0 && v.cls != FZ_C_PASS)
		sp = service_pass(m, h, in, &v);
	if (r->verdict == FZ_V_PASS && r->out_len == in_len && !memcmp(r->out, in, in_len)) {
		if (v.cls == FZ_C_OK && s >= 0 && sp == SP_NAT)
			return fz_failf(why, wlen, "packet for a service passed untouched");
		if (s >= 0 && sp != SP_NAT) {
			t->untouched++;
			t->miss += v.cls == FZ_C_OK && sp == SP_PASS_MISS;
			t->bad_syn += v.cls == FZ_C_OK && sp == SP_PASS_CSUM;
			t->ttl += v.cls == FZ_C_OK && sp == SP_PASS_TTL;
			fz_stats.untouched_svc++;
			return 0;
		}
		if (v.cls == FZ_C_OK && rf)
			return fz_failf(why, wlen, "reply of a known flow passed untouched");
		t->untouched++;
		if (v.cls == FZ_C_PASS) {
			t->untouched_parse++;
			fz_stats.untouched_parse++;
		} else if (v.cls == FZ_C_OK && v.frag) {
			fz_stats.untouched_ns++;   /* counted as a fragment of no service */
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
	if (s >= 0 && sp != SP_NAT && sp != SP_EITHER)
		return fz_failf(why, wlen, "must pass untouched (%s), but %s",
			     sp == SP_PASS_TTL ? "TTL expiring here" : sp == SP_PASS_CSUM ?
			     "a SYN with a wrong checksum" : "TCP without SYN of no flow",
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
