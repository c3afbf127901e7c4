// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "skel.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>

#include "canary.skel.h"

struct bpf_object *cb_dp_open(struct cb_err *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "canary");
	struct bpf_object *obj;
	const void *elf;
	size_t len;

	elf = canary__elf_bytes(&len);
	obj = bpf_object__open_mem(elf, len, &opts);
	if (!obj)
		cb_err_set(err, -errno, "open the embedded BPF object: %s", strerror(errno));
	return obj;
}
