// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int json_format;
static enum cb_log_level min_level = CB_LOG_INFO;
static const char *const level_names[] = { "debug", "info", "warn", "error" };

int cb_log_set_format(const char *name)
{
	if (!strcmp(name, "text"))
		json_format = 0;
	else if (!strcmp(name, "json"))
		json_format = 1;
	else
		return -1;
	return 0;
}

int cb_log_set_level(const char *name)
{
	for (int i = 0; i <= CB_LOG_ERROR; i++)
		if (!strcmp(name, level_names[i])) {
			min_level = (enum cb_log_level)i;
			return 0;
		}
	return -1;
}

/* JSON string body: quotes, backslashes and control characters escaped. */
static void json_str(char *out, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s && o + 7 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20) {
			o += (size_t)snprintf(out + o, len - o, "\\u%04x", ch);
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o] = 0;
}

void cb_log(enum cb_log_level level, const char *service, const char *event, const char *fmt, ...)
{
	char msg[1024], ts[40], esc[2200], esvc[160];
	struct timespec now;
	struct tm tm;
	va_list ap;

	if (level < min_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	if (json_format) {
		json_str(esc, sizeof(esc), msg);
		json_str(esvc, sizeof(esvc), service ? service : "");
		fprintf(stderr, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"event\":\"%s\"%s%s%s,\"msg\":\"%s\"}\n",
			ts, now.tv_nsec / 1000000, level_names[level], event,
			service ? ",\"service\":\"" : "", service ? esvc : "", service ? "\"" : "", esc);
	} else {
		fprintf(stderr, "%s.%03ldZ %-5s %-9s %s%s%s\n", ts, now.tv_nsec / 1000000,
			level_names[level], event, service ? service : "", service ? ": " : "", msg);
	}
	fflush(stderr);
}
