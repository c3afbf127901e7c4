// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench_prog prog|control [--out FILE] [--smoke]
 *
 *   prog     per-packet cost of the datapath under BPF_PROG_TEST_RUN, as a
 *            multiple of a minimal parse-and-pass program (prog_cases.c)
 *   control  how fast a weight change is seen and a Maglev table rebuilt
 *            (prog_control.c)
 *   warm     connections established in a pinned state by their handshakes,
 *            for the forwarding benchmark (prog_warm.c)
 *
 * Results go to stdout as a table and, with --out, to FILE as JSON. --smoke
 * runs a few iterations only (make check) but checks every verdict as fully.
 * Exit status: 0 done, 1 failed (setup, or a result that is wrong), 2 usage.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "prog.h"

int fail(const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench_prog: %s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_prog prog|control [--out FILE] [--smoke]\n"
		"       bench_prog warm PIN VIP CLIENT SPORT COUNT\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	int r;

	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "warm"))
		return bench_warm(argc, argv) ? 1 : 0;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--smoke"))
			o.smoke = 1;
		else if (!strcmp(argv[i], "--out") && i + 1 < argc)
			o.out = argv[++i];
		else
			return usage();
	}
	/* Line-buffered: progress shows when stdout is a pipe to a log, too. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "prog"))
		r = bench_prog(&o);
	else if (!strcmp(argv[1], "control"))
		r = bench_control(&o);
	else
		return usage();
	return r ? 1 : 0;
}
