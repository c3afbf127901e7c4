// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cb_textfile_write(const char *dir, const char *name, const char *data, size_t len,
		      struct cb_err *err)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	int fd, dfd, e;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp) ||
	    (size_t)snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= sizeof(dst))
		return cb_err_set(err, -ENAMETOOLONG, "%s/%s: path too long", dir, name);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return cb_err_set(err, -errno, "create a temporary file in %s: %s", dir, strerror(errno));
	e = write_all(fd, data, len);
	if (!e && fchmod(fd, 0644))
		e = -errno;
	if (!e && fsync(fd))
		e = -errno;
	if (close(fd) && !e)
		e = -errno;
	if (!e && rename(tmp, dst))
		e = -errno;
	if (e) {
		unlink(tmp);
		return cb_err_set(err, e, "write %s: %s", dst, strerror(-e));
	}
	/* The rename itself must survive a crash too, or the old file comes back. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return cb_err_set(err, -errno, "open %s: %s", dir, strerror(errno));
	e = fsync(dfd) ? -errno : 0;
	close(dfd);
	if (e)
		return cb_err_set(err, e, "fsync %s: %s", dir, strerror(-e));
	return 0;
}
