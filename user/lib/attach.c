// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Attaching the datapath to an interface, for the CLI and the agent alike.
 * Ingress runs XDP (a pinned bpf_link, native or generic) or a tc clsact
 * filter; egress always a tc filter for reverse NAT. Links are pinned and tc
 * filters live in the qdisc, so forwarding goes on after the process exits.
 */
#include "attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CB_TC_HANDLE 0xcb
#define CB_TC_PRIO   0xcb

const char *const cb_mode_names[] = { "xdp", "xdp-generic", "tc", "none" };

int cb_mode_parse(const char *s, enum cb_mode *m, struct cb_err *err)
{
	for (int i = 0; i < CB_MODE_NONE; i++)
		if (!strcmp(s, cb_mode_names[i])) {
			*m = (enum cb_mode)i;
			return 0;
		}
	return cb_err_set(err, -1, "'%s' is not xdp, xdp-generic or tc", s);
}

static int tc_attach(int ifindex, enum bpf_tc_attach_point where, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CB_TC_HANDLE, .priority = CB_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int e = bpf_tc_hook_create(&hook);

	if (e && e != -EEXIST)
		return e;
	return bpf_tc_attach(&hook, &opts);
}

static int tc_detach(int ifindex, enum bpf_tc_attach_point where)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CB_TC_HANDLE, .priority = CB_TC_PRIO);
	int e = bpf_tc_detach(&hook, &opts);

	return e == -ENOENT || e == -EINVAL ? 0 : e;
}

static int tc_present(int ifindex, enum bpf_tc_attach_point where)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CB_TC_HANDLE, .priority = CB_TC_PRIO);

	return bpf_tc_query(&hook, &opts) == 0;
}

uint32_t cb_tc_prog_id(int ifindex, int egress)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CB_TC_HANDLE, .priority = CB_TC_PRIO);

	return bpf_tc_query(&hook, &opts) == 0 ? opts.prog_id : 0;
}

int cb_tc_replace(int ifindex, int egress, int prog_fd)
{
	return tc_attach(ifindex, egress ? BPF_TC_EGRESS : BPF_TC_INGRESS, prog_fd);
}

/*
 * Where the XDP link of ifname is pinned. bpffs refuses '.' in names and an
 * interface name cannot hold ':', so dots become colons without collisions.
 */
static void link_rel(const char *ifname, char *rel, size_t len)
{
	snprintf(rel, len, "links/xdp-%s", ifname);
	for (char *p = rel; *p; p++)
		if (*p == '.')
			*p = ':';
}

/* The XDP link pinned for ifname, if it still drives that interface. */
static int xdp_link(const struct cb_state *st, const char *ifname, int ifindex, char *path,
		    size_t len)
{
	struct bpf_link_info info;
	__u32 ilen = sizeof(info);
	char rel[64];
	int fd;

	link_rel(ifname, rel, sizeof(rel));
	cb_state_path(st, rel, path, len);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen) || (int)info.xdp.ifindex != ifindex) {
		close(fd);
		return -1;
	}
	return fd;
}

enum cb_mode cb_attach_mode(const struct cb_state *st, const struct cb_link *l)
{
	char path[PATH_MAX];
	int fd = xdp_link(st, l->name, l->ifindex, path, sizeof(path));
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (fd >= 0) {
		close(fd);
		if (bpf_xdp_query(l->ifindex, 0, &q) == 0 && q.attach_mode == XDP_ATTACHED_SKB)
			return CB_MODE_XDP_GENERIC;
		return CB_MODE_XDP;
	}
	if (tc_present(l->ifindex, BPF_TC_INGRESS))
		return CB_MODE_TC;
	return CB_MODE_NONE;
}

static int xdp_failed(const struct cb_link *l, int e, struct cb_err *err)
{
	unsigned int feat;
	int known = cb_link_xdp_features(l->ifindex, &feat) == 0;

	if (e == -EBUSY || e == -EEXIST)
		return cb_err_set(err, e, "%s already runs another XDP program (remove it, or use "
			    "mode tc)", l->name);
	if (known && !(feat & CB_XDP_NATIVE))
		return cb_err_set(err, e, "the %s driver of %s has no native XDP (it supports generic "
			    "XDP and tc): use mode xdp-generic or tc", l->kind[0] ? l->kind : "",
			    l->name);
	return cb_err_set(err, e, "native XDP on %s failed: %s (driver %s native XDP); try mode "
		    "xdp-generic or tc", l->name, strerror(-e),
		    !known ? "does not say whether it supports" : "reports");
}

