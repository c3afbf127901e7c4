/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Packet specs, the builder and a lenient locator for the mutators (dp_build.c). */
#ifndef CB_DP_GEN_H
#define CB_DP_GEN_H

#include "dp_fuzz.h"

struct fz_spec {
	int family, proto;                /* proto: TCP, UDP, ICMP or ICMPv6 */
	union cb_addr src, dst;
	uint16_t sport, dport;            /* host order */
	uint8_t flags, ttl;
	uint32_t seq, ack;
	uint8_t dmac[6], smac[6];
	int ntags;                        /* 0..3 */
	uint16_t tpid[3];
	uint8_t ipopt[40];                /* IPv4 options, a multiple of 4 */
	size_t ipopt_len;
	uint8_t ext[720];                 /* IPv6 extension headers, laid out */
	size_t next_ext;                  /* their length */
	uint8_t ext_type[8];
	int n_ext;
	uint8_t tcpopt[40];               /* a multiple of 4 */
	size_t tcpopt_len;
	uint8_t payload[400];
	size_t plen;
	int udp_zero;                     /* UDP without checksum */
	/* ICMP errors: type (0: an echo request instead), code, the 32-bit info field; payload quoted */
	uint8_t icmp_type, icmp_code;
	uint32_t icmp_info;
	/*
	 * Fragments: 1 the first (offset 0, more to come), 2 a later one at
	 * frag_off bytes (its payload raw bytes: no L4 header is written).
	 * IPv6: a fragment header is added after the extension headers.
	 */
	int frag;
	uint32_t frag_id;
	uint16_t frag_off;
};

/* Where the headers seem to be, for mutators: tolerant of anything. */
struct fz_loc {
	size_t et_off;                    /* the ethertype the IP header follows */
	int have_l3, have_l4;
	int family, proto;
	size_t l3, l4;
	size_t nh_off;                    /* IPv6: the last next-header byte of the chain */
	size_t ttl_off;
};

/* Lay out s with valid lengths and checksums; returns the frame length. */
size_t fz_build(const struct fz_spec *s, uint8_t *buf);
void fz_locate(const uint8_t *p, size_t len, struct fz_loc *l);
/* Ones' complement sum (folded, not inverted) of a UDP datagram without its checksum field. */
uint16_t fz_udp_presum(const uint8_t *p, size_t len);

#endif
