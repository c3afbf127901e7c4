/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the libFuzzer targets of tests/fuzz share: a checked invariant that
 * aborts with a message (libFuzzer saves the input as a crash), and the
 * input as a C string.
 */
#ifndef CB_FUZZ_H
#define CB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Written to fd 2 directly: a target may point the stdio stderr elsewhere. */
#define FUZZ_CHECK(cond, ...)							\
	do {									\
		if (!(cond)) {							\
			dprintf(2, "%s:%d: invariant broken: %s: ",		\
				__FILE__, __LINE__, #cond);			\
			dprintf(2, __VA_ARGS__);				\
			dprintf(2, "\n");					\
			abort();						\
		}								\
	} while (0)

/* The input as a NUL-terminated string in its own allocation (ASan sees overreads). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
