// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "skel.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>

#include "canary.skel.h"

int cb_dp_open(struct bpf_object **obj, struct cb_err *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "canary");
	const void *elf;
	size_t len;

	elf = canary__elf_bytes(&len);
	*obj = bpf_object__open_mem(elf, len, &opts);
	if (!*obj)
		return cb_err_set(err, -errno, "open the embedded BPF object: %s", strerror(errno));
	return 0;
}
