/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The only place that knows whether the packet is an xdp_md or an __sk_buff.
 * The core reads headers through plain pointers (both hooks allow that) and
 * changes bytes only through these helpers: XDP writes directly and updates
 * checksums by arithmetic; tc must use the skb helpers so that skb->csum and
 * CHECKSUM_PARTIAL offloads stay right.
 */
#ifndef CB_BPF_CTX_H
#define CB_BPF_CTX_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

/* Upper bound for header offsets, so the verifier can bound packet pointers. */
#define CB_MAX_OFF 511

struct cb_ctx {
	void *ctx;
	__u8 xdp;      /* constant per entry point: lets the compiler drop the other hook */
	__u8 egress;
	__u8 vlan_hw;  /* tc: the driver took the 802.1Q tag out of the frame */
	__u32 ifindex;
	__u32 len;     /* whole packet length (skb may be non-linear) */
};

#define CB_CSUM_L3        0x1   /* IPv4 header checksum */
#define CB_CSUM_PSEUDO    0x2   /* change is in the L4 pseudo-header */
#define CB_CSUM_MANGLED0  0x4   /* UDP: 0 means "none"; a computed 0 is sent as 0xffff */

/*
 * The core is split into BPF-to-BPF calls (each its own stack frame: no
 * single frame could hold every path's locals), one copy per kind of hook,
 * so that each still knows at compile time which hook it serves and holds
 * no call the other's verifier would refuse. CB_SUBPROG(fn) defines fn_xdp
 * and fn_tc around `static __always_inline int fn(const struct cb_ctx *c,
 * struct cb_pctx *x)`; CB_CALL(fn, c, x) calls the one of c's hook.
 */
#define CB_SUBPROG(fn)                                                              \
	static __noinline int fn##_xdp(struct xdp_md *ctx, struct cb_pctx *x)      \
	{                                                                           \
		const struct cb_ctx c = {                                           \
			.ctx = ctx, .xdp = 1, .egress = 0,                           \
			.ifindex = x->ifindex, .len = x->len,                       \
		};                                                                  \
		return fn(&c, x);                                                   \
	}                                                                           \
	static __noinline int fn##_tc(struct __sk_buff *ctx, struct cb_pctx *x)    \
	{                                                                           \
		const struct cb_ctx c = {                                           \
			.ctx = ctx, .xdp = 0, .egress = x->egress,                  \
			.vlan_hw = x->vlan_hw, .ifindex = x->ifindex,               \
			.len = x->len,                                              \
		};                                                                  \
		return fn(&c, x);                                                   \
	}

#define CB_CALL(fn, c, x) ((c)->xdp ? fn##_xdp((c)->ctx, (x)) : fn##_tc((c)->ctx, (x)))

static __always_inline void *cb_data(const struct cb_ctx *c)
{
	if (c->xdp)
		return (void *)(long)((struct xdp_md *)c->ctx)->data;
	return (void *)(long)((struct __sk_buff *)c->ctx)->data;
}

static __always_inline void *cb_data_end(const struct cb_ctx *c)
{
	if (c->xdp)
		return (void *)(long)((struct xdp_md *)c->ctx)->data_end;
	return (void *)(long)((struct __sk_buff *)c->ctx)->data_end;
}

/* Pointer to len bytes at off in an XDP frame, or NULL. */
static __always_inline void *cb_xdp_ptr(const struct cb_ctx *c, __u32 off, __u32 len)
{
	void *data = cb_data(c), *end = cb_data_end(c);
	void *p;

	if (off > CB_MAX_OFF)
		return NULL;
	/*
	 * Under register pressure clang may add a copy of off made before the
	 * check, or reload it from the stack, which older verifiers (6.1) do not
	 * tie to the checked load: the mask bounds whichever copy is added.
	 */
	asm volatile("" : "+r"(off));
	p = data + (off & CB_MAX_OFF);
	if (p + len > end)
		return NULL;
	return p;
}

static __always_inline __u16 cb_csum_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* Apply a cb_csum_diff() result to the 16-bit checksum at off (RFC 1624). */
static __always_inline int cb_csum_apply(const struct cb_ctx *c, __u32 off, __u32 diff,
					 __u32 flags)
{
	if (c->xdp) {
		__u16 *f = cb_xdp_ptr(c, off, 2);
		__u16 r;

		if (!f)
			return -1;
		if ((flags & CB_CSUM_MANGLED0) && *f == 0)
			return 0;
		r = cb_csum_fold((__u64)diff + (__u32)~(__u32)*f);
		if ((flags & CB_CSUM_MANGLED0) && r == 0)
			r = 0xffff;
		*f = r;
		return 0;
	}
	if (flags & CB_CSUM_L3)
		return bpf_l3_csum_replace(c->ctx, off, 0, diff, 0);
	return bpf_l4_csum_replace(c->ctx, off, 0, diff,
				   ((flags & CB_CSUM_PSEUDO) ? BPF_F_PSEUDO_HDR : 0) |
				   ((flags & CB_CSUM_MANGLED0) ? BPF_F_MARK_MANGLED_0 : 0));
}

/*
 * The bytes of a store are covered by CHECKSUM_COMPLETE's skb->csum, and no
 * checksum field in the same range moves by the opposite amount: tc must
 * fold the change into skb->csum (an IPv6 address, a port behind a UDP
 * checksum of 0).
 */
#define CB_STORE_RECOMPUTE 0x1

/* Store len (1, 2, 4, 6 or 16: always a constant) bytes at off. */
static __always_inline int cb_store(const struct cb_ctx *c, __u32 off, const void *from,
				    const __u32 len, __u32 flags)
{
	if (c->xdp) {
		void *p = cb_xdp_ptr(c, off, len);

		if (!p)
			return -1;
		__builtin_memcpy(p, from, len);
		return 0;
	}
	return bpf_skb_store_bytes(c->ctx, off, from, len,
				   (flags & CB_STORE_RECOMPUTE) ? BPF_F_RECOMPUTE_CSUM : 0);
}

#endif
