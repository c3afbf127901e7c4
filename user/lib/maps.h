/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one list of the datapath's maps (bpf/maps.h defines them). The struct
 * of descriptors, the pin names (maps/cb_NAME) and the wiring from a loaded
 * BPF object all come from CB_MAPS, so adding a map is one line here and
 * its definition there; a datapath test checks that the two lists agree.
 *
 * cb_meta comes first: it is opened and checked before the others, and
 * pinned last (its pin says the state is complete).
 */
#ifndef CB_MAPS_H
#define CB_MAPS_H

#define CB_MAPS(X)                                                            \
	X(meta) X(names) X(services) X(members) X(backends) X(maglev) X(ct)   \
	X(rev) X(pend) X(pend_rev) X(frag) X(baddr) X(ovr4) X(ovr6) X(stats) X(hist)   \
	X(global) X(tx_ports) X(rollouts) X(ctl)

/* Maps of the object that are not shared state: never pinned, never opened. */
#define CB_PRIVATE_MAPS(X) X(scratch) X(pctx)

struct cb_maps {
#define CB_MAP_FIELD(n) int n;
	CB_MAPS(CB_MAP_FIELD)
#undef CB_MAP_FIELD
};

enum cb_map_id {
#define CB_MAP_ID(n) CB_MAP_##n,
	CB_MAPS(CB_MAP_ID)
#undef CB_MAP_ID
	CB_NMAPS,
};

/* "cb_meta", "cb_names", ...: the map's name in the object and under maps/. */
extern const char *const cb_map_names[CB_NMAPS];

/* The descriptor of map i in m. */
int *cb_map_fd(struct cb_maps *m, enum cb_map_id i);
/* Every descriptor -1 (nothing open). */
void cb_maps_init(struct cb_maps *m);
/* 1 if name (as in the object, "cb_ct") is shared state or a private map of CB_PRIVATE_MAPS. */
int cb_map_known(const char *name);

struct bpf_object;
/* Descriptors of a loaded object's maps (owned by the object); -ENOENT if one is missing. */
int cb_maps_of_object(const struct bpf_object *obj, struct cb_maps *m);

#endif
