/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The pinned state under the pin path: maps in maps/, programs in progs/,
 * XDP links in links/. Created on first use (mode 0700 dirs, 0600 objects),
 * refused when its layout version is not ours, locked while a verb changes it.
 */
#ifndef CB_PINNED_H
#define CB_PINNED_H

#include <limits.h>
#include <stdint.h>
#include "dpstate.h"
#include "parse.h"

#define CB_PIN_DEFAULT "/sys/fs/bpf/canary-bpf"

struct cb_state {
	char pin[PATH_MAX - 128];   /* room for "/links/xdp-IFNAME" within PATH_MAX */
	struct cb_maps maps;
	int lock_fd;
};

enum cb_prog {
	CB_PROG_XDP,
	CB_PROG_TC_IN,
	CB_PROG_TC_OUT,
	CB_PROGS,
};

#define CB_STATE_CREATE 0x1   /* make the state when there is none (implies LOCK) */
#define CB_STATE_LOCK   0x2   /* hold an exclusive lock until close: verbs that change it */

/* Choices that are made once, when the state is created. */
struct cb_state_opts {
	uint32_t ct_entries;   /* verified flows (cb_ct, cb_rev); pending ones get half. 0: for the node */
};

/*
 * Open the state at pin. Returns 0, or -errno with err filled (-ENOENT: no
 * state and no CB_STATE_CREATE, -EPROTO: another layout version, -EEXIST:
 * opts ask for what the existing state was created without).
 */
int cb_state_open(const char *pin, int flags, struct cb_state *st, struct cb_err *err);
int cb_state_open_opts(const char *pin, int flags, const struct cb_state_opts *opts,
		       struct cb_state *st, struct cb_err *err);
/* The conntrack size for this node: 0.25 % of its memory, within CB_CT_ENTRIES..MAX. */
uint32_t cb_ct_entries_default(void);
void cb_state_close(struct cb_state *st);
/* For a long-lived process (the agent): hold the lock only while changing state. */
int cb_state_lock(struct cb_state *st, struct cb_err *err);
void cb_state_unlock(struct cb_state *st);
/* "cb_xdp_ingress", ...: the program's name in the object and under progs/. */
const char *cb_prog_name(enum cb_prog p);
/* A pinned program; the caller closes the fd. */
int cb_state_prog(const struct cb_state *st, enum cb_prog p, struct cb_err *err);
/* Path of an object under the pin path, e.g. maps/cb_ct. */
void cb_state_path(const struct cb_state *st, const char *rel, char *buf, size_t len);
/* Pin fd at rel with mode 0600. */
int cb_state_pin(const struct cb_state *st, int fd, const char *rel, struct cb_err *err);

#endif
