// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "pinned.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "skel.h"
#include "upgrade.h"

static const char *const prog_names[CB_PROGS] = {
	[CB_PROG_XDP] = "cb_xdp_ingress",
	[CB_PROG_TC_IN] = "cb_tc_ingress",
	[CB_PROG_TC_OUT] = "cb_tc_egress",
};

const char *cb_prog_name(enum cb_prog p)
{
	return prog_names[p];
}

void cb_state_path(const struct cb_state *st, const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", st->pin, rel);
}

int cb_state_pin(const struct cb_state *st, int fd, const char *rel, struct cb_err *err)
{
	char path[PATH_MAX];

	cb_state_path(st, rel, path, sizeof(path));
	if (bpf_obj_pin(fd, path) || chmod(path, 0600))
		return cb_err_set(err, -errno, "pin %s: %s", path, strerror(errno));
	return 0;
}

/* The pin path must live on a bpf filesystem: its parent is checked before creating it. */
static int check_bpffs(const char *pin, struct cb_err *err)
{
	char parent[PATH_MAX];
	struct statfs fs;
	char *slash;

	snprintf(parent, sizeof(parent), "%s", pin);
	if (statfs(parent, &fs) != 0) {
		slash = strrchr(parent, '/');
		if (slash && slash != parent)
			*slash = 0;
		else if (slash)
			slash[1] = 0;
		if (statfs(parent, &fs) != 0)
			return cb_err_set(err, -errno, "%s: %s", parent, strerror(errno));
	}
	if (fs.f_type != BPF_FS_MAGIC)
		return cb_err_set(err, -ENOTSUP, "%s is not on a bpf filesystem (mount -t bpf bpf /sys/fs/bpf)",
			    parent);
	return 0;
}

static int mkdir_private(const char *path, struct cb_err *err)
{
	if (mkdir(path, 0700) && errno != EEXIST)
		return cb_err_set(err, -errno, "create %s: %s", path, strerror(errno));
	return 0;
}

static int lock_dir(struct cb_state *st, struct cb_err *err)
{
	st->lock_fd = open(st->pin, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->lock_fd < 0)
		return cb_err_set(err, -errno, "%s: %s", st->pin, strerror(errno));
	if (flock(st->lock_fd, LOCK_EX))
		return cb_err_set(err, -errno, "lock %s: %s", st->pin, strerror(errno));
	return 0;
}

/*
 * First use: load the object once, pin every map and program, cb_meta last:
 * its pin is what says the state is complete. Pins left by an earlier
 * attempt that died half-way are replaced.
 */
uint32_t cb_ct_entries_default(void)
{
	struct sysinfo si;
	uint64_t n;

	if (sysinfo(&si))
		return CB_CT_ENTRIES;
	/* About 600 bytes of kernel memory per entry of cb_ct with its share of the others. */
	n = (uint64_t)si.totalram * si.mem_unit / 400 / 600;
	if (n < CB_CT_ENTRIES)
		return CB_CT_ENTRIES;
	return n > CB_CT_ENTRIES_MAX ? CB_CT_ENTRIES_MAX : (uint32_t)(n & ~1023ULL);
}

/* The conntrack maps sized before the object is loaded. */
static int size_maps(struct bpf_object *obj, uint32_t n, struct cb_err *err)
{
	static const struct { const char *name; int half; } sized[] = {
		{ "cb_ct", 0 }, { "cb_rev", 0 }, { "cb_pend", 1 }, { "cb_pend_rev", 1 },
	};

	for (size_t i = 0; i < sizeof(sized) / sizeof(sized[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, sized[i].name);
		int e = m ? bpf_map__set_max_entries(m, sized[i].half ? n / 2 : n) : -ENOENT;

		if (e)
			return cb_err_set(err, e, "size %s: %s", sized[i].name, strerror(-e));
	}
	return 0;
}

static int create(struct cb_state *st, const struct cb_state_opts *opts, struct cb_err *err)
{
	char rel[64], path[PATH_MAX];
	struct bpf_object *obj;
	int e = cb_dp_open(&obj, err);

	if (e)
		return e;
	e = size_maps(obj, opts && opts->ct_entries ? opts->ct_entries : cb_ct_entries_default(), err);
	if (e) {
		bpf_object__close(obj);
		return e;
	}
	if (bpf_object__load(obj)) {
		e = -errno;
		bpf_object__close(obj);
		return cb_err_set(err, e, "load BPF programs: %s", strerror(-e));
	}
	for (int p = 0; p < CB_PROGS && !e; p++) {
		struct bpf_program *prog = bpf_object__find_program_by_name(obj, prog_names[p]);

		snprintf(rel, sizeof(rel), "progs/%s", prog_names[p]);
		cb_state_path(st, rel, path, sizeof(path));
		unlink(path);
		e = prog ? cb_state_pin(st, bpf_program__fd(prog), rel, err)
			 : cb_err_set(err, -ENOENT, "program %s missing", prog_names[p]);
	}
	for (int i = CB_NMAPS; i-- > 0 && !e;) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, cb_map_names[i]);

		snprintf(rel, sizeof(rel), "maps/%s", cb_map_names[i]);
		cb_state_path(st, rel, path, sizeof(path));
		unlink(path);
		e = m ? cb_state_pin(st, bpf_map__fd(m), rel, err)
		      : cb_err_set(err, -ENOENT, "map %s missing from the object", cb_map_names[i]);
	}
	bpf_object__close(obj);
	return e;
}

