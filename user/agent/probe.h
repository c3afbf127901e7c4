/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Backend health probes for the rollout agent's single-threaded epoll loop,
 * so nothing here may block: a probe owns one non-blocking socket, says which
 * events it waits for, and moves on when the loop calls it back. Numeric
 * addresses only: a health check that waits for DNS would stall the loop.
 *
 * Loop contract:
 *   r = cb_probe_start(...); if PENDING, EPOLL_CTL_ADD p->fd for p->events
 *   on readiness of p->fd, or once now >= p->deadline_ms:
 *     old = p->events; r = cb_probe_step(p, now);
 *     PENDING and p->events != old -> EPOLL_CTL_MOD
 *     OK / FAIL -> the fd is already closed, which drops it from the epoll
 *                  set (no dup of it is ever made); do not EPOLL_CTL_DEL it
 */
#ifndef CB_PROBE_H
#define CB_PROBE_H

#include <stdint.h>
#include "base.h"

/* What a health check does; CB_CHECK_NONE (the config without health_check) probes nothing. */
enum cb_check { CB_CHECK_NONE = 0, CB_CHECK_TCP = 1, CB_CHECK_HTTP = 2 };
enum cb_probe_res { CB_PROBE_PENDING = 0, CB_PROBE_OK = 1, CB_PROBE_FAIL = 2 };

/* Private to probe.c; 0 so that a zeroed probe is idle and safe to cancel. */
enum cb_probe_phase {
	CB_PROBE_PH_IDLE = 0,
	CB_PROBE_PH_CONNECT,
	CB_PROBE_PH_SEND,
	CB_PROBE_PH_STATUS,   /* waiting for a status line */
	CB_PROBE_PH_INTERIM,  /* skipping the header block of a 1xx reply */
};

#define CB_PROBE_PATH_MAX 256   /* longest HTTP path accepted, without the NUL */
#define CB_PROBE_REQ_LEN  512   /* fits the request for the longest path and an IPv6 Host */
#define CB_PROBE_BUF_LEN  512   /* one status line; longer ones are refused */
#define CB_PROBE_WHY_LEN  128

struct cb_probe {
	int fd;                    /* -1 when idle */
	uint32_t events;           /* EPOLLIN / EPOLLOUT the probe waits for */
	enum cb_check kind;
	struct cb_endpoint ep;
	uint64_t deadline_ms;      /* CLOCK_MONOTONIC ms */

	/* private */
	enum cb_probe_phase phase;
	enum cb_probe_res res;     /* the final result, repeated by a late step */
	uint64_t timeout_ms;
	uint32_t got;              /* reply bytes read, bounded against 1xx floods */
	uint16_t req_len, req_off;
	uint16_t buf_len;
	uint16_t hdr_len;          /* length of the current 1xx header line */
	uint8_t interim;           /* 1xx replies seen */
	char req[CB_PROBE_REQ_LEN];
	char buf[CB_PROBE_BUF_LEN];

	char why[CB_PROBE_WHY_LEN]; /* failure reason: "connect: Connection refused", "timeout after 1000 ms", "HTTP 503", ... */
};

/* An idle probe (fd -1); a zeroed one is idle as well, apart from the fd field. */
void cb_probe_init(struct cb_probe *p);

/*
 * Start a probe (path only for HTTP; NULL or "" means "/"). Returns
 * CB_PROBE_PENDING with fd/events set, or a final result right away (e.g.
 * socket() failed -> FAIL with why). p must not be running: cancel it first.
 */
enum cb_probe_res cb_probe_start(struct cb_probe *p, enum cb_check kind,
				 const struct cb_endpoint *ep, const char *path,
				 uint64_t now_ms, uint64_t timeout_ms);
/*
 * The fd is ready (or the loop woke up for a timer): make progress. May change
 * p->events (caller re-arms epoll with EPOLL_CTL_MOD when it changed). Returns
 * FAIL when now_ms >= deadline_ms, even if an answer is waiting. Closes the fd
 * on OK/FAIL. On a finished probe it returns the final result again.
 */
enum cb_probe_res cb_probe_step(struct cb_probe *p, uint64_t now_ms);
/* Close if open; the probe is idle (FAIL, "cancelled") afterwards. */
void cb_probe_cancel(struct cb_probe *p);

/*
 * Up/down with hysteresis. A zeroed state is down, so a new backend must
 * pass healthy_after probes first; set up = 1 to start it up instead.
 */
struct cb_health_state {
	int up;                    /* current state */
	unsigned int ok_run, fail_run;
	char last_why[128];        /* latest failure; cleared when it comes back up */
};
/*
 * Feed a result; returns 1 when `up` changed. unhealthy_after consecutive
 * failures take it down, healthy_after consecutive successes bring it up
 * (a threshold of 0 counts as 1). PENDING is not a result and is ignored.
 */
int cb_health_feed(struct cb_health_state *s, enum cb_probe_res r, const char *why,
		   unsigned int unhealthy_after, unsigned int healthy_after);

#endif
