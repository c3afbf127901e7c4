/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The agent's log: one line per event on stderr, as text for people or as
 * JSON objects for collectors (--log-format json).
 */
#ifndef CB_LOG_H
#define CB_LOG_H

enum cb_log_level { CB_LOG_DEBUG, CB_LOG_INFO, CB_LOG_WARN, CB_LOG_ERROR };

/* Returns -1 for an unknown format or level name. */
int cb_log_set_format(const char *name);    /* "text" or "json" */
int cb_log_set_level(const char *name);     /* "debug", "info", "warn", "error" */

/* service may be NULL; event is a short word ("step", "rollback", "health", ...). */
void cb_log(enum cb_log_level level, const char *service, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
