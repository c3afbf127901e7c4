// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * --state-dir: a copy of every rollout record on disk, so that a node whose
 * bpffs was emptied (a reboot) does not run an ended release again. The
 * pinned record wins when both exist; the copy is only read for a service
 * that has none. One subdirectory per pin path, so that several pin paths
 * can share a state directory.
 *
 * A file is a header (magic, format, size, checksum) and the record,
 * written to a temporary name, synced and renamed over the old one: a crash
 * leaves the old copy or the new one, never half of one. A file that does
 * not check out is said once and ignored.
 */
#include "agent.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_MAGIC   0x4f524243u   /* "CBRO" */
#define REC_FORMAT  1

struct rec_file {
	uint32_t magic, format, size, sum;
	struct cb_rollout r;
};

static uint32_t rec_sum(const struct cb_rollout *r)
{
	return (uint32_t)cb_fnv1a(0xcbf29ce484222325ull, r, sizeof(*r));
}

/* The directory must be ours alone: records decide what traffic goes where. */
static int dir_private(int dfd, const char *path, struct cb_err *err)
{
	struct stat sb;

	if (fstat(dfd, &sb))
		return cb_err_set(err, -errno, "%s: %s", path, strerror(errno));
	if (sb.st_uid != geteuid() || (sb.st_mode & 022))
		return cb_err_set(err, -EPERM, "%s: must be owned by this user and writable by no one "
				  "else (mode %03o)", path, (unsigned int)(sb.st_mode & 0777));
	return 0;
}

static int open_dir(int at, const char *path, const char *shown, struct cb_err *err)
{
	int fd;

	if (mkdirat(at, path, 0700) && errno != EEXIST)
		return cb_err_set(err, -errno, "create %s: %s", shown, strerror(errno));
	fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return cb_err_set(err, -errno, "%s: %s", shown, strerror(errno));
	if (dir_private(fd, shown, err)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

int agent_statedir_open(struct agent *a, const char *dir, const char *pin, struct cb_err *err)
{
	char sub[PATH_MAX], shown[PATH_MAX * 2];
	size_t n = 0;
	int top, fd;

	if (!dir || !*dir)
		return 0;
	if (dir[0] != '/')
		return cb_err_set(err, -EINVAL, "--state-dir %s: not an absolute path", dir);
	/*
	 * The pin path, '/' as '_' and '_' as "%5f" ('%' as "%25"): one name per
	 * path, never "." or "..": /sys/fs/bpf/canary-bpf -> _sys_fs_bpf_canary-bpf
	 */
	for (const char *p = pin; *p && n < sizeof(sub) - 4; p++) {
		if (*p == '_' || *p == '%')
			n += (size_t)snprintf(sub + n, sizeof(sub) - n, "%%%02x", (unsigned char)*p);
		else
			sub[n++] = *p == '/' ? '_' : *p;
	}
	sub[n] = 0;
	if (!strcmp(sub, ".") || !strcmp(sub, ".."))
		return cb_err_set(err, -EINVAL, "pin path %s: not a directory name", pin);
	if ((top = open_dir(AT_FDCWD, dir, dir, err)) < 0)
		return top;
	snprintf(shown, sizeof(shown), "%s/%s", dir, sub);
	fd = open_dir(top, sub, shown, err);
	close(top);
	if (fd < 0)
		return fd;
	a->state_fd = fd;
	snprintf(a->state_dir, sizeof(a->state_dir), "%s", shown);
	return 0;
}

void agent_record_save(struct agent *a, const char *name, const struct cb_rollout *r)
{
	struct rec_file f = { .magic = REC_MAGIC, .format = REC_FORMAT, .size = sizeof(*r) };
	char tmp[CB_NAME_LEN + 16], fin[CB_NAME_LEN + 16];
	const char *why = NULL;
	int fd;

	if (a->state_fd < 0)
		return;
	f.r = *r;
	f.sum = rec_sum(&f.r);
	snprintf(fin, sizeof(fin), "%s.rollout", name);
	snprintf(tmp, sizeof(tmp), "%s.rollout.new", name);
	fd = openat(a->state_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		why = "create";
	else if (write(fd, &f, sizeof(f)) != (ssize_t)sizeof(f))
		why = "write";
	else if (fsync(fd))
		why = "sync";
	if (fd >= 0 && close(fd) && !why)
		why = "close";
	if (!why && renameat(a->state_fd, tmp, a->state_fd, fin))
		why = "rename";
	if (why) {
		if (!a->state_failing)
			cb_log(CB_LOG_WARN, name, "state-dir", "%s %s/%s: %s (the pinned record stands; "
			       "said once)", why, a->state_dir, fin, strerror(errno));
		a->state_failing = 1;
		unlinkat(a->state_fd, tmp, 0);
		return;
	}
	a->state_failing = 0;
}

int agent_record_load(struct agent *a, const char *name, struct cb_rollout *r)
{
	char fin[CB_NAME_LEN + 16];
	struct rec_file f;
	ssize_t n;
	int fd;

	if (a->state_fd < 0)
		return -ENOENT;
	snprintf(fin, sizeof(fin), "%s.rollout", name);
	fd = openat(a->state_fd, fin, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = read(fd, &f, sizeof(f));
	close(fd);
	if (n != (ssize_t)sizeof(f) || f.magic != REC_MAGIC || f.format != REC_FORMAT ||
	    f.size != sizeof(f.r) || f.sum != rec_sum(&f.r)) {
		cb_log(CB_LOG_WARN, name, "state-dir", "%s/%s is not a rollout record of this version: "
		       "ignored", a->state_dir, fin);
		return -EINVAL;
	}
	f.r.reason[sizeof(f.r.reason) - 1] = 0;
	f.r.release[sizeof(f.r.release) - 1] = 0;
	*r = f.r;
	return 0;
}

void agent_record_forget(struct agent *a, const char *name)
{
	char fin[CB_NAME_LEN + 16];

	if (a->state_fd < 0)
		return;
	snprintf(fin, sizeof(fin), "%s.rollout", name);
	unlinkat(a->state_fd, fin, 0);
}

/*
 * What a restart after a reboot needs of a record: not the reason or the
 * time in the step, rewritten at every check. Only a change of these is
 * written to disk (an fsync on the loop, otherwise every interval).
 */
static int record_moved(const struct cb_rollout *a, const struct cb_rollout *b)
{
	return a->phase != b->phase || a->step != b->step || a->weight_bp != b->weight_bp ||
	       a->flags != b->flags || a->canary_fp != b->canary_fp || a->rollbacks != b->rollbacks ||
	       a->promotions != b->promotions || strcmp(a->release, b->release);
}

int agent_rollout_put(struct agent *a, const char *name, const struct cb_rollout *r)
{
	struct cb_rollout old;
	int had = a->state_fd >= 0 && cb_rollout_get(&a->st.maps, name, &old) == 0;
	int e = cb_rollout_put(&a->st.maps, name, r);

	if (!e && (!had || record_moved(&old, r)))
		agent_record_save(a, name, r);
	return e;
}
