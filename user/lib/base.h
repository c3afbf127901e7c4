/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The vocabulary every part of user space shares, and nothing more: exit
 * codes, endpoints, the error convention, formatting, the clock. Parsers,
 * probes and the HTTP server include this without the map library.
 */
#ifndef CB_BASE_H
#define CB_BASE_H

#include <stddef.h>
#include <stdint.h>
#include "canary_bpf.h"

/* SPEC "CLI": 0 success, 1 runtime failure, 2 invalid usage or input. */
#define CB_EXIT_OK      0
#define CB_EXIT_RUNTIME 1
#define CB_EXIT_USAGE   2

/* An address of either family: what the parsers produce and the maps store. */
struct cb_endpoint {
	union cb_addr addr;
	uint16_t port;      /* host order */
	uint8_t family;     /* enum cb_family */
};

/* Order of endpoints by address bytes, then port (qsort comparator). */
int cb_endpoint_cmp(const void *a, const void *b);
/* Same family, address and port. */
int cb_endpoint_eq(const struct cb_endpoint *a, const struct cb_endpoint *b);

/*
 * The error convention: a function that can fail returns 0 or a negative
 * errno and, when it takes one, fills a struct cb_err with the short "what
 * failed and why" that the caller prints as "canary-bpf: WHAT: WHY".
 */
#define CB_ERR_LEN 512

struct cb_err {
	char msg[CB_ERR_LEN];
};

/* Fill err and return code. */
int cb_err_set(struct cb_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "10.0.0.1", "fd00::1"; with port "10.0.0.1:80", "[fd00::1]:80". */
void cb_fmt_addr(const union cb_addr *a, uint8_t family, char *buf, size_t len);
void cb_fmt_endpoint(const struct cb_endpoint *e, char *buf, size_t len);
/* "5", "5.5", "5.25" from basis points. */
void cb_fmt_percent(uint32_t bp, char *buf, size_t len);
const char *cb_track_name(unsigned int track);
const char *cb_proto_name(uint8_t proto);
const char *cb_affinity_name(uint8_t affinity);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t cb_now_ms(void);

/* 64-bit FNV-1a, continued from h (start with CB_FNV1A_INIT). */
#define CB_FNV1A_INIT 0xcbf29ce484222325ULL
uint64_t cb_fnv1a(uint64_t h, const void *data, size_t len);

#endif
