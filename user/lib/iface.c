// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "iface.h"

#include <errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <stdio.h>
#include <string.h>

int cb_link_get(const char *name, struct cb_link *out, struct cb_err *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *link = NULL;
	const char *kind;
	int e;

	memset(out, 0, sizeof(*out));
	if (!sk) {
		snprintf(err->msg, sizeof(err->msg), "netlink: out of memory");
		return -ENOMEM;
	}
	e = nl_connect(sk, NETLINK_ROUTE);
	if (e) {
		snprintf(err->msg, sizeof(err->msg), "netlink: %s", nl_geterror(e));
		nl_socket_free(sk);
		return -EIO;
	}
	e = rtnl_link_get_kernel(sk, 0, name, &link);
	if (e) {
		if (e == -NLE_OBJ_NOTFOUND || e == -NLE_NODEV) {
			snprintf(err->msg, sizeof(err->msg), "no interface named '%s' here", name);
			e = -ENODEV;
		} else {
			snprintf(err->msg, sizeof(err->msg), "netlink: %s", nl_geterror(e));
			e = -EIO;
		}
		nl_socket_free(sk);
		return e;
	}
	out->ifindex = rtnl_link_get_ifindex(link);
	out->up = !!(rtnl_link_get_flags(link) & IFF_UP);
	snprintf(out->name, sizeof(out->name), "%s", rtnl_link_get_name(link));
	kind = rtnl_link_get_type(link);
	snprintf(out->kind, sizeof(out->kind), "%s", kind ? kind : "");
	rtnl_link_put(link);
	nl_socket_free(sk);
	return 0;
}

/* include/uapi/linux/netdev.h (6.3); Debian 12's headers predate it. */
#define NETDEV_FAMILY_NAME       "netdev"
#define NETDEV_CMD_DEV_GET       1
#define NETDEV_A_DEV_IFINDEX     1
#define NETDEV_A_DEV_XDP_FEATURES 3
#define NETDEV_XDP_ACT_BASIC     (1ULL << 0)
#define NETDEV_XDP_ACT_REDIRECT  (1ULL << 1)
#define NETDEV_XDP_ACT_NDO_XMIT  (1ULL << 2)

static int on_dev(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[NETDEV_A_DEV_XDP_FEATURES + 1];
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	uint64_t *feat = arg;

	if (nla_parse(tb, NETDEV_A_DEV_XDP_FEATURES, genlmsg_attrdata(gh, 0),
		      genlmsg_attrlen(gh, 0), NULL) == 0 && tb[NETDEV_A_DEV_XDP_FEATURES])
		*feat = nla_get_u64(tb[NETDEV_A_DEV_XDP_FEATURES]);
	return NL_OK;
}

int cb_link_xdp_features(int ifindex, unsigned int *features)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_msg *msg = NULL;
	uint64_t feat = UINT64_MAX;
	int family, e = -EOPNOTSUPP;

	if (!sk)
		return -ENOMEM;
	if (genl_connect(sk))
		goto out;
	family = genl_ctrl_resolve(sk, NETDEV_FAMILY_NAME);
	if (family < 0)
		goto out;
	msg = nlmsg_alloc();
	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
				 NETDEV_CMD_DEV_GET, 1) ||
	    nla_put_u32(msg, NETDEV_A_DEV_IFINDEX, (uint32_t)ifindex) ||
	    nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_dev, &feat) ||
	    nl_send_auto(sk, msg) < 0 || nl_recvmsgs_default(sk) < 0 || feat == UINT64_MAX)
		goto out;
	*features = ((feat & NETDEV_XDP_ACT_BASIC) ? CB_XDP_NATIVE : 0) |
		    ((feat & NETDEV_XDP_ACT_NDO_XMIT) ? CB_XDP_REDIRECT : 0);
	e = 0;
out:
	nlmsg_free(msg);
	nl_socket_free(sk);
	return e;
}
