// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The benchmark's packets: Ethernet + IPv4/IPv6 + TCP with valid checksums,
 * and a reader that recomputes them, so that a rewritten packet is checked
 * from scratch rather than trusted.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "prog.h"

union cb_addr addr_of(int family, const char *text)
{
	union cb_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, text, a.b) != 1) {
		fail("address", "'%s' is not an IPv%d address", text, family);
		exit(1);   /* a literal of this program: a bug, not an input */
	}
	return a;
}

int addr_eq(const union cb_addr *a, const union cb_addr *b)
{
	return !memcmp(a->b, b->b, sizeof(a->b));
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t s)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Sum of the pseudo-header: addresses, protocol, L4 length. */
static uint32_t pseudo_sum(int family, const uint8_t *ip, size_t l4len)
{
	uint32_t s = family == 4 ? sum16(ip + 12, 8, 0) : sum16(ip + 8, 32, 0);

	return s + IPPROTO_TCP + (uint32_t)l4len;
}

size_t pk_build(uint8_t *buf, const struct pk *p)
{
	static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x01 }, smac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	size_t plen = p->payload ? strlen(p->payload) : 0, l3 = ETH_HLEN, l4, l4len = 20 + plen;
	uint8_t *ip = buf + l3, *t;

	memset(buf, 0, PK_MAX);
	memcpy(buf, dmac, 6);
	memcpy(buf + 6, smac, 6);
	put16(buf + 12, p->family == 4 ? ETH_P_IP : ETH_P_IPV6);
	if (p->family == 4) {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + l4len));
		put16(ip + 4, 0x1234);
		ip[8] = p->ttl ? p->ttl : 64;
		ip[9] = IPPROTO_TCP;
		memcpy(ip + 12, p->src.b, 4);
		memcpy(ip + 16, p->dst.b, 4);
		put16(ip + 10, fold(sum16(ip, 20, 0)));
		l4 = l3 + 20;
	} else {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = IPPROTO_TCP;
		ip[7] = p->ttl ? p->ttl : 64;
		memcpy(ip + 8, p->src.b, 16);
		memcpy(ip + 24, p->dst.b, 16);
		l4 = l3 + 40;
	}
	t = buf + l4;
	put16(t, p->sport);
	put16(t + 2, p->dport);
	put32(t + 4, p->seq);
	put32(t + 8, (p->flags & TCP_ACK) ? 1 : 0);
	t[12] = 5 << 4;
	t[13] = p->flags;
	put16(t + 14, 65535);
	if (plen)
		memcpy(t + 20, p->payload, plen);
	put16(t + 16, fold(sum16(t, l4len, pseudo_sum(p->family, ip, l4len))));
	return l4 + l4len;
}

int pk_parse(const uint8_t *buf, size_t len, struct pk_view *v)
{
	const uint8_t *ip = buf + ETH_HLEN, *t;
	uint16_t et;
	size_t l4len;
	int ip_ok = 1;

	memset(v, 0, sizeof(*v));
	if (len < ETH_HLEN + 20 + 20)
		return -1;
	memcpy(v->dmac, buf, 6);
	et = (uint16_t)(buf[12] << 8 | buf[13]);
	if (et == ETH_P_IP && ip[0] == 0x45 && ip[9] == IPPROTO_TCP) {
		size_t tot = (size_t)(ip[2] << 8 | ip[3]);

		if (tot < 40 || ETH_HLEN + tot > len)
			return -1;
		v->family = 4;
		v->ttl = ip[8];
		memcpy(v->src.b, ip + 12, 4);
		memcpy(v->dst.b, ip + 16, 4);
		ip_ok = fold(sum16(ip, 20, 0)) == 0;
		t = ip + 20;
		l4len = tot - 20;
	} else if (et == ETH_P_IPV6 && (ip[0] >> 4) == 6 && ip[6] == IPPROTO_TCP) {
		l4len = (size_t)(ip[4] << 8 | ip[5]);
		if (l4len < 20 || ETH_HLEN + 40 + l4len > len)
			return -1;
		v->family = 6;
		v->ttl = ip[7];
		memcpy(v->src.b, ip + 8, 16);
		memcpy(v->dst.b, ip + 24, 16);
		t = ip + 40;
	} else {
		return -1;
	}
	v->sport = (uint16_t)(t[0] << 8 | t[1]);
	v->dport = (uint16_t)(t[2] << 8 | t[3]);
	/* A valid segment sums to zero with its own checksum field included. */
	v->csum_ok = ip_ok && fold(sum16(t, l4len, pseudo_sum(v->family, ip, l4len))) == 0;
	return 0;
}
