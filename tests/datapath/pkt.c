// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "pkt.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

union cb_addr pkt_addr(int family, const char *s)
{
	union cb_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, s, a.b) != 1)
		abort();
	return a;
}

int pkt_addr_eq(const union cb_addr *a, const union cb_addr *b)
{
	return !memcmp(a->b, b->b, sizeof(a->b));
}

uint32_t pkt_sum16(const uint8_t *p, size_t len, uint32_t s)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	return s;
}

uint16_t pkt_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Checksum over pseudo-header + L4 segment (network order result). */
static uint16_t l4_csum(int family, const uint8_t *l3, const uint8_t *l4, size_t l4len, int proto)
{
	uint32_t s = 0;

	if (family == 4) {
		s = pkt_sum16(l3 + 12, 8, s);
	} else {
		s = pkt_sum16(l3 + 8, 32, s);
	}
	s += (uint32_t)proto;
	s += (uint32_t)(l4len & 0xffff) + (uint32_t)(l4len >> 16);
	s = pkt_sum16(l4, l4len, s);
	return htons(pkt_fold(s));
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }

size_t pkt_build(uint8_t *buf, const struct pkt_spec *s)
{
	static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x01 }, smac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	size_t off = 12, l3, l4, l4len, hl;
	uint8_t *ip;
	int proto = s->proto ? s->proto : IPPROTO_TCP;
	size_t payload = s->text ? (s->text_len ? s->text_len : strlen(s->text)) : s->payload;

	memset(buf, 0, PKT_MAX);
	memcpy(buf, dmac, 6);
	memcpy(buf + 6, smac, 6);
	for (int i = 0; i < s->vlans; i++) {
		put16(buf + off, i == 0 && s->vlans == 2 ? ETH_P_8021AD : ETH_P_8021Q);
		put16(buf + off + 2, (uint16_t)(100 + i));
		off += 4;
	}
	put16(buf + off, s->family == 4 ? ETH_P_IP : ETH_P_IPV6);
	l3 = off + 2;
	ip = buf + l3;
	switch (proto) {
	case IPPROTO_TCP: l4len = 20; break;
	case IPPROTO_UDP: l4len = 8; break;
	default: l4len = 8; break;           /* ICMP echo header */
	}
	l4len += payload;

	if (s->family == 4) {
		union cb_addr sa = s->src_addr ? *s->src_addr : pkt_addr(4, s->src),
			      da = s->dst_addr ? *s->dst_addr : pkt_addr(4, s->dst);

		hl = 20 + (size_t)s->ip_opts;
		ip[0] = 0x40 | (uint8_t)(hl / 4);
		put16(ip + 2, (uint16_t)(hl + l4len));
		put16(ip + 4, 0x1234);
		if (s->v4_frag == 1)
			put16(ip + 6, 0x2000);
		else if (s->v4_frag == 2)
			put16(ip + 6, 0x0010);
		ip[8] = s->ttl ? s->ttl : 64;
		ip[9] = (uint8_t)proto;
		memcpy(ip + 12, sa.b, 4);
		memcpy(ip + 16, da.b, 4);
		for (int i = 0; i < s->ip_opts; i++)
			ip[20 + i] = 1;          /* NOP options */
		if (s->ip_opts)
			ip[20 + s->ip_opts - 1] = 0;  /* end of options */
		put16(ip + 10, pkt_fold(pkt_sum16(ip, hl, 0)));
		l4 = l3 + hl;
	} else {
		union cb_addr sa = s->src_addr ? *s->src_addr : pkt_addr(6, s->src),
			      da = s->dst_addr ? *s->dst_addr : pkt_addr(6, s->dst);
		size_t ext_len = 0;

		ip[0] = 0x60;
		ip[7] = s->ttl ? s->ttl : 64;
		memcpy(ip + 8, sa.b, 16);
		memcpy(ip + 24, da.b, 16);
		off = 40;
		for (int i = 0; i < s->n_ext; i++) {
			uint8_t *e = ip + off;
			uint8_t next = i + 1 < s->n_ext ? s->ext[i + 1] : (uint8_t)proto;

			e[0] = next;
			if (s->ext[i] == IPPROTO_FRAGMENT) {
				put16(e + 2, 0x0001);  /* offset 0, more fragments */
				off += 8;
				ext_len += 8;
				continue;
			}
			e[1] = 1;                      /* 16 bytes */
			if (s->ext[i] == IPPROTO_ROUTING)
				e[3] = s->routing_segleft;
			else
				e[2] = 1, e[3] = 12;   /* PadN option filling the header */
			off += 16;
			ext_len += 16;
		}
		ip[6] = s->n_ext ? s->ext[0] : (uint8_t)proto;
		put16(ip + 4, (uint16_t)(ext_len + l4len));
		l4 = l3 + off;
	}

	uint8_t *t = buf + l4;

	for (size_t i = 0; i < payload; i++)
		t[l4len - payload + i] = s->text ? (uint8_t)s->text[i] : (uint8_t)('a' + i % 26);
	if (proto == IPPROTO_TCP) {
		put16(t, s->sport);
		put16(t + 2, s->dport);
		put16(t + 4, s->seq ? (uint16_t)(s->seq >> 16) : 0x0102);
		put16(t + 6, (uint16_t)s->seq);
		put16(t + 8, (uint16_t)(s->ack >> 16));
		put16(t + 10, (uint16_t)s->ack);
		t[12] = 5 << 4;
		t[13] = s->tcp_flags ? s->tcp_flags : 0x02;
		put16(t + 14, 65535);
		memcpy(t + 16, &(uint16_t){ l4_csum(s->family, ip, t, l4len, proto) }, 2);
	} else if (proto == IPPROTO_UDP) {
		put16(t, s->sport);
		put16(t + 2, s->dport);
		put16(t + 4, (uint16_t)l4len);
		if (!(s->family == 4 && s->udp_zero_csum)) {
			uint16_t c = l4_csum(s->family, ip, t, l4len, proto);

			memcpy(t + 6, c ? &c : &(uint16_t){ 0xffff }, 2);
		}
	} else {
		t[0] = s->family == 4 ? 8 : 128;   /* echo request */
		if (s->family == 4)
			put16(t + 2, pkt_fold(pkt_sum16(t, l4len, 0)));
		else
			memcpy(t + 2, &(uint16_t){ l4_csum(6, ip, t, l4len, proto) }, 2);
	}
	return l4 + l4len;
}

