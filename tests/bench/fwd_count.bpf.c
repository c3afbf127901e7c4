// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* tests/bench/fwd.sh (built by fwd_traffic.sh at run time): count and drop.
 * Slots: 0 every frame at the backend, 1 IPv4 to a backend (10.244.2.0/24),
 * 2 IPv4 to a VIP (10.96.0.0/12), 3 anything else, 4..7 per backend
 * 10.244.2.2..5, 8 frames the node-side XDP reference dropped. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 9);
	__type(key, __u32);
	__type(value, __u64);
} cnt SEC(".maps");

static __always_inline void bump(__u32 i)
{
	__u64 *v = bpf_map_lookup_elem(&cnt, &i);

	if (v)
		*v += 1;
}

static __always_inline void classify(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 d;

	bump(0);
	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) {
		bump(3);
		return;
	}
	d = bpf_ntohl(ip->daddr);
	if ((d & 0xffffff00) == 0x0af40200) {
		bump(1);
		if ((d & 0xff) >= 2 && (d & 0xff) <= 5)
			bump(4 + (d & 0xff) - 2);
	} else if ((d & 0xfff00000) == 0x0a600000) {
		bump(2);
	} else {
		bump(3);
	}
}

SEC("tc")
int sink(struct __sk_buff *skb)
{
	classify((void *)(long)skb->data, (void *)(long)skb->data_end);
	return TC_ACT_SHOT;
}

SEC("xdp")
int drop(struct xdp_md *ctx)
{
	bump(8);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
