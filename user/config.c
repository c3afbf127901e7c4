// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct ctx {
	yaml_document_t doc;
	const char *name;
	struct cb_cfg_err *err;
};

static int fail_at(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_at(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	char what[CB_CFG_ERR_LEN / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(c->err->msg, sizeof(c->err->msg), "%s:%zu:%zu: %s", c->name,
		 n ? n->start_mark.line + 1 : 1, n ? n->start_mark.column + 1 : 1, what);
	return -1;
}

static yaml_node_t *node(struct ctx *c, int idx)
{
	return yaml_document_get_node(&c->doc, idx);
}

static const char *text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static int want(struct ctx *c, const yaml_node_t *n, yaml_node_type_t t, const char *what)
{
	static const char *const kind[] = { "", "a value", "a list", "a mapping" };

	if (n->type == t)
		return 0;
	return fail_at(c, n, "%s must be %s", what, kind[t]);
}

/* Visit each key of a mapping; unknown and repeated keys are errors. */
typedef int (*field_fn)(struct ctx *c, const char *key, yaml_node_t *val, void *obj);

static int each_field(struct ctx *c, yaml_node_t *map, const char *what,
		      const char *const *known, field_fn fn, void *obj)
{
	unsigned long seen = 0;

	if (want(c, map, YAML_MAPPING_NODE, what))
		return -1;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
		size_t i;

		if (want(c, k, YAML_SCALAR_NODE, "a key"))
			return -1;
		for (i = 0; known[i] && strcmp(known[i], text(k)); i++)
			;
		if (!known[i])
			return fail_at(c, k, "unknown key '%s' in %s", text(k), what);
		if (seen & (1UL << i))
			return fail_at(c, k, "'%s' given twice in %s", text(k), what);
		seen |= 1UL << i;
		if (fn(c, text(k), v, obj))
			return -1;
	}
	return 0;
}

static int scalar(struct ctx *c, yaml_node_t *v, const char *key, const char **out)
{
	if (want(c, v, YAML_SCALAR_NODE, key))
		return -1;
	*out = text(v);
	return 0;
}

static int uint_of(struct ctx *c, yaml_node_t *v, const char *key, uint64_t max, uint64_t *out)
{
	const char *s;
	char *end;

	if (scalar(c, v, key, &s))
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (!*s || *end || s[0] == '-' || errno || *out > max)
		return fail_at(c, v, "%s: '%s' is not a whole number 0..%llu", key, s,
			       (unsigned long long)max);
	return 0;
}

static int ratio_of(struct ctx *c, yaml_node_t *v, const char *key, double lo, double hi,
		    double *out)
{
	const char *s;
	char *end;

	if (scalar(c, v, key, &s))
		return -1;
	*out = strtod(s, &end);
	if (!*text(v) || *end || !(*out >= lo && *out <= hi))
		return fail_at(c, v, "%s: '%s' is not a number %g..%g", key, text(v), lo, hi);
	return 0;
}

static int bool_of(struct ctx *c, yaml_node_t *v, const char *key, int *out)
{
	const char *s;

	if (scalar(c, v, key, &s))
		return -1;
	if (!strcmp(text(v), "true"))
		*out = 1;
	else if (!strcmp(text(v), "false"))
		*out = 0;
	else
		return fail_at(c, v, "%s: '%s' is not true or false", key, text(v));
	return 0;
}

int cb_parse_duration(const char *s, uint64_t *ms)
{
	static const struct { const char *unit; uint64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};
	uint64_t v = 0;
	const char *p = s;

	if (!s || *p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > 1000000000ULL)
			return -1;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(p, units[i].unit)) {
			*ms = v * units[i].ms;
			return 0;
		}
	return -1;
}

static int duration_of(struct ctx *c, yaml_node_t *v, const char *key, uint64_t *ms)
{
	const char *s;

	if (scalar(c, v, key, &s))
		return -1;
	if (cb_parse_duration(text(v), ms) || *ms == 0)
		return fail_at(c, v, "%s: '%s' is not a duration (e.g. 500ms, 30s, 5m, 1h)", key,
			       text(v));
	return 0;
}

/* The result of a parser of user/parse.c; its reason becomes the message. */
static int parsed(struct ctx *c, yaml_node_t *v, const char *key, int r, const struct cb_err *e)
{
	return r ? fail_at(c, v, "%s: %s", key, e->msg) : 0;
}

/* ------------------------------------------------------------ the schema */

