// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "skel.h"

#include <bpf/libbpf.h>
#include <linux/bpf.h>
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

int cb_dp_build_id(uint64_t *id, struct cb_err *err)
{
	struct bpf_program *prog;
	struct bpf_object *obj;
	uint64_t h = CB_FNV1A_INIT;
	int e = cb_dp_open(&obj, err);

	if (e)
		return e;
	/* The instructions as compiled, before relocation: what makes two builds' programs differ. */
	bpf_object__for_each_program(prog, obj) {
		const char *name = bpf_program__name(prog);

		h = cb_fnv1a(h, name, strlen(name));
		h = cb_fnv1a(h, bpf_program__insns(prog),
			     bpf_program__insn_cnt(prog) * sizeof(struct bpf_insn));
	}
	bpf_object__close(obj);
	*id = h ? h : 1;
	return 0;
}
