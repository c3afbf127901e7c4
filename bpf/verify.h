/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A SYN is checked before it may create state or count as evidence: its
 * IPv4 header checksum and its TCP checksum must be right. A forged SYN with
 * a wrong checksum would otherwise reach a backend that drops it, and its
 * retransmission would be counted as a failed connect of that backend.
 */
#ifndef CB_BPF_VERIFY_H
#define CB_BPF_VERIFY_H

#include "parse.h"

/* A SYN with its options and a TCP Fast Open payload fits; longer ones are not checked. */
#define CB_SUM_MAX 1536

/*
 * Ones' complement sum (unfolded) of len bytes at off, as 16-bit words read
 * the way they lie (the sum is then in network order too), 0 when they are
 * not all there. One global function per hook: the verifier checks the loop
 * once; the bytes come through the load helpers, in 32-byte steps.
 */
__noinline __u32 cb_sum_xdp(struct xdp_md *ctx, __u32 off, __u32 len)
{
	__u32 sum = 0, i;
	__u8 buf[32];

	if (off > 0xffff || len > CB_SUM_MAX)
		return 0;
	for (i = 0; i < CB_SUM_MAX; i += sizeof(buf)) {
		__u32 n = len - i, k;

		if (i >= len)
			break;
		if (n > sizeof(buf))
			n = sizeof(buf);
		/* 1..32 by arithmetic: older verifiers do not narrow a bound from a branch. */
		n = ((n - 1) & (sizeof(buf) - 1)) + 1;
		__builtin_memset(buf, 0, sizeof(buf));
		if (bpf_xdp_load_bytes(ctx, off + i, buf, n))
			return 0;
		for (k = 0; k < sizeof(buf); k += 2)
			sum += *(__u16 *)&buf[k];
	}
	return sum;
}

__noinline __u32 cb_sum_tc(struct __sk_buff *skb, __u32 off, __u32 len)
{
	__u32 sum = 0, i;
	__u8 buf[32];

	if (off > 0xffff || len > CB_SUM_MAX)
		return 0;
	for (i = 0; i < CB_SUM_MAX; i += sizeof(buf)) {
		__u32 n = len - i, k;

		if (i >= len)
			break;
		if (n > sizeof(buf))
			n = sizeof(buf);
		/* 1..32 by arithmetic: older verifiers do not narrow a bound from a branch. */
		n = ((n - 1) & (sizeof(buf) - 1)) + 1;
		__builtin_memset(buf, 0, sizeof(buf));
		if (bpf_skb_load_bytes(skb, off + i, buf, n))
			return 0;
		for (k = 0; k < sizeof(buf); k += 2)
			sum += *(__u16 *)&buf[k];
	}
	return sum;
}

static __always_inline __u16 cb_fold16(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/*
 * The same for a header of up to 60 bytes in whole 32-bit words, read in
 * place (tc pulled the headers into the linear area): a fifth of the cost
 * of the helpers. Grouping 16-bit words by two changes no ones' complement
 * sum once folded. ~0 when a word is out of reach.
 */
#define CB_SUM_FAST_MAX 60

static __always_inline __u64 cb_sum_words(const struct cb_ctx *c, __u32 off, __u32 len)
{
	__u64 s = 0;

#pragma unroll
	for (__u32 i = 0; i < CB_SUM_FAST_MAX / 4; i++) {
		__u32 *w;

		if (i * 4 >= len)
			break;
		w = cb_xdp_ptr(c, off + i * 4, 4);
		if (!w)
			return ~0ULL;
		s += *w;
	}
	return s;
}

static __always_inline __u32 cb_sum(const struct cb_ctx *c, __u32 off, __u32 len)
{
	return c->xdp ? cb_sum_xdp(c->ctx, off, len) : cb_sum_tc(c->ctx, off, len);
}

static __always_inline int cb_sum_fast(__u32 len)
{
	return len && len <= CB_SUM_FAST_MAX && !(len & 3);
}

/* The pseudo-header sum of a TCP/UDP packet, in network order like the words summed. */
static __always_inline __u64 cb_pseudo_sum(const struct cb_pkt *p)
{
	__u64 s = bpf_htons((__u16)p->proto) + bpf_htons((__u16)p->l4_len);
	const __u16 *a = (const __u16 *)p->saddr.b, *b = (const __u16 *)p->daddr.b;
	int n = p->family == CB_AF_INET ? 2 : 8;

#pragma unroll
	for (int i = 0; i < 8; i++) {
		if (i >= n)
			break;
		s += a[i];
		s += b[i];
	}
	return s;
}

/*
 * 1 if the SYN's checksums hold. On tc a packet from a local socket (a pod
 * behind a veth) may carry CHECKSUM_PARTIAL: its TCP checksum field holds
 * the pseudo-header sum and the kernel completes it on the way out. tc
 * cannot read ip_summed, but a local stack builds every segment with
 * gso_segs >= 1 (tcp_init_nondata_skb), while a frame from a wire has 0
 * (GRO never merges a SYN): only the former may use that form, so a forged
 * SYN from outside cannot pass with it. XDP never sees that form.
 */
static __always_inline int cb_syn_ok(const struct cb_ctx *c, const struct cb_pkt *p)
{
	__u32 hl = p->l4_off - p->l3_off;
	__u16 *check;
	__u64 s;

	__u64 h;

	if (p->l4_len > CB_SUM_MAX)
		return 0;
	if (p->family == CB_AF_INET) {
		h = cb_sum_fast(hl) ? cb_sum_words(c, p->l3_off, hl) : cb_sum(c, p->l3_off, hl);
		if (h == ~0ULL || cb_fold16(h) != 0xffff)
			return 0;
	}
	s = cb_pseudo_sum(p);
	h = cb_sum_fast(p->l4_len) ? cb_sum_words(c, p->l4_off, p->l4_len) :
				      cb_sum(c, p->l4_off, p->l4_len);
	if (h != ~0ULL && cb_fold16(s + h) == 0xffff)
		return 1;
	if (c->xdp || p->l4_off > CB_MAX_OFF || !((struct __sk_buff *)c->ctx)->gso_segs)
		return 0;
	check = cb_data(c) + p->l4_off + offsetof(struct tcphdr, check);
	if ((void *)(check + 1) > cb_data_end(c))
		return 0;
	return *check == cb_fold16(s);
}

#endif