static int iface_field(struct ctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct cb_cfg_iface *i = obj;
	const char *s;

	if (scalar(c, v, key, &s))
		return -1;
	if (!strcmp(key, "name")) {
		if (!*s || strlen(s) >= sizeof(i->name) || strchr(s, '/') || strchr(s, ' '))
			return fail_at(c, v, "name: '%s' is not an interface name", s);
		snprintf(i->name, sizeof(i->name), "%s", s);
	} else if (!strcmp(s, "xdp")) {
		i->mode = CB_CFG_XDP;
	} else if (!strcmp(s, "xdp-generic")) {
		i->mode = CB_CFG_XDP_GENERIC;
	} else if (!strcmp(s, "tc")) {
		i->mode = CB_CFG_TC;
	} else {
		return fail_at(c, v, "mode: '%s' is not xdp, xdp-generic or tc", s);
	}
	return 0;
}

static int override_field(struct ctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct cb_cfg_override *o = obj;
	struct cb_err e;
	const char *s;

	if (scalar(c, v, key, &s))
		return -1;
	if (!strcmp(key, "cidr"))
		return parsed(c, v, key, cb_parse_cidr(s, &o->net, &o->len, &e), &e);
	return parsed(c, v, key, cb_parse_track(s, &o->track, &e), &e);
}

static int health_field(struct ctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct cb_cfg_health *h = obj;
	uint64_t n;
	const char *s;

	if (!strcmp(key, "type")) {
		if (scalar(c, v, key, &s))
			return -1;
		if (!strcmp(s, "tcp"))
			h->type = CB_CHECK_TCP;
		else if (!strcmp(s, "http"))
			h->type = CB_CHECK_HTTP;
		else
			return fail_at(c, v, "type: '%s' is not tcp or http", s);
		return 0;
	}
	if (!strcmp(key, "path")) {
		if (scalar(c, v, key, &s))
			return -1;
		if (s[0] != '/' || strlen(s) >= sizeof(h->path) || strpbrk(s, " \r\n"))
			return fail_at(c, v, "path: '%s' is not an absolute URL path", s);
		snprintf(h->path, sizeof(h->path), "%s", s);
		return 0;
	}
	if (!strcmp(key, "interval"))
		return duration_of(c, v, key, &h->interval_ms);
	if (!strcmp(key, "timeout"))
		return duration_of(c, v, key, &h->timeout_ms);
	if (uint_of(c, v, key, 100, &n))
		return -1;
	if (n == 0)
		return fail_at(c, v, "%s must be at least 1", key);
	if (!strcmp(key, "unhealthy_after"))
		h->unhealthy_after = (unsigned int)n;
	else
		h->healthy_after = (unsigned int)n;
	return 0;
}

static int analysis_field(struct ctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct cb_cfg_rollout *r = obj;
	uint64_t n;

	if (!strcmp(key, "interval"))
		return duration_of(c, v, key, &r->interval_ms);
	if (!strcmp(key, "max_reset_ratio"))
		return ratio_of(c, v, key, 0, 1, &r->max_reset_ratio);
	if (!strcmp(key, "max_error_ratio"))
		return ratio_of(c, v, key, 0, 1, &r->max_error_ratio);
	if (!strcmp(key, "max_latency_ratio"))
		return ratio_of(c, v, key, 1, 1000, &r->max_latency_ratio);
	if (uint_of(c, v, key, 1000, &n))
		return -1;
	if (n == 0)
		return fail_at(c, v, "failure_limit must be at least 1");
	r->failure_limit = (unsigned int)n;
	return 0;
}

static int hook_field(struct ctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct cb_cfg_rollout *r = obj;
	const char *s;
	char **dst = !strcmp(key, "on_promote") ? &r->on_promote : &r->on_rollback;

	if (scalar(c, v, key, &s))
		return -1;
	free(*dst);
	*dst = strdup(s);
	return *dst ? 0 : fail_at(c, v, "out of memory");
}

static int steps_of(struct ctx *c, yaml_node_t *v, struct cb_cfg_rollout *r)
{
	size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	uint32_t last = 0;

	if (want(c, v, YAML_SEQUENCE_NODE, "steps"))
		return -1;
	if (n == 0)
		return fail_at(c, v, "steps: at least one step");
	r->steps = calloc(n, sizeof(*r->steps));
	if (!r->steps)
		return fail_at(c, v, "out of memory");
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *s = node(c, v->data.sequence.items.start[i]);
		struct cb_err e;
		uint32_t bp;

		if (want(c, s, YAML_SCALAR_NODE, "a step"))
			return -1;
		if (!strcmp(text(s), "pause")) {
			r->steps[r->nsteps++] = CB_STEP_PAUSE;
			continue;
		}
		if (cb_parse_percent(text(s), &bp, &e))
			return fail_at(c, s, "steps: %s", e.msg);
		if (bp <= last && last)
			return fail_at(c, s, "steps: %s is not above the step before", text(s));
		last = bp;
		r->steps[r->nsteps++] = bp;
	}
	return 0;
}