static int open_map(struct cb_state *st, enum cb_map_id i, struct cb_err *err)
{
	char path[PATH_MAX], rel[64];
	int e;

	snprintf(rel, sizeof(rel), "maps/%s", cb_map_names[i]);
	cb_state_path(st, rel, path, sizeof(path));
	*cb_map_fd(&st->maps, i) = bpf_obj_get(path);
	if (*cb_map_fd(&st->maps, i) >= 0)
		return 0;
	e = -errno;
	/* Not -ENOENT: that means "no state at all" to the callers. */
	if (e == -ENOENT)
		return cb_err_set(err, -EUCLEAN, "%s is missing: the pinned state is incomplete", path);
	if (e == -EACCES || e == -EPERM)
		return cb_err_set(err, e, "%s: permission denied (needs root, or CAP_BPF and CAP_NET_ADMIN)",
			    path);
	return cb_err_set(err, e, "%s: %s", path, strerror(-e));
}

/* Every map but cb_meta, which is opened and checked first. */
static int open_maps(struct cb_state *st, struct cb_err *err)
{
	for (int i = CB_MAP_meta + 1; i < CB_NMAPS; i++) {
		int e = open_map(st, (enum cb_map_id)i, err);

		if (e)
			return e;
	}
	return 0;
}

/* The interfaces whose XDP links are pinned (links/xdp-IFNAME), for a message. */
static void attached_names(const struct cb_state *st, char *buf, size_t len)
{
	char dir[PATH_MAX];
	struct dirent *d;
	size_t n = 0;
	DIR *dh;

	snprintf(buf, len, "XDP on: none; tc ones: see `tc filter show dev IF ingress`");
	cb_state_path(st, "links", dir, sizeof(dir));
	if (!(dh = opendir(dir)))
		return;
	while ((d = readdir(dh)) && n + 2 < len) {
		if (strncmp(d->d_name, "xdp-", 4))
			continue;
		if (!n)
			n = (size_t)snprintf(buf, len, "XDP on:");
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, " %s", d->d_name + 4);
	}
	closedir(dh);
	for (char *c = buf; *c; c++)
		if (*c == ':' && c[1] && c[1] != ' ')
			*c = '.';   /* link names keep dots as colons (bpffs) */
	if (n && n + 2 < len)
		snprintf(buf + n, len - n, "; and any with tc filters");
}

int cb_state_open(const char *pin, int flags, struct cb_state *st, struct cb_err *err)
{
	return cb_state_open_opts(pin, flags, NULL, st, err);
}

/* What the state was created with must be what opts ask for. */
static int check_opts(struct cb_state *st, const struct cb_state_opts *opts, struct cb_err *err)
{
	struct cb_meta meta;
	int e;

	if (!opts || !opts->ct_entries)
		return 0;
	if ((e = cb_meta_get(&st->maps, &meta)))
		return cb_err_set(err, e, "read the state's sizes: %s", strerror(-e));
	if (meta.ct_entries != opts->ct_entries)
		return cb_err_set(err, -EEXIST, "conntrack holds %u entries, set when the state under "
				  "%s was created; to change it: detach every interface, remove %s, "
				  "configure again", meta.ct_entries, st->pin, st->pin);
	return 0;
}

