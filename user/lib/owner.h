/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One agent per pin path. The agent holds an exclusive flock(2) on the pin
 * path's maps/ directory for as long as it runs (the kernel lets go when it
 * dies, however it dies); the pin path itself is the short-lived lock every
 * writer takes around a change. Who holds it is read from /proc/locks, so
 * that asking never takes the lock an agent starting this instant wants.
 */
#ifndef CB_OWNER_H
#define CB_OWNER_H

#include <sys/types.h>
#include "base.h"

struct cb_owner {
	pid_t pid;
	char cmd[160];              /* its command line, spaces between the arguments */
};

/* 1 and *o: an agent runs on pin; 0: none; negative errno when it cannot be told. */
int cb_owner_find(const char *pin, struct cb_owner *o);

/* Become the pin path's agent: *fd holds the lock (close-on-exec). -EBUSY names the running one. */
int cb_owner_take(const char *pin, int *fd, struct cb_err *err);

#endif
