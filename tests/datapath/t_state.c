// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The state library (user/lib) against real maps. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "tests.h"

void test_state_rejects_bad_requests_changing_nothing(void **state)
{
	struct lab *l = *state;
	struct svc s, ghost;
	struct cb_service before, after;
	struct cb_endpoint dup[2] = { ep(4, "10.0.9.1", 80), ep(4, "10.0.9.1", 80) };
	struct cb_endpoint v6 = ep(6, "fd00::1", 80), net6 = ep(6, "fd00::", 0);
	struct cb_endpoint got[8];
	size_t n = 8;
	uint32_t id;

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	weight_set(l, &s, 1234);
	assert_int_equal(cb_svc_get(&l->maps, &s.key, &before), 0);

	assert_int_equal(cb_svc_add(&l->maps, &s.key, CB_AFFINITY_CLIENT, 0, 0, &id), -EEXIST);
	assert_int_equal(cb_svc_add(&l->maps, &s.key, 7, 0, 0, &id), -EINVAL);
	assert_int_equal(cb_svc_add(&l->maps, &s.key, 0, 4096, 0, &id), -EINVAL);
	assert_int_equal(cb_weight_set(&l->maps, &s.key, 10001), -ERANGE);
	assert_int_equal(cb_track_set(&l->maps, &s.key, CB_TRACK_STABLE, dup, 2), -ENOTUNIQ);
	assert_int_equal(cb_track_set(&l->maps, &s.key, CB_TRACK_STABLE, &v6, 1), -EAFNOSUPPORT);
	assert_int_equal(cb_track_set(&l->maps, &s.key, 2, dup, 1), -EINVAL);
	assert_int_equal(cb_override_add(&l->maps, &s.key, &net6, 8, CB_TRACK_CANARY), -EAFNOSUPPORT);
	assert_int_equal(cb_override_add(&l->maps, &s.key, &dup[0], 33, CB_TRACK_CANARY), -EINVAL);

	struct cb_endpoint gv = ep(4, "10.96.0.99", 80);

	cb_svc_key_make(&ghost.key, &gv, IPPROTO_TCP);
	assert_int_equal(cb_weight_set(&l->maps, &ghost.key, 5), -ENOENT);
	assert_int_equal(cb_track_set(&l->maps, &ghost.key, 0, dup, 1), -ENOENT);
	assert_int_equal(cb_svc_del(&l->maps, &ghost.key), -ENOENT);

	/* nothing changed: the record, the backend sets, the overrides flag */
	assert_int_equal(cb_svc_get(&l->maps, &s.key, &after), 0);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(cb_track_get(&l->maps, &s.key, CB_TRACK_STABLE, got, &n), 0);
	assert_int_equal(n, 4);
	/* a deleted service is plain traffic again, and its id is reused with zeroed counters */
	struct run_out o;

	send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.1", 1000, 0x02, &o);
	assert_int_equal(cb_svc_del(&l->maps, &s.key), 0);
	struct pkt_spec p = client_pkt(4, IPPROTO_TCP, "10.9.0.1", 1001, 0x02);

	run_spec(l, HOOK_XDP, &p, &o);
	assert_int_equal(o.verdict, V_PASS);
	assert_string_equal(VIP4, inet_ntop(AF_INET, o.v.daddr.b, (char[64]){ 0 }, 64));
	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	assert_int_equal(track_stats(l, &s, 0).packets + track_stats(l, &s, 1).packets, 0);
}

void test_state_refuses_other_layout_version(void **state)
{
	struct lab *l = *state;
	struct cb_meta meta = { .layout_version = CB_LAYOUT_VERSION + 1 };
	uint32_t zero = 0, found = 0;

	assert_int_equal(cb_meta_check(&l->maps, &found), 0);
	assert_int_equal(found, CB_LAYOUT_VERSION);
	assert_int_equal(bpf_map_update_elem(l->maps.meta, &zero, &meta, BPF_ANY), 0);
	assert_int_equal(cb_meta_check(&l->maps, &found), -EPROTO);
	assert_int_equal(found, CB_LAYOUT_VERSION + 1);
	/* and initialising does not overwrite somebody else's layout */
	assert_int_equal(cb_meta_init(&l->maps), -EPROTO);
}

/*
 * The registry of user/lib/maps.h and the maps of bpf/maps.h are the same
 * list: every map of the object is shared state or a private one of the
 * programs, and every shared map has a descriptor in the lab.
 */
