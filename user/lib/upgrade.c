// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * In-place upgrade: pinned state of our layout whose programs are another
 * build's. This build's programs are loaded over the pinned maps, every hook
 * that runs an old program is switched to its new one in one atomic step
 * (bpf_link_update for an XDP link, tc's replace for a filter), and only
 * then are the new programs pinned. Old and new share every map, so a packet
 * seen by either is handled alike; a failure puts back what was switched.
 */
#include "upgrade.h"
#include "attach.h"
#include "skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A hook switched to a new program, and how to switch it back. */
struct hook {
	int link_fd;          /* XDP: the link; -1 for tc */
	int ifindex, egress;  /* tc */
	enum cb_prog prog;
};

struct upgrade {
	struct cb_state *st;
	struct bpf_object *obj;
	int old_fd[CB_PROGS], new_fd[CB_PROGS];
	uint32_t old_id[CB_PROGS];
	struct hook *hooks;
	size_t nhooks, cap;
};

static uint32_t prog_id(int fd)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* This build's object with every shared map the pinned one. */
static int load_over_pins(struct upgrade *u, struct cb_err *err)
{
	struct bpf_map *map;
	int e = cb_dp_open(&u->obj, err);

	if (e)
		return e;
	bpf_object__for_each_map(map, u->obj) {
		const char *name = bpf_map__name(map);

		for (int i = 0; i < CB_NMAPS; i++) {
			if (strcmp(name, cb_map_names[i]))
				continue;
			if ((e = bpf_map__reuse_fd(map, *cb_map_fd(&u->st->maps, (enum cb_map_id)i))))
				return cb_err_set(err, e, "reuse %s: %s", name, strerror(-e));
		}
	}
	if (bpf_object__load(u->obj)) {
		e = -errno;
		return cb_err_set(err, e, "load the new programs: %s", strerror(-e));
	}
	for (int p = 0; p < CB_PROGS; p++) {
		struct bpf_program *prog = bpf_object__find_program_by_name(u->obj, cb_prog_name((enum cb_prog)p));

		if (!prog)
			return cb_err_set(err, -ENOENT, "program %s missing", cb_prog_name((enum cb_prog)p));
		u->new_fd[p] = bpf_program__fd(prog);
		if ((u->old_fd[p] = cb_state_prog(u->st, (enum cb_prog)p, err)) < 0)
			return u->old_fd[p];
		u->old_id[p] = prog_id(u->old_fd[p]);
	}
	return 0;
}

static int remember(struct upgrade *u, struct hook h)
{
	if (u->nhooks == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 16;
		struct hook *n = realloc(u->hooks, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		u->hooks = n;
		u->cap = cap;
	}
	u->hooks[u->nhooks++] = h;
	return 0;
}

/* Every pinned XDP link whose program is the old one. */
static int switch_links(struct upgrade *u, struct cb_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *d;
	DIR *dh;
	int e = 0;

	cb_state_path(u->st, "links", dir, sizeof(dir));
	dh = opendir(dir);
	if (!dh)
		return cb_err_set(err, -errno, "%s: %s", dir, strerror(errno));
	while (!e && (d = readdir(dh))) {
		struct bpf_link_info info;
		uint32_t len = sizeof(info);
		int fd;

		if (strncmp(d->d_name, "xdp-", 4))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if ((fd = bpf_obj_get(path)) < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) || !info.xdp.ifindex ||
		    info.prog_id != u->old_id[CB_PROG_XDP]) {
			close(fd);     /* a link of a vanished interface, or already switched */
			continue;
		}
		if (bpf_link_update(fd, u->new_fd[CB_PROG_XDP], NULL)) {
			e = cb_err_set(err, -errno, "switch the XDP link %s: %s", d->d_name, strerror(errno));
			close(fd);
		} else if ((e = remember(u, (struct hook){ .link_fd = fd, .prog = CB_PROG_XDP }))) {
			cb_err_set(err, e, "out of memory");
		}
	}
	closedir(dh);
	return e;
}

/* Every tc filter of ours, on the interfaces of this network namespace. */
static int switch_filters(struct upgrade *u, struct cb_err *err)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	int e = 0;

	if (!ifs)
		return cb_err_set(err, -errno, "list interfaces: %s", strerror(errno));
	for (i = ifs; !e && i->if_index; i++) {
		for (int eg = 0; !e && eg < 2; eg++) {
			enum cb_prog p = eg ? CB_PROG_TC_OUT : CB_PROG_TC_IN;
			int idx = (int)i->if_index;

			if (cb_tc_prog_id(idx, eg) != u->old_id[p])
				continue;
			if ((e = cb_tc_replace(idx, eg, u->new_fd[p])))
				cb_err_set(err, e, "switch the tc filter of %s: %s", i->if_name, strerror(-e));
			else if ((e = remember(u, (struct hook){ .link_fd = -1, .ifindex = idx,
								  .egress = eg, .prog = p })))
				cb_err_set(err, e, "out of memory");
		}
	}
	if_freenameindex(ifs);
	return e;
}

