/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Every map of the datapath. Layouts live in include/canary_bpf.h. */
#ifndef CB_BPF_MAPS_H
#define CB_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "canary_bpf.h"
#include "canary_params.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cb_meta);
} cb_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CB_MAX_SERVICES);
	__type(key, struct cb_svc_key);
	__type(value, struct cb_service);
} cb_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CB_MAX_SERVICES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cb_name);
	__type(value, struct cb_svc_key);
} cb_names SEC(".maps");

/* The agent's rollouts and the CLI's requests to it: never read by the datapath. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CB_MAX_SERVICES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cb_name);
	__type(value, struct cb_rollout);
} cb_rollouts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cb_name);
	__type(value, struct cb_ctl);
} cb_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct cb_backend);
} cb_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CB_MAX_SERVICES * CB_TRACKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cb_members_key);
	__type(value, struct cb_members);
} cb_members SEC(".maps");

/* Inner Maglev tables differ in size per service, hence BPF_F_INNER_MAP. */
struct cb_maglev_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, CB_MAX_TABLES);
	__type(key, struct cb_tbl_key);
	__array(values, struct cb_maglev_table);
} cb_maglev SEC(".maps");

/*
 * Conntrack in two budgets. cb_ct/cb_rev hold only flows that proved their
 * source: a TCP handshake whose final ACK acknowledged the backend's SYN-ACK,
 * which a spoofer never saw. Everything else (a SYN's flow, UDP) lives in
 * cb_pend, one element per flow (cb_pend_rev only for backend addresses that
 * several services share), so a flood of forged packets can churn only
 * those. Sizes are set when the state is created (struct cb_meta).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CB_CT_ENTRIES);
	__type(key, struct cb_ct_key);
	__type(value, struct cb_ct_entry);
} cb_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CB_CT_ENTRIES);
	__type(key, struct cb_ct_key);
	__type(value, struct cb_rev_entry);
} cb_rev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CB_CT_ENTRIES / 2);
	__type(key, struct cb_ct_key);
	__type(value, struct cb_pend_entry);
} cb_pend SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CB_CT_ENTRIES / 2);
	__type(key, struct cb_ct_key);      /* reply tuple */
	__type(value, struct cb_ct_key);    /* its pending flow's key in cb_pend */
} cb_pend_rev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * CB_MAX_BACKENDS);   /* room for retired addresses */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cb_baddr_key);
	__type(value, struct cb_baddr_val);
} cb_baddr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CB_FRAG_ENTRIES);
	__type(key, struct cb_frag_key);
	__type(value, struct cb_frag_val);
} cb_frag SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, CB_OVERRIDES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cb_ovr4_key);
	__type(value, struct cb_ovr_val);
} cb_ovr4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, CB_OVERRIDES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cb_ovr6_key);
	__type(value, struct cb_ovr_val);
} cb_ovr6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CB_MAX_SERVICES * CB_TRACKS);
	__type(key, __u32);
	__type(value, struct cb_track_stats);
} cb_stats SEC(".maps");

/* Created by user space with each service: memory follows the services that exist. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, CB_MAX_SERVICES * CB_TRACKS * CB_HISTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct cb_hist);
} cb_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CB_G_MAX);
	__type(key, __u32);
	__type(value, __u64);
} cb_global SEC(".maps");

/* Interfaces that accept XDP_REDIRECT frames (they run an XDP program). */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} cb_tx_ports SEC(".maps");

/*
 * Per-CPU scratch for the entries a new flow writes: the core's locals and
 * spills fill the 512-byte stack (and 6.1's verifier adds 32 bytes for each
 * global function called). A per-CPU array lookup is a few inlined
 * instructions; no other program on this CPU runs between its use and the
 * map update that copies it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cb_pend_entry);   /* ct and rev: a new flow's two halves */
} cb_scratch SEC(".maps");

static __always_inline struct cb_pend_entry *cb_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cb_scratch, &zero);
}

static __always_inline void cb_count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&cb_global, &idx);

	if (v)
		*v += 1;
}

static __always_inline struct cb_track_stats *cb_track_stats(__u32 svc_id, __u32 track)
{
	__u32 idx = cb_stats_idx(svc_id, track);

	return bpf_map_lookup_elem(&cb_stats, &idx);
}

#endif
