// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ICMP errors quoting a packet, and fragments of a datagram: crafted, and checked from scratch. */
#include "pkt.h"

#include <linux/if_ether.h>
#include <netinet/in.h>
#include <string.h>

#define ETH_LEN 14

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* The outer IP header of a packet we build: IPv4 (20 bytes, checksum filled) or IPv6 (40). */
static size_t ip_header(uint8_t *ip, int family, const union cb_addr *src, const union cb_addr *dst,
			uint8_t proto, size_t l4len)
{
	if (family == 4) {
		memset(ip, 0, 20);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + l4len));
		put16(ip + 4, 0x4321);
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, src->b, 4);
		memcpy(ip + 16, dst->b, 4);
		put16(ip + 10, pkt_fold(pkt_sum16(ip, 20, 0)));
		return 20;
	}
	memset(ip, 0, 40);
	ip[0] = 0x60;
	put16(ip + 4, (uint16_t)l4len);
	ip[6] = proto;
	ip[7] = 64;
	memcpy(ip + 8, src->b, 16);
	memcpy(ip + 24, dst->b, 16);
	return 40;
}

static uint16_t icmp_sum(int family, const uint8_t *ip, const uint8_t *icmp, size_t len)
{
	uint32_t s = 0;

	if (family == 6) {
		s = pkt_sum16(ip + 8, 32, 0);
		s += IPPROTO_ICMPV6 + (uint32_t)len;
	}
	return pkt_fold(pkt_sum16(icmp, len, s));
}

size_t pkt_icmp_error(uint8_t *buf, int family, const char *src, const char *dst, uint8_t type,
		      uint8_t code, uint32_t info, const uint8_t *quoted, size_t quoted_len,
		      size_t keep)
{
	union cb_addr sa = pkt_addr(family, src), da = pkt_addr(family, dst);
	const uint8_t *inner = quoted + ETH_LEN;
	size_t inner_len = quoted_len - ETH_LEN, hl, icmp_len;
	uint8_t *icmp;

	if (keep && keep < inner_len)
		inner_len = keep;
	memset(buf, 0, PKT_MAX);
	memcpy(buf, quoted, 12);                   /* the same MAC addresses */
	put16(buf + 12, family == 4 ? ETH_P_IP : ETH_P_IPV6);
	icmp_len = 8 + inner_len;
	hl = ip_header(buf + ETH_LEN, family, &sa, &da,
		       family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, icmp_len);
	icmp = buf + ETH_LEN + hl;
	icmp[0] = type;
	icmp[1] = code;
	icmp[4] = (uint8_t)(info >> 24);
	icmp[5] = (uint8_t)(info >> 16);
	icmp[6] = (uint8_t)(info >> 8);
	icmp[7] = (uint8_t)info;
	memcpy(icmp + 8, inner, inner_len);
	put16(icmp + 2, icmp_sum(family, buf + ETH_LEN, icmp, icmp_len));
	return ETH_LEN + hl + icmp_len;
}