void test_state_map_registry_matches_object(void **state)
{
	struct lab *l = *state;
	struct bpf_map *map;
	struct cb_maps m;
	int shared = 0;

	bpf_object__for_each_map(map, l->skel->obj) {
		if (bpf_map__is_internal(map))
			continue;   /* .rodata, .bss: the object's own */
		assert_true(cb_map_known(bpf_map__name(map)));
		for (int i = 0; i < CB_NMAPS; i++)
			shared += !strcmp(bpf_map__name(map), cb_map_names[i]);
	}
	assert_int_equal(shared, CB_NMAPS);
	assert_int_equal(cb_maps_of_object(l->skel->obj, &m), 0);
	for (int i = 0; i < CB_NMAPS; i++) {
		assert_true(*cb_map_fd(&m, (enum cb_map_id)i) >= 0);
		assert_int_equal(*cb_map_fd(&m, (enum cb_map_id)i), *cb_map_fd(&l->maps, (enum cb_map_id)i));
	}
	assert_false(cb_map_known("cb_no_such_map"));
}

/* Service ids come from a batched walk of the services map: check past one batch. */
void test_state_service_ids_unique_across_batches(void **state)
{
	struct lab *l = *state;
	static uint8_t seen[CB_MAX_SERVICES];
	struct svc s;
	char vip[32];

	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < 600; i++) {
		snprintf(vip, sizeof(vip), "10.97.%d.%d", i / 250, 1 + i % 250);
		svc_add(l, &s, 4, vip, 80, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
		assert_true(s.id < CB_MAX_SERVICES);
		assert_false(seen[s.id]);
		seen[s.id] = 1;
	}
	/* a freed id is handed out again (lowest free first) */
	struct cb_endpoint v = ep(4, "10.97.0.1", 80);
	struct cb_service rec;

	cb_svc_key_make(&s.key, &v, IPPROTO_TCP);
	assert_int_equal(cb_svc_get(&l->maps, &s.key, &rec), 0);
	assert_int_equal(cb_svc_del(&l->maps, &s.key), 0);
	svc_add(l, &s, 4, "10.97.9.9", 80, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	assert_int_equal(s.id, rec.id);
}

/* Rollback (cb_canary_off): no new connection to canary, overrides included; weight set lifts it. */
void test_state_rollback_keeps_canary_off_overrides_too(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct run_out o;
	struct cb_endpoint beta = ep(4, "10.1.0.0", 0);
	char a[64];
	int canary = 0, refused = 0;

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	assert_int_equal(cb_override_add(&l->maps, &s.key, &beta, 16, CB_TRACK_CANARY), 0);
	weight_set(l, &s, 5000);
	/* a canary connection opened before the rollback, and one the canary never answered */
	for (uint32_t i = 0; !refused && i < 128; i++)
		if (send_track(l, HOOK_XDP, 4, IPPROTO_TCP, client_addr(4, i, a), 5000, 0x02, &o) ==
		    CB_TRACK_CANARY) {
			if (canary)
				refused = (int)i + 1;
			else
				canary = (int)i + 1;
		}
	assert_true(refused);
	assert_int_equal(cb_canary_off(&l->maps, &s.key), 0);
	/*
	 * The same SYN again (a retried connect, or a new one on a reused port)
	 * is a connection attempt: after the rollback it goes to stable, or a
	 * refusing canary would go on refusing through port reuse.
	 */
	assert_int_equal(send_track(l, HOOK_XDP, 4, IPPROTO_TCP, client_addr(4, (uint32_t)refused - 1, a),
				    5000, 0x02, &o), CB_TRACK_STABLE);
	assert_int_equal(send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.1.1.5", 5001, 0x02, &o),
			 CB_TRACK_STABLE);
	for (uint32_t i = 100; i < 150; i++)
		assert_int_equal(send_track(l, HOOK_XDP, 4, IPPROTO_TCP, client_addr(4, i, a), 5002, 0x02,
					    &o), CB_TRACK_STABLE);
	/* ... while the canary connection drains on its backend */
	send_track(l, HOOK_XDP, 4, IPPROTO_TCP, client_addr(4, (uint32_t)canary - 1, a), 5000, 0x10, &o);
	assert_int_equal(landed_track(&o, 4), CB_TRACK_CANARY);
	/* an explicit weight is an operator's decision: overrides count again */
	weight_set(l, &s, 0);
	assert_int_equal(send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.1.1.6", 5003, 0x02, &o),
			 CB_TRACK_CANARY);
}

/* cb_track_promote: one swap; connections on either old set stay where they are. */
void test_state_promotion_swaps_tracks_moving_nothing(void **state)
{
	struct lab *l = *state;
	struct svc s;
	struct run_out o;
	struct cb_endpoint got[8];
	size_t n = 8;
	char a[64];
	int track[64];
	uint64_t before;

	std_service(l, &s, 4, IPPROTO_TCP, CB_AFFINITY_CONNECTION);
	weight_set(l, &s, 5000);
	for (uint32_t i = 0; i < 64; i++)
		track[i] = open_flow(l, HOOK_XDP, 4, IPPROTO_TCP, client_addr(4, i, a), 6000, &o);
	assert_int_equal(cb_track_promote(&l->maps, &s.key), 0);
	/* both old sets' connections keep their backends */
	for (uint32_t i = 0; i < 64; i++) {
		send_track(l, HOOK_XDP, 4, IPPROTO_TCP, client_addr(4, i, a), 6000, 0x10, &o);
		assert_int_equal(landed_track(&o, 4), track[i]);
	}
	assert_int_equal(global_count(l, CB_G_CT_RESELECT), 0);
	/* new connections all go to the promoted backend (the c1 address), counted as stable */
	before = track_stats(l, &s, CB_TRACK_STABLE).connections;
	for (uint32_t i = 100; i < 150; i++)
		assert_int_equal(open_flow(l, HOOK_XDP, 4, IPPROTO_TCP, client_addr(4, i, a), 6001,
					   &o), CB_TRACK_CANARY);
	assert_int_equal(track_stats(l, &s, CB_TRACK_STABLE).connections, before + 50);
	assert_int_equal(cb_track_get(&l->maps, &s.key, CB_TRACK_STABLE, got, &n), 0);
	assert_int_equal(n, 1);
	n = 8;
	assert_int_equal(cb_track_get(&l->maps, &s.key, CB_TRACK_CANARY, got, &n), 0);
	assert_int_equal(n, 4);   /* the old stable set, draining */
}

/*
 * A pending service (the agent filling its tracks) is not served: its
 * packets pass untouched and nothing is dropped; once published, the same
 * record is served in full.
 */
void test_state_pending_service_passes_until_published(void **state)
{
	struct lab *l = *state;
	struct cb_endpoint v = ep(4, VIP4, 80);
	struct cb_service rec;
	struct run_out o;
	struct svc s = { .family = 4 };

	cb_svc_key_make(&s.key, &v, IPPROTO_TCP);
	assert_int_equal(cb_svc_add(&l->maps, &s.key, CB_AFFINITY_CONNECTION, 0, CB_SVC_F_NO_CANARY,
				    &s.id), -EINVAL);
	assert_int_equal(cb_svc_add(&l->maps, &s.key, CB_AFFINITY_CONNECTION, 0, CB_SVC_F_PENDING,
				    &s.id), 0);
	FOR_HOOKS_IN(h) {
		struct pkt_spec p = client_pkt(4, IPPROTO_TCP, "10.9.0.1", 1000, 0x02);

		run_spec(l, h, &p, &o);
		assert_int_equal(o.verdict, V_PASS);
		assert_string_equal(VIP4, inet_ntop(AF_INET, o.v.daddr.b, (char[64]){ 0 }, 64));
	}
	/* filling the tracks keeps it pending */
	track_set(l, &s, CB_TRACK_STABLE, STABLE4, BPORT, 4);
	weight_set(l, &s, 5000);
	send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.2", 1000, 0x02, &o);
	assert_string_equal(VIP4, inet_ntop(AF_INET, o.v.daddr.b, (char[64]){ 0 }, 64));
	assert_int_equal(track_stats(l, &s, 0).drops + track_stats(l, &s, 1).drops, 0);
	assert_int_equal(track_stats(l, &s, 0).packets, 0);

	assert_int_equal(cb_svc_publish(&l->maps, &s.key), 0);
	assert_int_equal(cb_svc_get(&l->maps, &s.key, &rec), 0);
	assert_int_equal(rec.flags & CB_SVC_F_PENDING, 0);
	assert_int_equal(rec.weight_bp, 5000);
	assert_int_equal(send_track(l, HOOK_XDP, 4, IPPROTO_TCP, "10.9.0.3", 1000, 0x02, &o),
			 CB_TRACK_STABLE);
	assert_int_equal(cb_svc_publish(&l->maps, &s.key), 0);   /* served already: nothing to do */
}