/* May ifindex be an XDP_REDIRECT target of the datapath? */
static int redirect_target(const struct cb_link *l, enum cb_mode m)
{
	unsigned int feat;

	if (cb_link_xdp_features(l->ifindex, &feat) == 0)
		return !!(feat & CB_XDP_REDIRECT);
	return m == CB_MODE_XDP;
}

int cb_attach(struct cb_state *st, const struct cb_link *l, enum cb_mode m, struct cb_err *err)
{
	char path[PATH_MAX], rel[64];
	int in = -1, out = -1, lfd = -1, e;

	out = cb_state_prog(st, CB_PROG_TC_OUT, err);
	in = out < 0 ? -1 : cb_state_prog(st, m == CB_MODE_TC ? CB_PROG_TC_IN : CB_PROG_XDP, err);
	if (in < 0 || out < 0) {
		e = in < 0 && out >= 0 ? in : (out < 0 ? out : in);
		goto out;
	}
	if ((e = tc_attach(l->ifindex, BPF_TC_EGRESS, out))) {
		e = cb_err_set(err, e, "tc egress on %s: %s", l->name, strerror(-e));
		goto out;
	}
	if (m == CB_MODE_TC) {
		if ((e = tc_attach(l->ifindex, BPF_TC_INGRESS, in))) {
			tc_detach(l->ifindex, BPF_TC_EGRESS);
			e = cb_err_set(err, e, "tc ingress on %s: %s", l->name, strerror(-e));
		}
		goto out;
	}
	LIBBPF_OPTS(bpf_link_create_opts, lopts,
		    .flags = m == CB_MODE_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
	lfd = bpf_link_create(in, l->ifindex, BPF_XDP, &lopts);
	if (lfd < 0) {
		e = -errno;
		tc_detach(l->ifindex, BPF_TC_EGRESS);
		e = xdp_failed(l, e, err);
		goto out;
	}
	link_rel(l->name, rel, sizeof(rel));
	cb_state_path(st, rel, path, sizeof(path));
	unlink(path);   /* a stale pin of an interface that went away */
	if ((e = cb_state_pin(st, lfd, rel, err))) {
		bpf_link_detach(lfd);
		tc_detach(l->ifindex, BPF_TC_EGRESS);
		goto out;
	}
	if (redirect_target(l, m))
		cb_tx_port_add(&st->maps, (uint32_t)l->ifindex);
	e = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (lfd >= 0)
		close(lfd);
	return e;
}

int cb_detach(struct cb_state *st, const char *ifname, struct cb_err *err)
{
	char path[PATH_MAX], rel[64];
	struct cb_link l;
	int e, found = 0, fd;

	link_rel(ifname, rel, sizeof(rel));
	cb_state_path(st, rel, path, sizeof(path));
	/* The interface may be gone: its pinned link is then all there is to remove. */
	if (cb_link_get(ifname, &l, err) == 0) {
		fd = xdp_link(st, l.name, l.ifindex, path, sizeof(path));
		if (fd >= 0) {
			if (bpf_link_detach(fd)) {
				e = -errno;
				close(fd);
				return cb_err_set(err, e, "XDP link of %s: %s", l.name, strerror(-e));
			}
			close(fd);
			found = 1;
		}
		found |= tc_present(l.ifindex, BPF_TC_INGRESS) | tc_present(l.ifindex, BPF_TC_EGRESS);
		if ((e = tc_detach(l.ifindex, BPF_TC_INGRESS)) || (e = tc_detach(l.ifindex, BPF_TC_EGRESS)))
			return cb_err_set(err, e, "tc filter of %s: %s", l.name, strerror(-e));
		cb_tx_port_del(&st->maps, (uint32_t)l.ifindex);
	}
	if (unlink(path) == 0)
		found = 1;
	if (!found)
		return cb_err_set(err, -ENOENT, "%s is not attached", ifname);
	return 0;
}
