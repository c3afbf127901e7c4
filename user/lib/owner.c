// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "owner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int owner_dir(const char *pin, char *path, size_t len)
{
	if ((size_t)snprintf(path, len, "%s/maps", pin) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static void owner_cmd(struct cb_owner *o)
{
	char path[64];
	ssize_t n = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)o->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, o->cmd, sizeof(o->cmd) - 1);
		close(fd);
	}
	if (n <= 0) {
		snprintf(o->cmd, sizeof(o->cmd), "?");
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		if (o->cmd[i] == 0 || (unsigned char)o->cmd[i] < 0x20)
			o->cmd[i] = ' ';
	while (n > 0 && o->cmd[n - 1] == ' ')
		n--;
	o->cmd[n] = 0;
}

/*
 * Whether the lock is held: a shared lock tried on a descriptor of our own
 * (and let go at once). /proc/locks only names the holder: it hides locks of
 * processes in other pid namespaces (another container of the node).
 */
static int owner_held(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), held;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	held = flock(fd, LOCK_SH | LOCK_NB) ? (errno == EWOULDBLOCK ? 1 : -errno) : 0;
	close(fd);
	return held;
}

int cb_owner_find(const char *pin, struct cb_owner *o)
{
	char path[4096], line[256];
	struct stat sb;
	FILE *f;
	int found = 0, e;

	if ((e = owner_dir(pin, path, sizeof(path))))
		return e;
	memset(o, 0, sizeof(*o));
	if ((e = owner_held(path)) <= 0)
		return e;
	snprintf(o->cmd, sizeof(o->cmd), "not visible from this pid namespace");
	if (stat(path, &sb))
		return 1;
	f = fopen("/proc/locks", "re");
	if (!f)
		return 1;
	/* "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF" (major:minor in hex) */
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned int maj, min;
		unsigned long ino;
		char kind[16], mode[16];
		int pid;

		if (sscanf(line, "%*d: %15s %*s %15s %d %x:%x:%lu", kind, mode, &pid, &maj, &min,
			   &ino) != 6)
			continue;
		if (!strcmp(kind, "FLOCK") && !strcmp(mode, "WRITE") && ino == sb.st_ino &&
		    maj == major(sb.st_dev) && min == minor(sb.st_dev) && pid > 0) {
			o->pid = pid;
			owner_cmd(o);
			found = 1;
		}
	}
	fclose(f);
	return 1;
}

int cb_owner_take(const char *pin, int *fd, struct cb_err *err)
{
	char path[4096];
	struct cb_owner o;
	int e;

	if ((e = owner_dir(pin, path, sizeof(path))))
		return cb_err_set(err, e, "pin path is too long");
	*fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return cb_err_set(err, -errno, "%s: %s", path, strerror(errno));
	/* A CLI asking whether an agent runs holds a shared lock for an instant: try for a second. */
	for (int i = 0; i < 20; i++) {
		if (!flock(*fd, LOCK_EX | LOCK_NB))
			return 0;
		if (errno != EWOULDBLOCK)
			break;
		usleep(50000);
	}
	e = -errno;
	close(*fd);
	*fd = -1;
	if (e != -EWOULDBLOCK)
		return cb_err_set(err, e, "lock %s: %s", path, strerror(-e));
	if (cb_owner_find(pin, &o) == 1 && o.pid > 0)
		return cb_err_set(err, -EBUSY, "another agent owns %s: pid %d (%s); stop it first",
				  pin, (int)o.pid, o.cmd);
	return cb_err_set(err, -EBUSY, "another agent owns %s; stop it first", pin);
}
