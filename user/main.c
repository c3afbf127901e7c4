// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * canary-bpf command line. This first cut only reports what it carries; the
 * verbs of SPEC.md (attach, service, backend, weight, ...) build on dpstate.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "canary_bpf.h"
#include "canary.skel.h"

static int version(void)
{
	struct canary *skel = canary__open();
	struct bpf_program *prog;
	const char *sep = "";

	if (!skel) {
		fprintf(stderr, "canary-bpf: open embedded BPF object: %s\n", strerror(errno));
		return 1;
	}
	printf("canary-bpf %s (layout %d, libbpf %s, programs: ", CB_VERSION, CB_LAYOUT_VERSION,
	       libbpf_version_string());
	bpf_object__for_each_program(prog, skel->obj) {
		printf("%s%s", sep, bpf_program__name(prog));
		sep = " ";
	}
	printf(")\n");
	canary__destroy(skel);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: canary-bpf [-V|--version] [-h|--help]\n"
		   "The management verbs of SPEC.md arrive with the CLI milestone.\n");
}

int main(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")))
		return version();
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
