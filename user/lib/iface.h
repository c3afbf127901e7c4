/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Network interfaces through libnl-route-3 (and the netdev genetlink family). */
#ifndef CB_IFACE_H
#define CB_IFACE_H

#include <net/if.h>
#include "parse.h"

struct cb_link {
	int ifindex;
	int up;
	char name[IF_NAMESIZE];
	char kind[32];       /* "veth", "bridge", ... or "" for a physical device */
};

/* -ENODEV when there is no such interface. */
int cb_link_get(const char *name, struct cb_link *out, struct cb_err *err);

#define CB_XDP_NATIVE   0x1
#define CB_XDP_REDIRECT 0x2  /* can be the target of XDP_REDIRECT */

/* XDP features the driver reports (kernel >= 6.3); -EOPNOTSUPP when it cannot tell. */
int cb_link_xdp_features(int ifindex, unsigned int *features);

#endif
