// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* tests/bench/fwd_traffic.sh: an LD_PRELOAD for trafgen, built at run time.
 * Gives its AF_PACKET sockets a 4 MiB send buffer with SO_SNDBUFFORCE (see
 * fwd_traffic.sh for why), touching nothing global. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>

int socket(int domain, int type, int protocol)
{
	static int (*real)(int, int, int);
	int fd, v = 4 << 20;

	if (!real)
		real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
	fd = real(domain, type, protocol);
	if (fd >= 0 && domain == AF_PACKET)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v));
	return fd;
}
