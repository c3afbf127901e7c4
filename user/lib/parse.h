/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Parsers for everything a user types. Each returns 0, or -1 with a short
 * reason in err (what is wrong with the text, for "canary-bpf: WHAT: WHY").
 */
#ifndef CB_PARSE_H
#define CB_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include "base.h"

#define CB_NAME_MAX 63          /* service names: [A-Za-z0-9][A-Za-z0-9._-]* */

/* A service or backend address: unicast, not loopback. port 0 = none given. */
int cb_parse_addr(const char *s, struct cb_endpoint *out, struct cb_err *err);
/* IP[:PORT], [IPv6]:PORT or a bare IPv6 address. */
int cb_parse_endpoint(const char *s, struct cb_endpoint *out, struct cb_err *err);
/* Where to listen: ADDR:PORT or [ADDR6]:PORT, any address (loopback, 0.0.0.0) allowed. */
int cb_parse_listen(const char *s, struct cb_endpoint *out, struct cb_err *err);
int cb_parse_port(const char *s, uint16_t *out, struct cb_err *err);
/* CIDR with no host bits set. */
int cb_parse_cidr(const char *s, struct cb_endpoint *net, unsigned int *len, struct cb_err *err);
/* Percent with at most two decimals, 0..100 -> basis points 0..10000. */
int cb_parse_percent(const char *s, uint32_t *bp, struct cb_err *err);
int cb_parse_name(const char *s, struct cb_err *err);
int cb_parse_track(const char *s, unsigned int *track, struct cb_err *err);
int cb_parse_proto(const char *s, uint8_t *proto, struct cb_err *err);
int cb_parse_affinity(const char *s, uint8_t *affinity, struct cb_err *err);
/* "500ms", "30s", "5m", "1h" -> milliseconds; -1 if it is not a duration. */
int cb_parse_duration(const char *s, uint64_t *ms);

#endif
