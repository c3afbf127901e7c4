/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef CB_TESTS_H
#define CB_TESTS_H

#include "harness.h"

/* The service most tests use: 4 stable backends and 1 canary, port 8080. */
extern const char *const STABLE4[4], *const CANARY4[1], *const STABLE6[4], *const CANARY6[1];
#define VIP4 "10.96.0.10"
#define VIP6 "fd00:96::10"
#define BPORT 8080

void std_service(struct lab *l, struct svc *s, int family, int proto, int affinity);
/* Spec of a client packet to the standard service. */
struct pkt_spec client_pkt(int family, int proto, const char *src, uint16_t sport, uint8_t flags);
/* A client packet through hook h, asserted NATed with valid checksums; returns its track. */
int send_track(struct lab *l, enum hook h, int family, int proto, const char *src,
	       uint16_t sport, uint8_t flags, struct run_out *o);
/* Track (0 stable, 1 canary) whose backend received o, or -1. */
int landed_track(const struct run_out *o, int family);
/*
 * A connection opened whole: the client's SYN through hook h (o: its output),
 * the backend's SYN-ACK (sequence TEST_BACKEND_ISN) reverse-NATed on tc
 * egress, the client's ACK of it. TCP flows are then verified (in cb_ct);
 * for UDP only the first packet is sent. Returns the SYN's track.
 */
#define TEST_BACKEND_ISN 0x50000000u
int open_flow(struct lab *l, enum hook h, int family, int proto, const char *src,
	      uint16_t sport, struct run_out *o);
/* 1 if the flow is in cb_ct (verified), 0 if not. */
int flow_verified(struct lab *l, int family, int proto, const char *src, uint16_t sport);
/* Client address number i as text (10.x.y.z or fd00:1::x:y). */
const char *client_addr(int family, uint32_t i, char *buf);

#define FOR_HOOKS_IN(h) for (enum hook h = HOOK_XDP; h <= HOOK_TC_IN; h++)

#define TESTS_BASIC(X) \
	X(test_spec1_non_service_traffic_untouched) \
	X(test_spec2_weight_picks_track) \
	X(test_spec2_override_longest_prefix_wins) \
	X(test_spec2_empty_track_sends_share_to_other) \
	X(test_spec2_no_backend_drops_and_counts) \
	X(test_spec3_established_keeps_backend_across_weight_and_override) \
	X(test_spec3_established_survives_program_reload) \
	X(test_spec3_removed_backend_reselects_only_its_flows) \
	X(test_spec3_promotion_keeps_canary_connections) \
	X(test_spec4_dnat_and_reverse_nat_checksums) \
	X(test_spec4_udp_zero_checksum_stays_zero) \
	X(test_spec8_per_track_counters) \
	X(test_ct_tcp_fin_rst_shorten_life) \
	X(test_ct_udp_idle_expiry) \
	X(test_ct_syn_after_close_is_new_connection) \
	X(test_ct_retried_connect_counts_once) \
	X(test_spec9_updates_are_atomic_for_packets) \
	X(test_state_rejects_bad_requests_changing_nothing) \
	X(test_state_pending_service_passes_until_published) \
	X(test_state_refuses_other_layout_version) \
	X(test_state_map_registry_matches_object) \
	X(test_state_service_ids_unique_across_batches) \
	X(test_state_rollback_keeps_canary_off_overrides_too) \
	X(test_state_promotion_swaps_tracks_moving_nothing)

#define TESTS_SPLIT(X) \
	X(test_spec5_split_accuracy_100k_flows) \
	X(test_stickiness_10k_flows_100_weight_changes) \
	X(test_spec6_client_affinity_monotone) \
	X(test_maglev_fair_share_64_backends) \
	X(test_maglev_removal_moves_few_flows)

#define TESTS_MALFORMED(X) \
	X(test_spec7_truncated_headers_pass_untouched) \
	X(test_spec7_lying_length_fields_pass_untouched) \
	X(test_spec7_bad_ihl_passes_untouched) \
	X(test_spec7_ipv4_options_are_natted) \
	X(test_spec7_ipv4_source_route_passes) \
	X(test_spec7_ipv6_extension_headers) \
	X(test_spec7_vlan_tags_are_natted) \
	X(test_spec7_fragments_pass_and_count) \
	X(test_spec7_icmp_and_non_ip_pass_untouched) \
	X(test_spec7_zero_length_payloads) \
	X(test_spec7_deep_l4_header_passes_untouched)

#define TESTS_SIGNALS(X) \
	X(test_signal_http_status_classes) \
	X(test_signal_status_never_wrong) \
	X(test_signal_connect_latency_and_ttfb) \
	X(test_signal_connect_failures) \
	X(test_signal_retransmit_keeps_ttfb_clock) \
	X(test_signal_interim_response_waits_for_final_status) \
	X(test_signal_retried_connect_starts_over) \
	X(test_signal_time_wait_answer_restarts_connect) \
	X(test_signal_deleted_service_leaves_no_flows)

#define TESTS_FORWARD(X) \
	X(test_forward_fib_redirect) \
	X(test_forward_stack_fallback) \
	X(test_forward_next_hop_cache)

#define TESTS_HOSTILE(X) \
	X(test_hostile_flood_cannot_move_established) \
	X(test_hostile_forged_packets_feed_no_evidence) \
	X(test_hostile_partial_checksum_only_from_local_stack) \
	X(test_hostile_ack_must_match_synack) \
	X(test_hostile_seeds_per_installation_shared_by_file) \
	X(test_hostile_shared_backend_reverse_collision) \
	X(test_hostile_udp_reply_refreshes_flow) \
	X(test_pend_one_element_through_address_states) \
	X(test_icmp_errors_translated_both_ways) \
	X(test_icmp_ttl1_never_reveals_backend) \
	X(test_frag_follow_first_both_ways)

#define DECLARE_TEST(name) void name(void **state);
TESTS_BASIC(DECLARE_TEST)
TESTS_SPLIT(DECLARE_TEST)
TESTS_MALFORMED(DECLARE_TEST)
TESTS_SIGNALS(DECLARE_TEST)
TESTS_FORWARD(DECLARE_TEST)
TESTS_HOSTILE(DECLARE_TEST)

/* Namespace plumbing for the forwarding tests (the binary runs in its own netns). */
int fwd_env_setup(void);
extern unsigned int fwd_if_client, fwd_if_backend;

#endif
