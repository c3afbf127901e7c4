/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The datapath's BPF object, embedded in the binary once (skel.c is the only
 * file that includes the generated skeleton): opened from memory for the
 * first load of the pinned state and for 'canary-bpf -V'.
 */
#ifndef CB_SKEL_H
#define CB_SKEL_H

#include <stdint.h>
#include "base.h"

struct bpf_object;

/* The embedded object, opened (not loaded): 0, or -errno with err set. Close with bpf_object__close. */
int cb_dp_open(struct bpf_object **obj, struct cb_err *err);

/*
 * The identity of the embedded programs: a hash of their instructions (two
 * builds of the same programs agree; never 0). It is what cb_meta.prog_id
 * records of the pinned programs.
 */
int cb_dp_build_id(uint64_t *id, struct cb_err *err);

#endif
