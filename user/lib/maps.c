// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The map registry of maps.h: names, descriptors, wiring from an object. */
#include "maps.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

const char *const cb_map_names[CB_NMAPS] = {
#define CB_MAP_NAME(n) [CB_MAP_##n] = "cb_" #n,
	CB_MAPS(CB_MAP_NAME)
#undef CB_MAP_NAME
};

static const size_t map_off[CB_NMAPS] = {
#define CB_MAP_OFF(n) [CB_MAP_##n] = offsetof(struct cb_maps, n),
	CB_MAPS(CB_MAP_OFF)
#undef CB_MAP_OFF
};

int *cb_map_fd(struct cb_maps *m, enum cb_map_id i)
{
	return (int *)((char *)m + map_off[i]);
}

void cb_maps_init(struct cb_maps *m)
{
	for (int i = 0; i < CB_NMAPS; i++)
		*cb_map_fd(m, (enum cb_map_id)i) = -1;
}

int cb_map_known(const char *name)
{
	static const char *const private_maps[] = {
#define CB_PRIVATE_NAME(n) "cb_" #n,
		CB_PRIVATE_MAPS(CB_PRIVATE_NAME)
#undef CB_PRIVATE_NAME
	};

	for (int i = 0; i < CB_NMAPS; i++)
		if (!strcmp(name, cb_map_names[i]))
			return 1;
	for (size_t i = 0; i < sizeof(private_maps) / sizeof(private_maps[0]); i++)
		if (!strcmp(name, private_maps[i]))
			return 1;
	return 0;
}

int cb_maps_of_object(const struct bpf_object *obj, struct cb_maps *m)
{
	cb_maps_init(m);
	for (int i = 0; i < CB_NMAPS; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, cb_map_names[i]);

		if (!map)
			return -ENOENT;
		*cb_map_fd(m, (enum cb_map_id)i) = bpf_map__fd(map);
	}
	return 0;
}