static const char *const analysis_keys[] = {
	"interval", "max_reset_ratio", "max_error_ratio", "max_latency_ratio", "failure_limit", NULL,
};
static const char *const hook_keys[] = { "on_promote", "on_rollback", NULL };

static int rollout_field(struct ctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct cb_cfg_rollout *r = obj;
	const char *s;

	if (!strcmp(key, "steps"))
		return steps_of(c, v, r);
	if (!strcmp(key, "step_duration"))
		return duration_of(c, v, key, &r->step_duration_ms);
	if (!strcmp(key, "progress_deadline"))
		return duration_of(c, v, key, &r->progress_deadline_ms);
	if (!strcmp(key, "min_connections"))
		return uint_of(c, v, key, 1000000000ULL, &r->min_connections);
	if (!strcmp(key, "analysis"))
		return each_field(c, v, "analysis", analysis_keys, analysis_field, r);
	if (!strcmp(key, "hooks"))
		return each_field(c, v, "hooks", hook_keys, hook_field, r);
	if (!strcmp(key, "auto_promote"))
		return bool_of(c, v, key, &r->auto_promote);
	if (scalar(c, v, key, &s))
		return -1;
	if (!strcmp(s, "rollback"))
		r->on_failure = CB_ON_FAILURE_ROLLBACK;
	else if (!strcmp(s, "pause"))
		r->on_failure = CB_ON_FAILURE_PAUSE;
	else
		return fail_at(c, v, "on_failure: '%s' is not rollback or pause", s);
	return 0;
}

static const char *const iface_keys[] = { "name", "mode", NULL };
static const char *const override_keys[] = { "cidr", "track", NULL };
static const char *const health_keys[] = {
	"type", "path", "interval", "timeout", "unhealthy_after", "healthy_after", NULL,
};
static const char *const rollout_keys[] = {
	"steps", "step_duration", "progress_deadline", "min_connections", "analysis",
	"hooks", "auto_promote", "on_failure", NULL,
};

/* A list of mappings parsed by fn into an array of `size`-byte elements. */
static int list_of(struct ctx *c, yaml_node_t *v, const char *what, const char *const *keys,
		   field_fn fn, size_t size, void (*init)(void *), void **out, size_t *n)
{
	size_t cnt;

	if (want(c, v, YAML_SEQUENCE_NODE, what))
		return -1;
	cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	*out = calloc(cnt ? cnt : 1, size);
	if (!*out)
		return fail_at(c, v, "out of memory");
	for (*n = 0; *n < cnt; (*n)++) {
		void *el = (char *)*out + *n * size;

		if (init)
			init(el);
		if (each_field(c, node(c, v->data.sequence.items.start[*n]), what, keys, fn, el))
			return -1;
	}
	return 0;
}

static int backends_of(struct ctx *c, yaml_node_t *v, const char *key, struct cb_endpoint **out,
		       size_t *n)
{
	size_t cnt;

	if (want(c, v, YAML_SEQUENCE_NODE, key))
		return -1;
	cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	*out = calloc(cnt ? cnt : 1, sizeof(**out));
	if (!*out)
		return fail_at(c, v, "out of memory");
	for (*n = 0; *n < cnt; (*n)++) {
		yaml_node_t *b = node(c, v->data.sequence.items.start[*n]);
		struct cb_err e;

		if (want(c, b, YAML_SCALAR_NODE, "a backend") ||
		    parsed(c, b, key, cb_parse_endpoint(text(b), &(*out)[*n], &e), &e))
			return -1;
	}
	return 0;
}

/* Where each service key was, for checks that need the whole service. */
struct svc_parse {
	struct cb_cfg_service *s;
	yaml_node_t *at[16];
	const char *vip, *port;
};

static const char *const service_keys[] = {
	"name", "vip", "port", "proto", "affinity", "stable", "canary", "overrides",
	"health_check", "rollout", NULL,
};

