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

/*
 * An ICMP error (ICMPv6 for family 6) from src to dst, type/code with its
 * 32-bit info field (next-hop MTU), quoting the IP packet of the frame
 * quoted[] (as pkt_build makes it): keep bytes of it (0: all). Returns its length.
 */
size_t pkt_icmp_error(uint8_t *buf, int family, const char *src, const char *dst, uint8_t type,
		      uint8_t code, uint32_t info, const uint8_t *quoted, size_t quoted_len,
		      size_t keep);

struct pkt_icmp_view {
	int family, type;
	union cb_addr saddr, daddr;          /* outer */
	union cb_addr in_saddr, in_daddr;    /* quoted */
	uint16_t in_sport, in_dport;
	int whole;                           /* the quoted packet is complete (in: its view) */
	struct pkt_view in;
};

/*
 * Check an ICMP error from scratch: outer IPv4 header checksum, the ICMP
 * checksum (ICMPv6: with its pseudo-header), the quoted IPv4 header's and,
 * when quoted whole, the quoted TCP/UDP checksum. 0 valid, -1 a checksum
 * is wrong, -2 not an ICMP error we can read.
 */
int pkt_icmp_check(const uint8_t *buf, size_t len, struct pkt_icmp_view *v);

/*
 * Fragment part 0 (offset 0, more to come) or 1 (the rest) of the datagram
 * in whole[] (pkt_build's, without VLAN, options or extension headers),
 * split after split bytes of its L4 part (a multiple of 8), IP id id.
 */
size_t pkt_fragment(uint8_t *out, const uint8_t *whole, size_t len, int family, uint16_t id,
		    size_t split, int part);
/* The datagram of two such fragments (as rewritten), headed by the first's header. */
size_t pkt_reassemble(uint8_t *out, const uint8_t *first, size_t first_len, const uint8_t *rest,
		      size_t rest_len, int family);

/* Parse a textual address into the map layout. */
union cb_addr pkt_addr(int family, const char *s);
int pkt_addr_eq(const union cb_addr *a, const union cb_addr *b);

#endif
