/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Timing policy of the datapath, shared with the tests that check it. None
 * of this is layout: changing a value here changes behaviour, not what the
 * pinned maps hold, so it does not bump CB_LAYOUT_VERSION.
 */
#ifndef CANARY_PARAMS_H
#define CANARY_PARAMS_H

/* Conntrack lifetimes (ns). */
#define CB_CT_TCP_LIFETIME    (6ULL * 3600 * 1000000000ULL)
#define CB_CT_CLOSE_LIFETIME  (10ULL * 1000000000ULL)
#define CB_CT_UDP_LIFETIME    (60ULL * 1000000000ULL)
/* Timestamps are refreshed at most this often, to keep the hot path read-only. */
#define CB_CT_REFRESH_NS      (1000000000ULL)
/* A flow's cached next hop is looked up again after this long (a route or neighbour change). */
#define CB_NH_REFRESH_NS      (1000000000ULL)

/* A SYN retransmitted this long after the first one, unanswered, is a failed connect. */
#define CB_SYN_TIMEOUT_NS (900ULL * 1000000ULL)

#endif /* CANARY_PARAMS_H */
