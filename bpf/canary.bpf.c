// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Thin entry points around the one datapath core (core.h):
 *   cb_xdp_ingress  XDP on ingress (native or generic)
 *   cb_tc_ingress   tc clsact ingress, for devices where XDP cannot run
 *   cb_tc_egress    tc clsact egress, reverse NAT of replies
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "core.h"

/*
 * CB_NEXT_BUILD: test builds only (build/next/canary-bpf), the same programs
 * with one instruction more, so that the upgrade test has a build to move to.
 */
#ifdef CB_NEXT_BUILD
#define CB_MARK() asm volatile("r0 = 0" ::: "r0")
#else
#define CB_MARK() do { } while (0)
#endif

/* Headers the tc hook must see in the linear area before the core parses them. */
#define CB_PULL_LEN 256

SEC("xdp")
int cb_xdp_ingress(struct xdp_md *ctx)
{
	struct cb_ctx c = {
		.ctx = ctx, .xdp = 1, .egress = 0, .ifindex = ctx->ingress_ifindex,
		.len = ctx->data_end - ctx->data,
	};

	CB_MARK();
	switch (cb_process(&c)) {
	case CB_ACT_DROP:
		return XDP_DROP;
	case CB_ACT_REDIRECT:
		return XDP_REDIRECT;
	default:
		return XDP_PASS;
	}
}

static __always_inline int cb_tc(struct __sk_buff *skb, int egress)
{
	struct cb_ctx c = {
		.ctx = skb, .xdp = 0, .egress = egress, .vlan_hw = !!skb->vlan_present,
		.ifindex = skb->ifindex, .len = skb->len,
	};
	__u32 linear = skb->data_end - skb->data;

	CB_MARK();
	if (linear < CB_PULL_LEN && linear < skb->len)
		bpf_skb_pull_data(skb, skb->len < CB_PULL_LEN ? skb->len : CB_PULL_LEN);

	switch (cb_process(&c)) {
	case CB_ACT_DROP:
		return TC_ACT_SHOT;
	case CB_ACT_REDIRECT:
		return TC_ACT_REDIRECT;
	default:
		return TC_ACT_OK;
	}
}

SEC("tc")
int cb_tc_ingress(struct __sk_buff *skb)
{
	return cb_tc(skb, 0);
}

SEC("tc")
int cb_tc_egress(struct __sk_buff *skb)
{
	return cb_tc(skb, 1);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
