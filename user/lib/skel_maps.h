/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The library's map descriptors from a loaded datapath skeleton.
 *
 * canary.skel.h is generated into the build directory: only programs built
 * after the skeleton (the tests and the benchmarks) may include this header,
 * never the library itself.
 */
#ifndef CB_SKEL_MAPS_H
#define CB_SKEL_MAPS_H

#include <bpf/libbpf.h>

#include "canary.skel.h"
#include "dpstate.h"

/* The maps of a loaded skeleton, wired by the registry (maps.h). */
static inline struct cb_maps cb_maps_of_skel(const struct canary *s)
{
	struct cb_maps m;

	cb_maps_of_object(s->obj, &m);
	return m;
}

#endif
