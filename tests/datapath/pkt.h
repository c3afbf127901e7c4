/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Crafting test packets, and checking rewritten ones from scratch. */
#ifndef CB_TEST_PKT_H
#define CB_TEST_PKT_H

#include <stddef.h>
#include <stdint.h>
#include "canary_bpf.h"

#define PKT_MAX 1600
#define PKT_SEQ 0x01020000u      /* the sequence number of a spec that gives none */

struct pkt_spec {
	int family;              /* 4 or 6 */
	int proto;               /* IPPROTO_TCP/UDP/ICMP/ICMPV6 */
	const char *src, *dst;
	/* Binary addresses, used instead of src/dst when non-NULL. */
	const union cb_addr *src_addr, *dst_addr;
	uint16_t sport, dport;
	uint8_t tcp_flags;       /* default SYN when 0 and proto TCP */
	uint32_t seq;            /* TCP sequence number (0: a fixed default, PKT_SEQ) */
	uint32_t ack;            /* TCP acknowledgement number */
	size_t payload;
	const char *text;        /* payload bytes (overrides payload when set) */
	size_t text_len;         /* 0: strlen(text) */
	int vlans;               /* 0..2 802.1Q tags */
	int ip_opts;             /* IPv4 option bytes, multiple of 4, <= 40 */
	uint8_t ext[4];          /* IPv6 extension headers, in order */
	int n_ext;
	uint8_t routing_segleft; /* segments left of a routing header */
	int v4_frag;             /* 1: MF set, 2: offset != 0 */
	uint8_t ttl;             /* default 64 */
	int udp_zero_csum;       /* IPv4 UDP without checksum */
};

struct pkt_view {
	int family, proto;
	union cb_addr saddr, daddr;
	uint16_t sport, dport;   /* host order */
	uint8_t tcp_flags, ttl;
	uint8_t dmac[6];         /* Ethernet destination */
	size_t l3_off, l4_off;
	uint16_t udp_csum;
};

/* Internet checksum: add len bytes at p as 16-bit big-endian words to s; fold and invert. */
uint32_t pkt_sum16(const uint8_t *p, size_t len, uint32_t s);
uint16_t pkt_fold(uint32_t s);

/* Build a packet with valid checksums; returns its length. */
size_t pkt_build(uint8_t *buf, const struct pkt_spec *s);

/*
 * Parse a TCP/UDP packet built by pkt_build (possibly rewritten), recomputing
 * the IPv4 header and L4 checksums from scratch. Returns 0 when both are
 * valid, -1 when a checksum is wrong, -2 when the packet cannot be parsed.
 */
int pkt_check(const uint8_t *buf, size_t len, struct pkt_view *v);

/* Parse a textual address into the map layout. */
union cb_addr pkt_addr(int family, const char *s);
int pkt_addr_eq(const union cb_addr *a, const union cb_addr *b);

#endif
