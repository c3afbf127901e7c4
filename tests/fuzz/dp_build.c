// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Laying out fixtures, finding headers in mutated frames, recomputing checksums. */
#include <netinet/in.h>
#include <string.h>

#include "dp_gen.h"
#include "pkt.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* L4 checksum with the pseudo-header of the IP header at ip. */
static uint16_t l4_csum(int family, const uint8_t *ip, const uint8_t *l4, size_t n, int proto)
{
	uint32_t s = family == 4 ? pkt_sum16(ip + 12, 8, 0) : pkt_sum16(ip + 8, 32, 0);

	s += (uint32_t)proto + (uint32_t)(n >> 16) + (uint32_t)(n & 0xffff);
	return pkt_fold(pkt_sum16(l4, n, s));
}

size_t fz_build(const struct fz_spec *s, uint8_t *buf)
{
	size_t off = 12, l3, l4, l4len, hl = 0;
	uint8_t *ip, *t;

	memcpy(buf, s->dmac, 6);
	memcpy(buf + 6, s->smac, 6);
	for (int i = 0; i < s->ntags; i++, off += 4) {
		put16(buf + off, s->tpid[i]);
		put16(buf + off + 2, (uint16_t)(100 + i));
	}
	put16(buf + off, s->family == 4 ? 0x0800 : 0x86dd);
	l3 = off + 2;
	ip = buf + l3;
	l4len = (s->proto == IPPROTO_TCP ? 20 + s->tcpopt_len : 8) + s->plen;
	if (s->frag == 2)
		l4len = s->plen;
	if (s->family == 4) {
		hl = 20 + s->ipopt_len;
		memset(ip, 0, hl);
		ip[0] = (uint8_t)(0x40 | hl / 4);
		put16(ip + 2, (uint16_t)(hl + l4len));
		put16(ip + 4, (uint16_t)(s->frag ? s->frag_id : s->seq >> 7));
		if (s->frag)
			put16(ip + 6, (uint16_t)((s->frag == 1 ? 0x2000 : 0) | s->frag_off / 8));
		ip[8] = s->ttl;
		ip[9] = (uint8_t)s->proto;
		memcpy(ip + 12, s->src.b, 4);
		memcpy(ip + 16, s->dst.b, 4);
		memcpy(ip + 20, s->ipopt, s->ipopt_len);
		put16(ip + 10, pkt_fold(pkt_sum16(ip, hl, 0)));
	} else {
		size_t next_ext = s->next_ext + (s->frag ? 8 : 0), o = 0;

		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(next_ext + l4len));
		ip[6] = s->n_ext ? s->ext_type[0] : s->frag ? 44 : (uint8_t)s->proto;
		ip[7] = s->ttl;
		memcpy(ip + 8, s->src.b, 16);
		memcpy(ip + 24, s->dst.b, 16);
		memcpy(ip + 40, s->ext, s->next_ext);
		for (size_t i = 0; i < (size_t)s->n_ext; i++) {
			ip[40 + o] = i + 1 < (size_t)s->n_ext ? s->ext_type[i + 1] :
				     s->frag ? 44 : (uint8_t)s->proto;
			o += s->ext_type[i] == 44 ? 8 : ((size_t)ip[40 + o + 1] + 1) * 8;
		}
		if (s->frag) {
			uint8_t *fh = ip + 40 + o;

			memset(fh, 0, 8);
			fh[0] = (uint8_t)s->proto;
			put16(fh + 2, (uint16_t)(s->frag_off | (s->frag == 1 ? 1 : 0)));
			put16(fh + 4, (uint16_t)(s->frag_id >> 16));
			put16(fh + 6, (uint16_t)s->frag_id);
		}
		hl = 40 + next_ext;
	}
	l4 = l3 + hl;
	t = buf + l4;
	memset(t, 0, l4len - s->plen);
	memcpy(t + l4len - s->plen, s->payload, s->plen);
	if (s->frag == 2)
		return l4 + l4len;          /* the middle of a datagram: no header here */
	if (s->proto == IPPROTO_TCP) {
		put16(t, s->sport);
		put16(t + 2, s->dport);
		put16(t + 4, (uint16_t)(s->seq >> 16));
		put16(t + 6, (uint16_t)s->seq);
		if (s->flags & 0x10) {
			put16(t + 8, (uint16_t)(s->ack >> 16));
			put16(t + 10, (uint16_t)s->ack);
		}
		t[12] = (uint8_t)((5 + s->tcpopt_len / 4) << 4);
		t[13] = s->flags;
		put16(t + 14, 64240);
		memcpy(t + 20, s->tcpopt, s->tcpopt_len);
		put16(t + 16, l4_csum(s->family, ip, t, l4len, IPPROTO_TCP));
	} else if (s->proto == IPPROTO_UDP) {
		put16(t, s->sport);
		put16(t + 2, s->dport);
		put16(t + 4, (uint16_t)l4len);
		if (!s->udp_zero) {
			uint16_t c = l4_csum(s->family, ip, t, l4len, IPPROTO_UDP);

			put16(t + 6, c ? c : 0xffff);
		}
	} else {
		if (s->icmp_type) {                 /* an error quoting the payload */
			t[0] = s->icmp_type;
			t[1] = s->icmp_code;
			put16(t + 4, (uint16_t)(s->icmp_info >> 16));
			put16(t + 6, (uint16_t)s->icmp_info);
		} else {
			t[0] = s->family == 4 ? 8 : 128;    /* echo request */
			put16(t + 4, s->sport);
		}
		put16(t + 2, s->family == 4 ? pkt_fold(pkt_sum16(t, l4len, 0)) :
			     l4_csum(6, ip, t, l4len, IPPROTO_ICMPV6));
	}
	return l4 + l4len;
}