int cb_state_open_opts(const char *pin, int flags, const struct cb_state_opts *opts,
		       struct cb_state *st, struct cb_err *err)
{
	char path[PATH_MAX];
	uint32_t found = 0;
	struct stat sb;
	int e;

	memset(st, 0, sizeof(*st));
	st->lock_fd = -1;
	cb_maps_init(&st->maps);
	if (strlen(pin) >= sizeof(st->pin))
		return cb_err_set(err, -ENAMETOOLONG, "pin path is too long");
	snprintf(st->pin, sizeof(st->pin), "%s", pin);
	e = check_bpffs(pin, err);
	if (e)
		return e;
	cb_state_path(st, "maps/cb_meta", path, sizeof(path));
	if (stat(path, &sb) != 0) {
		if (errno == EACCES || errno == EPERM)
			return cb_err_set(err, -errno, "%s: permission denied (needs root, or CAP_BPF and "
				    "CAP_NET_ADMIN)", pin);
		if (errno != ENOENT)
			return cb_err_set(err, -errno, "%s: %s", path, strerror(errno));
		if (!(flags & CB_STATE_CREATE))
			return cb_err_set(err, -ENOENT, "no state under %s (nothing configured yet)", pin);
		if ((e = mkdir_private(pin, err)))
			return e;
		if ((e = lock_dir(st, err)))
			return e;
		/* Somebody may have created it while we waited for the lock. */
		if (stat(path, &sb) != 0) {
			static const char *const subdirs[] = { "maps", "progs", "links" };

			for (size_t i = 0; i < 3; i++) {
				cb_state_path(st, subdirs[i], path, sizeof(path));
				if ((e = mkdir_private(path, err)))
					return e;
			}
			if ((e = create(st, opts, err)))
				return e;
		}
	} else if ((flags & CB_STATE_LOCK) && (e = lock_dir(st, err))) {
		return e;
	}
	/* The layout version first: state of another layout may lack our maps. */
	if ((e = open_map(st, CB_MAP_meta, err)))
		return e;
	e = cb_meta_check(&st->maps, &found);
	if (e == -EPROTO && found != 0) {
		char ifs[256];

		attached_names(st, ifs, sizeof(ifs));
		return cb_err_set(err, e, "pinned state under %s has layout version %u; this canary-bpf "
			    "reads version %d and cannot migrate it: with the binary that made it, "
			    "`canary-bpf detach IF` for each interface (%s), then `rm -r %s`, then "
			    "attach and configure again with this one (an agent does both from its "
			    "file)", pin, found, CB_LAYOUT_VERSION, ifs, pin);
	}
	if (e && e != -EPROTO)
		return cb_err_set(err, e, "read layout version: %s", strerror(-e));
	if ((e = open_maps(st, err)))
		return e;
	/* Version 0: state just created, by us or by a process that raced us. */
	if (found == 0 && (e = cb_meta_init(&st->maps)) && e != -EPROTO)
		return cb_err_set(err, e, "write layout version: %s", strerror(-e));
	if (found == 0 && !e && (e = cb_meta_set_build(&st->maps, err)))
		return e;
	return check_opts(st, opts, err);
}

int cb_state_lock(struct cb_state *st, struct cb_err *err)
{
	if (st->lock_fd < 0)
		return lock_dir(st, err);
	if (flock(st->lock_fd, LOCK_EX))
		return cb_err_set(err, -errno, "lock %s: %s", st->pin, strerror(errno));
	return 0;
}

void cb_state_unlock(struct cb_state *st)
{
	if (st->lock_fd >= 0)
		flock(st->lock_fd, LOCK_UN);
}

void cb_state_close(struct cb_state *st)
{
	for (int i = 0; i < CB_NMAPS; i++) {
		int *fd = cb_map_fd(&st->maps, (enum cb_map_id)i);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	st->lock_fd = -1;
}

int cb_state_prog(const struct cb_state *st, enum cb_prog p, struct cb_err *err)
{
	char path[PATH_MAX], rel[64];
	int fd;

	snprintf(rel, sizeof(rel), "progs/%s", prog_names[p]);
	cb_state_path(st, rel, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return cb_err_set(err, -errno, "%s: %s", path, strerror(errno));
	return fd;
}