/* After a failure: every switched hook back on its old program. */
static void switch_back(struct upgrade *u)
{
	for (size_t i = 0; i < u->nhooks; i++) {
		struct hook *h = &u->hooks[i];

		if (h->link_fd >= 0)
			bpf_link_update(h->link_fd, u->old_fd[h->prog], NULL);
		else
			cb_tc_replace(h->ifindex, h->egress, u->old_fd[h->prog]);
	}
}

/* The new programs pinned in place of the old: each a rename over the old pin. */
static int repin(struct upgrade *u, struct cb_err *err)
{
	char rel[64], tmp[PATH_MAX], path[PATH_MAX];
	int e;

	for (int p = 0; p < CB_PROGS; p++) {
		snprintf(rel, sizeof(rel), "progs/%s-next", cb_prog_name((enum cb_prog)p));
		cb_state_path(u->st, rel, tmp, sizeof(tmp));
		unlink(tmp);
		if ((e = cb_state_pin(u->st, u->new_fd[p], rel, err)))
			return e;
		snprintf(rel, sizeof(rel), "progs/%s", cb_prog_name((enum cb_prog)p));
		cb_state_path(u->st, rel, path, sizeof(path));
		if (rename(tmp, path))
			return cb_err_set(err, -errno, "pin %s: %s", path, strerror(errno));
	}
	return 0;
}

static void upgrade_free(struct upgrade *u)
{
	for (size_t i = 0; i < u->nhooks; i++)
		if (u->hooks[i].link_fd >= 0)
			close(u->hooks[i].link_fd);
	for (int p = 0; p < CB_PROGS; p++)
		if (u->old_fd[p] >= 0)
			close(u->old_fd[p]);
	free(u->hooks);
	bpf_object__close(u->obj);
}

int cb_state_upgrade(struct cb_state *st, unsigned int *hooks, struct cb_err *err)
{
	struct upgrade u = { .st = st, .old_fd = { -1, -1, -1 } };
	struct cb_meta meta;
	uint64_t id;
	uint32_t zero = 0;
	int e;

	*hooks = 0;
	if ((e = cb_dp_build_id(&id, err)))
		return e;
	if ((e = cb_meta_get(&st->maps, &meta)))
		return cb_err_set(err, e, "read the state: %s", strerror(-e));
	if (meta.prog_id == id)
		return 0;
	e = load_over_pins(&u, err);
	if (!e)
		e = switch_links(&u, err);
	if (!e)
		e = switch_filters(&u, err);
	if (!e)
		e = repin(&u, err);
	meta.prog_id = id;
	if (!e && bpf_map_update_elem(st->maps.meta, &zero, &meta, BPF_EXIST))
		e = cb_err_set(err, -errno, "record the new build: %s", strerror(errno));
	if (e)
		switch_back(&u);
	else
		*hooks = (unsigned int)u.nhooks;
	upgrade_free(&u);
	return e ? e : 1;
}

int cb_meta_set_build(const struct cb_maps *m, struct cb_err *err)
{
	struct cb_meta meta;
	uint32_t zero = 0;
	uint64_t id;
	int e = cb_dp_build_id(&id, err);

	if (e)
		return e;
	if ((e = cb_meta_get(m, &meta)))
		return cb_err_set(err, e, "read the state: %s", strerror(-e));
	meta.prog_id = id;
	if (bpf_map_update_elem(m->meta, &zero, &meta, BPF_EXIST))
		return cb_err_set(err, -errno, "record the build: %s", strerror(errno));
	return 0;
}