void fz_locate(const uint8_t *p, size_t len, struct fz_loc *l)
{
	size_t off = 12;
	uint16_t et = 0;

	memset(l, 0, sizeof(*l));
	l->et_off = 12;
	if (len < 14)
		return;
	for (int i = 0; i < 4; i++) {
		et = get16(p + off);
		if ((et != 0x8100 && et != 0x88a8 && et != 0x9100) || off + 6 > len)
			break;
		off += 4;
	}
	l->et_off = off;
	l->l3 = off + 2;
	et = get16(p + off);
	if (et == 0x0800 && l->l3 + 20 <= len) {
		size_t ihl = (size_t)(p[l->l3] & 0xf) * 4;

		l->family = 4;
		l->have_l3 = 1;
		l->ttl_off = l->l3 + 8;
		l->proto = p[l->l3 + 9];
		l->l4 = l->l3 + (ihl < 20 ? 20 : ihl);
	} else if (et == 0x86dd && l->l3 + 40 <= len) {
		size_t o = l->l3 + 40;
		uint8_t nh = p[l->l3 + 6];

		l->family = 6;
		l->have_l3 = 1;
		l->ttl_off = l->l3 + 7;
		l->nh_off = l->l3 + 6;
		for (int i = 0; i < 8 && (nh == 0 || nh == 43 || nh == 60 || nh == 44) &&
				o + 8 <= len; i++) {
			l->nh_off = o;
			nh = p[o];
			o += nh == 44 ? 8 : ((size_t)p[o + 1] + 1) * 8;
		}
		l->proto = nh;
		l->l4 = o;
	}
	l->have_l4 = l->have_l3 && (l->proto == IPPROTO_TCP || l->proto == IPPROTO_UDP) &&
		     l->l4 + 8 <= len;
}

void fz_fix_csums(uint8_t *p, size_t len)
{
	struct fz_loc l;
	size_t end, n;
	uint8_t *ip;

	fz_locate(p, len, &l);
	if (!l.have_l3)
		return;
	ip = p + l.l3;
	if (l.family == 4) {
		size_t hl = (size_t)(ip[0] & 0xf) * 4;

		if (hl >= 20 && l.l3 + hl <= len) {
			put16(ip + 10, 0);
			put16(ip + 10, pkt_fold(pkt_sum16(ip, hl, 0)));
		}
		end = l.l3 + get16(ip + 2);
	} else {
		end = l.l3 + 40 + get16(ip + 4);
	}
	if (!l.have_l4)
		return;
	if (end > len || end < l.l4)
		end = len;
	n = end - l.l4;
	if (l.proto == IPPROTO_TCP && n >= 20) {
		put16(p + l.l4 + 16, 0);
		put16(p + l.l4 + 16, l4_csum(l.family, ip, p + l.l4, n, IPPROTO_TCP));
	} else if (l.proto == IPPROTO_UDP && get16(p + l.l4 + 6)) {
		size_t ulen = get16(p + l.l4 + 4);
		uint16_t c;

		if (ulen >= 8 && ulen <= n)
			n = ulen;
		put16(p + l.l4 + 6, 0);
		c = l4_csum(l.family, ip, p + l.l4, n, IPPROTO_UDP);
		put16(p + l.l4 + 6, c ? c : 0xffff);
	}
}

uint16_t fz_udp_presum(const uint8_t *p, size_t len)
{
	struct fz_loc l;
	const uint8_t *ip;
	uint32_t s;
	size_t n;

	fz_locate(p, len, &l);
	if (!l.have_l4 || l.proto != IPPROTO_UDP)
		return 0;
	ip = p + l.l3;
	n = get16(p + l.l4 + 4);
	if (n < 8 || l.l4 + n > len)
		return 0;
	s = l.family == 4 ? pkt_sum16(ip + 12, 8, 0) : pkt_sum16(ip + 8, 32, 0);
	s += IPPROTO_UDP + (uint32_t)n;
	s = pkt_sum16(p + l.l4, 6, s);
	s = pkt_sum16(p + l.l4 + 8, n - 8, s);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}
