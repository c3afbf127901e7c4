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

static inline struct cb_maps cb_maps_of_skel(const struct canary *s)
{
	return (struct cb_maps){
		.meta = bpf_map__fd(s->maps.cb_meta),
		.names = bpf_map__fd(s->maps.cb_names),
		.services = bpf_map__fd(s->maps.cb_services),
		.members = bpf_map__fd(s->maps.cb_members),
		.backends = bpf_map__fd(s->maps.cb_backends),
		.maglev = bpf_map__fd(s->maps.cb_maglev),
		.ct = bpf_map__fd(s->maps.cb_ct),
		.rev = bpf_map__fd(s->maps.cb_rev),
		.ovr4 = bpf_map__fd(s->maps.cb_ovr4),
		.ovr6 = bpf_map__fd(s->maps.cb_ovr6),
		.stats = bpf_map__fd(s->maps.cb_stats),
		.hist = bpf_map__fd(s->maps.cb_hist),
		.global = bpf_map__fd(s->maps.cb_global),
		.tx_ports = bpf_map__fd(s->maps.cb_tx_ports),
		.rollouts = bpf_map__fd(s->maps.cb_rollouts),
		.ctl = bpf_map__fd(s->maps.cb_ctl),
	};
}

#endif