int pkt_icmp_check(const uint8_t *buf, size_t len, struct pkt_icmp_view *v)
{
	const uint8_t *ip = buf + ETH_LEN, *icmp, *in;
	size_t hl, icmp_len, in_hl;
	uint8_t frame[PKT_MAX];

	memset(v, 0, sizeof(*v));
	if (len < ETH_LEN + 40)
		return -2;
	if (get16(buf + 12) == ETH_P_IP) {
		v->family = 4;
		hl = (size_t)(ip[0] & 0xf) * 4;
		if (ip[9] != IPPROTO_ICMP || pkt_fold(pkt_sum16(ip, hl, 0)))
			return -1;
		icmp_len = get16(ip + 2) - hl;
		memcpy(v->saddr.b, ip + 12, 4);
		memcpy(v->daddr.b, ip + 16, 4);
	} else {
		v->family = 6;
		hl = 40;
		if (ip[6] != IPPROTO_ICMPV6)
			return -2;
		icmp_len = get16(ip + 4);
		memcpy(v->saddr.b, ip + 8, 16);
		memcpy(v->daddr.b, ip + 24, 16);
	}
	if (ETH_LEN + hl + icmp_len > len || icmp_len < 8 + (v->family == 4 ? 28 : 48))
		return -2;
	icmp = ip + hl;
	v->type = icmp[0];
	if (icmp_sum(v->family, ip, icmp, icmp_len))
		return -1;
	/* The quoted packet. */
	in = icmp + 8;
	if (v->family == 4) {
		in_hl = (size_t)(in[0] & 0xf) * 4;
		if (pkt_fold(pkt_sum16(in, in_hl, 0)))
			return -1;
		memcpy(v->in_saddr.b, in + 12, 4);
		memcpy(v->in_daddr.b, in + 16, 4);
	} else {
		in_hl = 40;
		memcpy(v->in_saddr.b, in + 8, 16);
		memcpy(v->in_daddr.b, in + 24, 16);
	}
	v->in_sport = get16(in + in_hl);
	v->in_dport = get16(in + in_hl + 2);
	/* Quoted whole: its own L4 checksum must hold too (pkt_check on it as a frame). */
	v->whole = (size_t)(v->family == 4 ? get16(in + 2) : 40 + get16(in + 4)) == icmp_len - 8;
	if (!v->whole)
		return 0;
	memcpy(frame, buf, ETH_LEN);
	memcpy(frame + ETH_LEN, in, icmp_len - 8);
	return pkt_check(frame, ETH_LEN + icmp_len - 8, &v->in) == 0 ? 0 : -1;
}

size_t pkt_fragment(uint8_t *out, const uint8_t *whole, size_t len, int family, uint16_t id,
		    size_t split, int part)
{
	const uint8_t *ip = whole + ETH_LEN;
	size_t hl = family == 4 ? 20 : 40, l4len = len - ETH_LEN - hl, from, n;
	uint8_t *oip = out + ETH_LEN, *data;

	from = part ? split : 0;
	n = part ? l4len - split : split;
	memset(out, 0, PKT_MAX);
	memcpy(out, whole, ETH_LEN + hl);
	if (family == 4) {
		put16(oip + 2, (uint16_t)(hl + n));
		put16(oip + 4, id);
		put16(oip + 6, (uint16_t)((part ? 0 : 0x2000) | (from / 8)));
		put16(oip + 10, 0);
		put16(oip + 10, pkt_fold(pkt_sum16(oip, hl, 0)));
		data = oip + hl;
	} else {
		uint8_t *fh = oip + 40;

		oip[6] = IPPROTO_FRAGMENT;
		put16(oip + 4, (uint16_t)(8 + n));
		memset(fh, 0, 8);
		fh[0] = ip[6];
		put16(fh + 2, (uint16_t)((from / 8) << 3 | (part ? 0 : 1)));
		put16(fh + 6, id);
		data = fh + 8;
	}
	memcpy(data, ip + hl + from, n);
	return (size_t)(data - out) + n;
}

size_t pkt_reassemble(uint8_t *out, const uint8_t *first, size_t first_len, const uint8_t *rest,
		      size_t rest_len, int family)
{
	size_t hl = family == 4 ? 20 : 48, n1 = first_len - ETH_LEN - hl, n2 = rest_len - ETH_LEN - hl;
	uint8_t *ip = out + ETH_LEN;

	memset(out, 0, PKT_MAX);
	memcpy(out, first, ETH_LEN + (family == 4 ? 20 : 40));
	if (family == 4) {
		put16(ip + 2, (uint16_t)(20 + n1 + n2));
		put16(ip + 6, 0);
		put16(ip + 10, 0);
		put16(ip + 10, pkt_fold(pkt_sum16(ip, 20, 0)));
		memcpy(ip + 20, first + ETH_LEN + 20, n1);
		memcpy(ip + 20 + n1, rest + ETH_LEN + 20, n2);
		return ETH_LEN + 20 + n1 + n2;
	}
	ip[6] = first[ETH_LEN + 40];              /* the fragment header's next header */
	put16(ip + 4, (uint16_t)(n1 + n2));
	memcpy(ip + 40, first + ETH_LEN + 48, n1);
	memcpy(ip + 40 + n1, rest + ETH_LEN + 48, n2);
	return ETH_LEN + 40 + n1 + n2;
}