static int key_index(const char *const *keys, const char *key)
{
	for (int i = 0; keys[i]; i++)
		if (!strcmp(keys[i], key))
			return i;
	return -1;
}

static void health_init(struct cb_cfg_health *h)
{
	h->interval_ms = 2000;
	h->timeout_ms = 1000;
	h->unhealthy_after = 3;
	h->healthy_after = 2;
	snprintf(h->path, sizeof(h->path), "/");
}

static void rollout_init(struct cb_cfg_rollout *r)
{
	r->step_duration_ms = 30000;
	r->progress_deadline_ms = 600000;
	r->min_connections = 100;
	r->interval_ms = 1000;
	r->max_reset_ratio = 0.01;
	r->max_error_ratio = 0.01;
	r->max_latency_ratio = 1.5;
	r->failure_limit = 2;
	r->auto_promote = 1;
	r->on_failure = CB_ON_FAILURE_ROLLBACK;
}

static int service_field(struct ctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct svc_parse *sp = obj;
	struct cb_cfg_service *s = sp->s;
	struct cb_err e;
	const char *t;

	sp->at[key_index(service_keys, key)] = v;
	if (!strcmp(key, "stable") || !strcmp(key, "canary")) {
		unsigned int tr = key[0] == 'c';

		return backends_of(c, v, key, &s->backends[tr], &s->nbackends[tr]);
	}
	if (!strcmp(key, "overrides"))
		return list_of(c, v, "an override", override_keys, override_field,
			       sizeof(*s->overrides), NULL, (void **)&s->overrides, &s->noverrides);
	if (!strcmp(key, "health_check")) {
		s->health.type = CB_CHECK_TCP;
		return each_field(c, v, "health_check", health_keys, health_field, &s->health);
	}
	if (!strcmp(key, "rollout")) {
		s->rollout.present = 1;
		return each_field(c, v, "rollout", rollout_keys, rollout_field, &s->rollout);
	}
	if (scalar(c, v, key, &t))
		return -1;
	if (!strcmp(key, "name")) {
		if (cb_parse_name(t, &e))
			return fail_at(c, v, "name: %s", e.msg);
		snprintf(s->name, sizeof(s->name), "%s", t);
	} else if (!strcmp(key, "vip")) {
		sp->vip = t;
	} else if (!strcmp(key, "port")) {
		sp->port = t;
	} else if (!strcmp(key, "proto")) {
		return parsed(c, v, key, cb_parse_proto(t, &s->proto, &e), &e);
	} else {
		return parsed(c, v, key, cb_parse_affinity(t, &s->affinity, &e), &e);
	}
	return 0;
}

/* Checks across keys of one service: required keys, families, duplicates. */
static int service_check(struct ctx *c, yaml_node_t *map, struct svc_parse *sp)
{
	struct cb_cfg_service *s = sp->s;
	struct cb_err e;
	uint16_t port;

	if (!s->name[0])
		return fail_at(c, map, "a service needs a name");
	if (!sp->vip || !sp->port)
		return fail_at(c, map, "service %s needs vip and port", s->name);
	if (cb_parse_addr(sp->vip, &s->vip, &e))
		return fail_at(c, sp->at[1], "vip: %s", e.msg);
	if (cb_parse_port(sp->port, &port, &e))
		return fail_at(c, sp->at[2], "port: %s", e.msg);
	s->vip.port = port;
	for (unsigned int t = 0; t < 2; t++) {
		for (size_t i = 0; i < s->nbackends[t]; i++) {
			struct cb_endpoint *b = &s->backends[t][i];
			yaml_node_t *at = node(c, sp->at[5 + t]->data.sequence.items.start[i]);

			if (b->family != s->vip.family)
				return fail_at(c, at, "%s: %s is not of the vip's family",
					       t ? "canary" : "stable", text(at));
			if (!b->port)
				b->port = port;
			for (size_t j = 0; j < i; j++)
				if (!memcmp(&s->backends[t][j].addr, &b->addr, sizeof(b->addr)) &&
				    s->backends[t][j].port == b->port)
					return fail_at(c, at, "%s: %s is listed twice",
						       t ? "canary" : "stable", text(at));
		}
		if (s->nbackends[t] > CB_MAX_TRACK_BACKENDS)
			return fail_at(c, sp->at[5 + t], "at most %d backends a track",
				       CB_MAX_TRACK_BACKENDS);
	}
	for (size_t i = 0; i < s->noverrides; i++)
		if (s->overrides[i].net.family != s->vip.family)
			return fail_at(c, sp->at[7], "overrides: a CIDR of another family than the vip");
	if (s->health.type != CB_CHECK_NONE && s->health.timeout_ms >= s->health.interval_ms)
		return fail_at(c, sp->at[8], "health_check: timeout must be shorter than interval");
	if (s->rollout.present && !s->rollout.steps)
		return fail_at(c, sp->at[9], "rollout needs steps");
	return 0;
}

