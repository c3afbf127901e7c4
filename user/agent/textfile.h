/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Atomic file replacement for node_exporter's textfile collector, which
 * reads every *.prom file of its directory on each scrape: a reader must see
 * the old file or the new one, never a half-written one.
 */
#ifndef CB_TEXTFILE_H
#define CB_TEXTFILE_H

#include <stddef.h>
#include "parse.h"

/*
 * Write data to DIR/.NAME.XXXXXX (a name the collector ignores: it does not
 * end in .prom), fsync it, rename it over DIR/NAME and fsync DIR. The file
 * gets mode 0644: node_exporter usually runs as another user.
 * Returns 0 or a negative errno with err naming the step that failed.
 */
int cb_textfile_write(const char *dir, const char *name, const char *data, size_t len,
		      struct cb_err *err);

#endif
