/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Attach and detach the datapath: shared by the attach/detach verbs and the agent. */
#ifndef CB_ATTACH_H
#define CB_ATTACH_H

#include <stdint.h>
#include "iface.h"
#include "pinned.h"

enum cb_mode { CB_MODE_XDP, CB_MODE_XDP_GENERIC, CB_MODE_TC, CB_MODE_NONE };
extern const char *const cb_mode_names[];   /* "xdp", "xdp-generic", "tc", "none" */
/* "xdp", "xdp-generic" or "tc"; -1 with err "'S' is not xdp, xdp-generic or tc". */
int cb_mode_parse(const char *s, enum cb_mode *m, struct cb_err *err);

/* How l is attached now (CB_MODE_NONE: not by us). */
enum cb_mode cb_attach_mode(const struct cb_state *st, const struct cb_link *l);
/* 0, or -errno with err saying what failed and what to try. Nothing is left half-attached. */
int cb_attach(struct cb_state *st, const struct cb_link *l, enum cb_mode m, struct cb_err *err);
/* -ENOENT when ifname was not attached; the interface itself may be gone. */
int cb_detach(struct cb_state *st, const char *ifname, struct cb_err *err);

/* Our tc filter's program on a hook of ifindex (0: none); replacing it is atomic (tc's replace). */
uint32_t cb_tc_prog_id(int ifindex, int egress);
int cb_tc_replace(int ifindex, int egress, int prog_fd);

#endif
