/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A small HTTP server (libmicrohttpd) driven from the caller's epoll loop:
 * no thread of its own, so the handler may read anything the loop owns, and
 * a loop that hangs stops answering /healthz, which is what liveness wants.
 *
 * Only GET and HEAD are served; anything else gets 405. No client can keep
 * another from an answer: slots are plentiful and capped per client address,
 * every request has a deadline (slow senders are cut), and the one heavy
 * path (shared_path, /metrics) is rendered at most once a second for all
 * its clients, with at most two renders alive however slowly they read.
 */
#ifndef CB_HTTP_H
#define CB_HTTP_H

#include <stdint.h>
#include "expo.h"
#include "parse.h"

struct cb_http;

/*
 * Answer a GET of path: fill body, set *ctype (a static string) and return
 * the status code. Called from cb_http_run(), on the loop's thread.
 */
typedef unsigned int (*cb_http_handler)(void *arg, const char *path, struct cb_buf *body,
					const char **ctype);

/* Listen on addr (port 0: any free port). 0 or a negative errno, with err set. */
int cb_http_start(struct cb_http **out, const struct cb_endpoint *addr, cb_http_handler fn,
		  void *arg, const char *shared_path, struct cb_err *err);
/* Connections cut at their deadline so far. */
uint64_t cb_http_cut_total(const struct cb_http *h);
/* The fd to watch for EPOLLIN (an epoll fd of the server's own). */
int cb_http_fd(const struct cb_http *h);
/* The port actually bound (host order). */
uint16_t cb_http_port(const struct cb_http *h);
/*
 * Serve whatever is ready; call it whenever the fd is readable and at least
 * every cb_http_timeout_ms() milliseconds.
 */
void cb_http_run(struct cb_http *h);
/* Milliseconds until cb_http_run() is due without fd activity; -1: none. */
int cb_http_timeout_ms(struct cb_http *h);
void cb_http_stop(struct cb_http *h);

#endif
