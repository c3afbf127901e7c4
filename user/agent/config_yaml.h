/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Reading a libyaml document for config.c: typed scalars, mappings with a
 * fixed set of keys, lists. Every failure writes "FILE:LINE:COL: what" and
 * returns -1, so the schema code is a list of calls.
 */
#ifndef CB_CONFIG_YAML_H
#define CB_CONFIG_YAML_H

#include <yaml.h>
#include "config.h"

struct ctx {
	yaml_document_t doc;
	const char *name;
	struct cb_cfg_err *err;
};

/* config_file.c: one document, nested no deeper than CB_CFG_DEPTH_MAX; 0 or -1 with err. */
int cfg_shape(const char *buf, size_t len, const char *name, struct cb_cfg_err *err);

int cfg_fail_at(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
yaml_node_t *cfg_node(struct ctx *c, int idx);
const char *cfg_text(const yaml_node_t *n);
int cfg_want(struct ctx *c, const yaml_node_t *n, yaml_node_type_t t, const char *what);

/* Visit each key of a mapping; unknown and repeated keys are errors. */
typedef int (*field_fn)(struct ctx *c, const char *key, yaml_node_t *val, void *obj);
int cfg_each_field(struct ctx *c, yaml_node_t *map, const char *what, const char *const *known,
		   field_fn fn, void *obj);
/* A list of mappings parsed by fn into an array of `size`-byte elements. */
int cfg_list_of(struct ctx *c, yaml_node_t *v, const char *what, const char *const *keys,
		field_fn fn, size_t size, void (*init)(void *), void **out, size_t *n);

int cfg_scalar(struct ctx *c, yaml_node_t *v, const char *key, const char **out);
int cfg_uint_of(struct ctx *c, yaml_node_t *v, const char *key, uint64_t max, uint64_t *out);
int cfg_ratio_of(struct ctx *c, yaml_node_t *v, const char *key, double lo, double hi, double *out);
int cfg_bool_of(struct ctx *c, yaml_node_t *v, const char *key, int *out);
int cfg_duration_of(struct ctx *c, yaml_node_t *v, const char *key, uint64_t *ms);
/* The result of a parser of user/lib/parse.c; its reason becomes the message. */
int cfg_parsed(struct ctx *c, yaml_node_t *v, const char *key, int r, const struct cb_err *e);

#endif
