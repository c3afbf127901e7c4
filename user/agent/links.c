// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Link events: a configured interface that is deleted and created again
 * (a veth re-made by the CNI, a NIC re-probed) takes its XDP attachment
 * with it. The agent listens to rtnetlink's link group and re-attaches on
 * the next tick, instead of at the next resync seconds later.
 */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <string.h>

#include "agent.h"
#include "log.h"

static int configured(const struct agent *a, const char *name)
{
	for (size_t i = 0; i < a->cfg.nifaces; i++)
		if (!strcmp(a->cfg.ifaces[i].name, name))
			return 1;
	return 0;
}

static int on_link_msg(struct nl_msg *msg, void *arg)
{
	struct agent *a = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[IFLA_MAX + 1];

	if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK)
		return NL_OK;
	if (nlmsg_parse(h, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) || !tb[IFLA_IFNAME])
		return NL_OK;
	if (configured(a, nla_get_string(tb[IFLA_IFNAME]))) {
		/* Our own attach is a NEWLINK too: re-applying then finds nothing to do. */
		a->links_changed = 1;
		a->kick = 1;
	}
	return NL_OK;
}

int agent_links_open(struct agent *a, int *fd)
{
	int e;

	a->nl = nl_socket_alloc();
	if (!a->nl)
		return -ENOMEM;
	/* Notifications carry no sequence numbers of ours. */
	nl_socket_disable_seq_check(a->nl);
	e = nl_socket_modify_cb(a->nl, NL_CB_VALID, NL_CB_CUSTOM, on_link_msg, a);
	if (!e)
		e = nl_connect(a->nl, NETLINK_ROUTE);
	if (!e)
		e = nl_socket_add_membership(a->nl, RTNLGRP_LINK);
	if (!e)
		e = nl_socket_set_nonblocking(a->nl);
	if (e) {
		cb_log(CB_LOG_ERROR, NULL, "links", "rtnetlink: %s", nl_geterror(e));
		nl_socket_free(a->nl);
		a->nl = NULL;
		return -EIO;
	}
	*fd = nl_socket_get_fd(a->nl);
	return 0;
}

void agent_links_event(struct agent *a)
{
	int e;

	while ((e = nl_recvmsgs_default(a->nl)) >= 0)
		;
	if (e == -NLE_AGAIN)
		return;
	/* The socket overflowed (a burst of link changes): events were lost, look at all. */
	if (e == -NLE_NOMEM)
		cb_log(CB_LOG_WARN, NULL, "links", "rtnetlink events lost: checking every interface");
	else
		cb_log(CB_LOG_WARN, NULL, "links", "rtnetlink: %s", nl_geterror(e));
	a->links_changed = 1;
	a->kick = 1;
}

void agent_links_close(struct agent *a)
{
	if (a->nl)
		nl_socket_free(a->nl);
	a->nl = NULL;
}