int pkt_check(const uint8_t *buf, size_t len, struct pkt_view *v)
{
	size_t off = 12, l3;
	uint16_t et;
	const uint8_t *ip;

	memset(v, 0, sizeof(*v));
	if (len < 14)
		return -2;
	memcpy(v->dmac, buf, 6);
	et = (uint16_t)(buf[off] << 8 | buf[off + 1]);
	while (et == ETH_P_8021Q || et == ETH_P_8021AD) {
		off += 4;
		if (off + 2 > len)
			return -2;
		et = (uint16_t)(buf[off] << 8 | buf[off + 1]);
	}
	l3 = off + 2;
	ip = buf + l3;
	v->l3_off = l3;
	if (et == ETH_P_IP) {
		size_t hl = (size_t)(ip[0] & 0xf) * 4, tot = (size_t)(ip[2] << 8 | ip[3]);

		if (l3 + tot > len || hl < 20)
			return -2;
		v->family = 4;
		v->proto = ip[9];
		v->ttl = ip[8];
		memcpy(v->saddr.b, ip + 12, 4);
		memcpy(v->daddr.b, ip + 16, 4);
		v->l4_off = l3 + hl;
		if (pkt_fold(pkt_sum16(ip, hl, 0)) != 0)
			return -1;
		len = l3 + tot;
	} else if (et == ETH_P_IPV6) {
		size_t plen = (size_t)(ip[4] << 8 | ip[5]), o = 40;
		uint8_t nh = ip[6];

		if (l3 + 40 + plen > len)
			return -2;
		v->family = 6;
		v->ttl = ip[7];
		memcpy(v->saddr.b, ip + 8, 16);
		memcpy(v->daddr.b, ip + 24, 16);
		while (nh == 0 || nh == 43 || nh == 60 || nh == 44) {
			if (nh == 44) {          /* fragment header: 8 bytes */
				if (l3 + o + 8 > len)
					return -2;
				nh = ip[o];
				o += 8;
				continue;
			}
			if (l3 + o + 8 > len)
				return -2;
			nh = ip[o];
			o += (size_t)(ip[o + 1] + 1) * 8;
		}
		if (l3 + o > len)
			return -2;
		v->proto = nh;
		v->l4_off = l3 + o;
		len = l3 + 40 + plen;
	} else {
		return -2;
	}
	if (v->l4_off > len)
		return -2;
	const uint8_t *t = buf + v->l4_off;
	size_t l4len = len - v->l4_off;

	if (v->proto != IPPROTO_TCP && v->proto != IPPROTO_UDP)
		return -2;
	if (l4len < (v->proto == IPPROTO_TCP ? 20u : 8u))
		return -2;
	v->sport = (uint16_t)(t[0] << 8 | t[1]);
	v->dport = (uint16_t)(t[2] << 8 | t[3]);
	if (v->proto == IPPROTO_TCP)
		v->tcp_flags = t[13];
	else
		v->udp_csum = (uint16_t)(t[6] << 8 | t[7]);
	if (v->proto == IPPROTO_UDP && v->family == 4 && v->udp_csum == 0)
		return 0;    /* no checksum, and it must stay so */
	/* A valid segment sums to zero with its own checksum field included. */
	uint8_t *copy = malloc(l4len);
	uint32_t s;

	memcpy(copy, t, l4len);
	s = v->family == 4 ? pkt_sum16(buf + v->l3_off + 12, 8, 0) : pkt_sum16(buf + v->l3_off + 8, 32, 0);
	s += (uint32_t)v->proto + (uint32_t)l4len;
	s = pkt_sum16(copy, l4len, s);
	free(copy);
	return pkt_fold(s) == 0 ? 0 : -1;
}
