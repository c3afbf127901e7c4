/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Bob Jenkins' lookup3 (the kernel's jhash2): fast, well mixed, no tables. */
#ifndef CB_BPF_HASH_H
#define CB_BPF_HASH_H

#include <linux/types.h>

#define CB_JHASH_INITVAL 0xdeadbeef

static __always_inline __u32 cb_rol32(__u32 w, unsigned int s)
{
	return (w << s) | (w >> (32 - s));
}

#define cb_jhash_mix(a, b, c)                                   \
	do {                                                    \
		a -= c; a ^= cb_rol32(c, 4);  c += b;          \
		b -= a; b ^= cb_rol32(a, 6);  a += c;          \
		c -= b; c ^= cb_rol32(b, 8);  b += a;          \
		a -= c; a ^= cb_rol32(c, 16); c += b;          \
		b -= a; b ^= cb_rol32(a, 19); a += c;          \
		c -= b; c ^= cb_rol32(b, 4);  b += a;          \
	} while (0)

#define cb_jhash_final(a, b, c)                                 \
	do {                                                    \
		c ^= b; c -= cb_rol32(b, 14);                   \
		a ^= c; a -= cb_rol32(c, 11);                   \
		b ^= a; b -= cb_rol32(a, 25);                   \
		c ^= b; c -= cb_rol32(b, 16);                   \
		a ^= c; a -= cb_rol32(c, 4);                    \
		b ^= a; b -= cb_rol32(a, 14);                   \
		c ^= b; c -= cb_rol32(b, 24);                   \
	} while (0)

/* Hash of an IPv6-sized address (v4 uses word 0, the rest are zero). */
static __always_inline __u32 cb_hash_addr(const __u32 *w, __u32 seed)
{
	__u32 a, b, c;

	a = b = c = CB_JHASH_INITVAL + (4 << 2) + seed;
	a += w[0]; b += w[1]; c += w[2];
	cb_jhash_mix(a, b, c);
	a += w[3];
	cb_jhash_final(a, b, c);
	return c;
}

/* Hash of a flow: both addresses, both ports, protocol. */
static __always_inline __u32 cb_hash_flow(const __u32 *s, const __u32 *d,
					  __u32 ports, __u32 proto, __u32 seed)
{
	__u32 a, b, c;

	a = b = c = CB_JHASH_INITVAL + (10 << 2) + seed;
	a += s[0]; b += s[1]; c += s[2];
	cb_jhash_mix(a, b, c);
	a += s[3]; b += d[0]; c += d[1];
	cb_jhash_mix(a, b, c);
	a += d[2]; b += d[3]; c += ports;
	cb_jhash_mix(a, b, c);
	a += proto;
	cb_jhash_final(a, b, c);
	return c;
}

#endif