static void service_init(void *el)
{
	struct cb_cfg_service *s = el;

	s->proto = IPPROTO_TCP;
	s->affinity = CB_AFFINITY_CONNECTION;
	health_init(&s->health);
	rollout_init(&s->rollout);
}

static int services_of(struct ctx *c, yaml_node_t *v, struct cb_config *cfg)
{
	size_t cnt;

	if (want(c, v, YAML_SEQUENCE_NODE, "services"))
		return -1;
	cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	cfg->services = calloc(cnt ? cnt : 1, sizeof(*cfg->services));
	if (!cfg->services)
		return fail_at(c, v, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *m = node(c, v->data.sequence.items.start[i]);
		struct svc_parse sp = { .s = &cfg->services[i] };

		service_init(sp.s);
		cfg->nservices = i + 1;
		if (each_field(c, m, "a service", service_keys, service_field, &sp) ||
		    service_check(c, m, &sp))
			return -1;
		for (size_t j = 0; j < i; j++) {
			struct cb_cfg_service *o = &cfg->services[j];

			if (!strcmp(o->name, sp.s->name))
				return fail_at(c, m, "service %s is defined twice", sp.s->name);
			if (!memcmp(&o->vip.addr, &sp.s->vip.addr, sizeof(o->vip.addr)) &&
			    o->vip.port == sp.s->vip.port && o->proto == sp.s->proto)
				return fail_at(c, m, "services %s and %s have the same vip, port and proto",
					       o->name, sp.s->name);
		}
	}
	return 0;
}

static const char *const top_keys[] = { "interfaces", "services", NULL };

static int top_field(struct ctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct cb_config *cfg = obj;

	if (!strcmp(key, "services"))
		return services_of(c, v, cfg);
	if (list_of(c, v, "an interface", iface_keys, iface_field, sizeof(*cfg->ifaces), NULL,
		    (void **)&cfg->ifaces, &cfg->nifaces))
		return -1;
	for (size_t i = 0; i < cfg->nifaces; i++) {
		if (!cfg->ifaces[i].name[0])
			return fail_at(c, node(c, v->data.sequence.items.start[i]), "an interface needs a name");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg->ifaces[i].name, cfg->ifaces[j].name))
				return fail_at(c, node(c, v->data.sequence.items.start[i]),
					       "interface %s is listed twice", cfg->ifaces[i].name);
	}
	return 0;
}

void cb_config_free(struct cb_config *cfg)
{
	for (size_t i = 0; cfg && cfg->services && i < cfg->nservices; i++) {
		struct cb_cfg_service *s = &cfg->services[i];

		free(s->backends[0]);
		free(s->backends[1]);
		free(s->overrides);
		free(s->rollout.steps);
		free(s->rollout.on_promote);
		free(s->rollout.on_rollback);
	}
	if (cfg) {
		free(cfg->services);
		free(cfg->ifaces);
		memset(cfg, 0, sizeof(*cfg));
	}
}

int cb_config_parse(const char *buf, size_t len, const char *name, struct cb_config *out,
		    struct cb_cfg_err *err)
{
	struct cb_config cfg = { 0 };
	struct ctx c = { .name = name, .err = err };
	yaml_parser_t parser;
	yaml_node_t *root;
	int r = -1;

	if (!yaml_parser_initialize(&parser)) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot start the YAML parser", name);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &c.doc)) {
		snprintf(err->msg, sizeof(err->msg), "%s:%zu:%zu: %s", name,
			 parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			 parser.problem ? parser.problem : "not YAML");
		yaml_parser_delete(&parser);
		return -1;
	}
	root = yaml_document_get_root_node(&c.doc);
	if (!root)
		snprintf(err->msg, sizeof(err->msg), "%s:1:1: the file is empty", name);
	else if (each_field(&c, root, "the file", top_keys, top_field, &cfg) == 0)
		r = 0;
	yaml_document_delete(&c.doc);
	yaml_parser_delete(&parser);
	if (r) {
		cb_config_free(&cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

int cb_config_load(const char *path, struct cb_config *out, struct cb_cfg_err *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int r;

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
	return r;
}
