// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The configuration as a file: its shape checked before libyaml's loader
 * builds it (one document, bounded nesting), and the file and its seed file
 * read whole. What the keys mean is config.c's.
 */
#include "config_yaml.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CB_STR_(x) #x
#define CB_STR(x) CB_STR_(x)

static int shape_fail(struct cb_cfg_err *err, const char *name, const yaml_event_t *ev,
		      const char *what)
{
	snprintf(err->msg, sizeof(err->msg), "%s:%zu:%zu: %s", name, ev->start_mark.line + 1,
		 ev->start_mark.column + 1, what);
	err->count = 1;
	return -1;
}

/*
 * The file's shape before it is loaded, from the parser's events: one
 * document, nested no deeper than the schema could use. The loader would
 * build any tree first (60,000 nested brackets took it 8 s) and a second
 * document would be ignored without a word.
 */
int cfg_shape(const char *buf, size_t len, const char *name, struct cb_cfg_err *err)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0, docs = 0, r = 0, done = 0;

	if (!yaml_parser_initialize(&parser)) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot start the YAML parser", name);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done && !r) {
		if (!yaml_parser_parse(&parser, &ev))
			break;   /* the loader reports the syntax error, with its place */
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				r = shape_fail(err, name, &ev, "a second YAML document: the file holds one");
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > CB_CFG_DEPTH_MAX)
				r = shape_fail(err, name, &ev, "nested deeper than " CB_STR(CB_CFG_DEPTH_MAX)
					       " levels");
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return r;
}

/*
 * The seed file's bytes, trailing white space aside. Read with the file so
 * that a missing or short seed is an error of the file: nothing changes.
 */
static int seed_read(const char *path, struct cb_config *cfg, struct cb_cfg_err *err)
{
	int fd = open(cfg->seed_file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	const char *why = NULL;
	struct stat sb;
	ssize_t n = 0;

	if (fd < 0 || fstat(fd, &sb))
		why = strerror(errno);
	else if (!S_ISREG(sb.st_mode))
		why = "not a regular file";
	else if ((n = read(fd, cfg->seed, sizeof(cfg->seed))) < 0)
		why = strerror(errno);
	else if (sb.st_size > (off_t)sizeof(cfg->seed))
		why = "more than 256 bytes";
	while (!why && n > 0 && strchr(" \t\r\n", cfg->seed[n - 1]))
		n--;
	if (!why && n < CB_CFG_SEED_MIN)
		why = "fewer than 16 bytes (make one with: openssl rand -hex 32)";
	if (fd >= 0)
		close(fd);
	if (why) {
		snprintf(err->msg, sizeof(err->msg), "%.160s:%u:%u: seed_file: %.200s: %s", path,
			 cfg->seed_line, cfg->seed_col, cfg->seed_file, why);
		memset(cfg->seed, 0, sizeof(cfg->seed));
		return -1;
	}
	cfg->seed_len = (size_t)n;
	return 0;
}

int cb_config_load(const char *path, struct cb_config *out, struct cb_cfg_err *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int r;

	memset(err, 0, sizeof(*err));
	if (!f) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			char *grown = cap > (16u << 20) ? NULL : realloc(buf, cap = cap ? cap * 2 : 4096);

			if (!grown) {
				free(buf);
				fclose(f);
				snprintf(err->msg, sizeof(err->msg), "%s: too large", path);
				return -1;
			}
			buf = grown;
		}
		size_t got = fread(buf + len, 1, cap - len, f);

		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err->msg, sizeof(err->msg), "%s: read error", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	r = cb_config_parse(buf, len, path, out, err);
	free(buf);
	if (!r && out->seed_file[0] && seed_read(path, out, err)) {
		cb_config_free(out);
		return -1;
	}
	return r;
}
