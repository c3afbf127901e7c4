// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "config_yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cfg_fail_at(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int cfg_fail_at(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	char what[CB_CFG_ERR_LEN / 2];
	va_list ap;

	struct cb_cfg_err *e = c->err;
	size_t used = strnlen(e->more, sizeof(e->more));

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (e->count++ == 0)
		snprintf(e->msg, sizeof(e->msg), "%s:%zu:%zu: %s", c->name,
			 n ? n->start_mark.line + 1 : 1, n ? n->start_mark.column + 1 : 1, what);
	else if (used + 1 < sizeof(e->more))
		snprintf(e->more + used, sizeof(e->more) - used, "%s:%zu:%zu: %.120s\n", c->name,
			 n ? n->start_mark.line + 1 : 1, n ? n->start_mark.column + 1 : 1, what);
	return -1;
}

yaml_node_t *cfg_node(struct ctx *c, int idx)
{
	return yaml_document_get_node(&c->doc, idx);
}

const char *cfg_text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/*
 * A value is text: a NUL (YAML's "\0") would end it early in C ("we\0b"
 * would name a service "we"), and other control characters have no place
 * in a name, an address or a duration. A hook command may span lines.
 */
static int scalar_clean(struct ctx *c, const yaml_node_t *n, const char *what)
{
	const unsigned char *p = n->data.scalar.value;

	for (size_t i = 0; i < n->data.scalar.length; i++)
		if (p[i] == 0 || ((p[i] < 0x20 || p[i] == 0x7f) && p[i] != '\t' && p[i] != '\n'))
			return cfg_fail_at(c, n, "%s holds the control character 0x%02x", what, p[i]);
	return 0;
}

int cfg_want(struct ctx *c, const yaml_node_t *n, yaml_node_type_t t, const char *what)
{
	static const char *const kind[] = { "", "a value", "a list", "a mapping" };

	if (n->type == t)
		return t == YAML_SCALAR_NODE ? scalar_clean(c, n, what) : 0;
	return cfg_fail_at(c, n, "%s must be %s", what, kind[t]);
}

/* Visit each key of a mapping; unknown and repeated keys are errors. */
int cfg_each_field(struct ctx *c, yaml_node_t *map, const char *what,
		      const char *const *known, field_fn fn, void *obj)
{
	unsigned long seen = 0;

	if (cfg_want(c, map, YAML_MAPPING_NODE, what))
		return -1;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = cfg_node(c, p->key), *v = cfg_node(c, p->value);
		size_t i;

		if (cfg_want(c, k, YAML_SCALAR_NODE, "a key"))
			return -1;
		for (i = 0; known[i] && strcmp(known[i], cfg_text(k)); i++)
			;
		if (!known[i])
			return cfg_fail_at(c, k, "unknown key '%s' in %s", cfg_text(k), what);
		if (seen & (1UL << i))
			return cfg_fail_at(c, k, "'%s' given twice in %s", cfg_text(k), what);
		seen |= 1UL << i;
		if (fn(c, cfg_text(k), v, obj))
			return -1;
	}
	return 0;
}

int cfg_scalar(struct ctx *c, yaml_node_t *v, const char *key, const char **out)
{
	if (cfg_want(c, v, YAML_SCALAR_NODE, key))
		return -1;
	*out = cfg_text(v);
	return 0;
}

int cfg_uint_of(struct ctx *c, yaml_node_t *v, const char *key, uint64_t max, uint64_t *out)
{
	const char *s;
	char *end;

	if (cfg_scalar(c, v, key, &s))
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (!*s || *end || s[0] == '-' || errno || *out > max)
		return cfg_fail_at(c, v, "%s: '%s' is not a whole number 0..%llu", key, s,
			       (unsigned long long)max);
	return 0;
}

int cfg_ratio_of(struct ctx *c, yaml_node_t *v, const char *key, double lo, double hi,
		    double *out)
{
	const char *s;
	char *end;

	if (cfg_scalar(c, v, key, &s))
		return -1;
	*out = strtod(s, &end);
	if (!*cfg_text(v) || *end || !(*out >= lo && *out <= hi))
		return cfg_fail_at(c, v, "%s: '%s' is not a number %g..%g", key, cfg_text(v), lo, hi);
	return 0;
}

int cfg_bool_of(struct ctx *c, yaml_node_t *v, const char *key, int *out)
{
	const char *s;

	if (cfg_scalar(c, v, key, &s))
		return -1;
	if (!strcmp(cfg_text(v), "true"))
		*out = 1;
	else if (!strcmp(cfg_text(v), "false"))
		*out = 0;
	else
		return cfg_fail_at(c, v, "%s: '%s' is not true or false", key, cfg_text(v));
	return 0;
}

int cfg_duration_of(struct ctx *c, yaml_node_t *v, const char *key, uint64_t *ms)
{
	const char *s;

	if (cfg_scalar(c, v, key, &s))
		return -1;
	if (cb_parse_duration(cfg_text(v), ms) || *ms == 0)
		return cfg_fail_at(c, v, "%s: '%s' is not a duration (e.g. 500ms, 30s, 5m, 1h)", key,
			       cfg_text(v));
	return 0;
}

/* The result of a parser of user/lib/parse.c; its reason becomes the message. */
int cfg_parsed(struct ctx *c, yaml_node_t *v, const char *key, int r, const struct cb_err *e)
{
	return r ? cfg_fail_at(c, v, "%s: %s", key, e->msg) : 0;
}

/* A list of mappings parsed by fn into an array of `size`-byte elements. */
int cfg_list_of(struct ctx *c, yaml_node_t *v, const char *what, const char *const *keys,
		   field_fn fn, size_t size, void (*init)(void *), void **out, size_t *n)
{
	size_t cnt;

	if (cfg_want(c, v, YAML_SEQUENCE_NODE, what))
		return -1;
	cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	*out = calloc(cnt ? cnt : 1, size);
	if (!*out)
		return cfg_fail_at(c, v, "out of memory");
	for (*n = 0; *n < cnt; (*n)++) {
		void *el = (char *)*out + *n * size;

		if (init)
			init(el);
		if (cfg_each_field(c, cfg_node(c, v->data.sequence.items.start[*n]), what, keys, fn, el))
			return -1;
	}
	return 0;
}

