// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config_yaml.h"

/* ------------------------------------------------------------ the schema */

static int iface_field(struct ctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct cb_cfg_iface *i = obj;
	struct cb_err e;
	const char *s;

	if (cfg_scalar(c, v, key, &s))
		return -1;
	if (!strcmp(key, "name")) {
		if (!*s || strlen(s) >= sizeof(i->name) || strchr(s, '/') || strchr(s, ' '))
			return cfg_fail_at(c, v, "name: '%s' is not an interface name", s);
		snprintf(i->name, sizeof(i->name), "%s", s);
		return 0;
	}
	return cfg_parsed(c, v, key, cb_mode_parse(s, &i->mode, &e), &e);
}

static int override_field(struct ctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct cb_cfg_override *o = obj;
	struct cb_err e;
	const char *s;

	if (cfg_scalar(c, v, key, &s))
		return -1;
	if (!strcmp(key, "cidr"))
		return cfg_parsed(c, v, key, cb_parse_cidr(s, &o->net, &o->len, &e), &e);
	return cfg_parsed(c, v, key, cb_parse_track(s, &o->track, &e), &e);
}

static int health_field(struct ctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct cb_cfg_health *h = obj;
	uint64_t n;
	const char *s;

	if (!strcmp(key, "type")) {
		if (cfg_scalar(c, v, key, &s))
			return -1;
		if (!strcmp(s, "tcp"))
			h->type = CB_CHECK_TCP;
		else if (!strcmp(s, "http"))
			h->type = CB_CHECK_HTTP;
		else
			return cfg_fail_at(c, v, "type: '%s' is not tcp or http", s);
		return 0;
	}
	if (!strcmp(key, "path")) {
		if (cfg_scalar(c, v, key, &s))
			return -1;
		if (s[0] != '/' || strlen(s) >= sizeof(h->path) || strpbrk(s, " \r\n"))
			return cfg_fail_at(c, v, "path: '%s' is not an absolute URL path", s);
		snprintf(h->path, sizeof(h->path), "%s", s);
		return 0;
	}
	if (!strcmp(key, "interval"))
		return cfg_duration_of(c, v, key, &h->interval_ms);
	if (!strcmp(key, "timeout"))
		return cfg_duration_of(c, v, key, &h->timeout_ms);
	if (cfg_uint_of(c, v, key, 100, &n))
		return -1;
	if (n == 0)
		return cfg_fail_at(c, v, "%s must be at least 1", key);
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
		return cfg_duration_of(c, v, key, &r->interval_ms);
	if (!strcmp(key, "max_reset_ratio"))
		return cfg_ratio_of(c, v, key, 0, 1, &r->max_reset_ratio);
	if (!strcmp(key, "max_error_ratio"))
		return cfg_ratio_of(c, v, key, 0, 1, &r->max_error_ratio);
	if (!strcmp(key, "max_latency_ratio"))
		return cfg_ratio_of(c, v, key, 1, 1000, &r->max_latency_ratio);
	if (!strcmp(key, "max_connect_failure_ratio"))
		return cfg_ratio_of(c, v, key, 0, 1, &r->max_connect_failure_ratio);
	if (!strcmp(key, "min_samples")) {
		if (cfg_uint_of(c, v, key, 1000000, &r->min_samples))
			return -1;
		return r->min_samples ? 0 : cfg_fail_at(c, v, "min_samples must be at least 1");
	}
	if (cfg_uint_of(c, v, key, 1000, &n))
		return -1;
	if (n == 0)
		return cfg_fail_at(c, v, "failure_limit must be at least 1");
	r->failure_limit = (unsigned int)n;
	return 0;
}

static int hook_field(struct ctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct cb_cfg_rollout *r = obj;
	const char *s;
	char **dst = !strcmp(key, "on_promote") ? &r->on_promote : &r->on_rollback;

	if (!strcmp(key, "timeout"))
		return cfg_duration_of(c, v, key, &r->hook_timeout_ms);
	if (cfg_scalar(c, v, key, &s))
		return -1;
	free(*dst);
	*dst = strdup(s);
	return *dst ? 0 : cfg_fail_at(c, v, "out of memory");
}

static int steps_of(struct ctx *c, yaml_node_t *v, struct cb_cfg_rollout *r)
{
	uint32_t last = 0;
	size_t n;

	if (cfg_want(c, v, YAML_SEQUENCE_NODE, "steps"))
		return -1;
	/* Only now: for a scalar or a mapping, data.sequence is another union member. */
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n == 0)
		return cfg_fail_at(c, v, "steps: at least one step");
	r->steps = calloc(n, sizeof(*r->steps));
	if (!r->steps)
		return cfg_fail_at(c, v, "out of memory");
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *s = cfg_node(c, v->data.sequence.items.start[i]);
		struct cb_err e;
		uint32_t bp;

		if (cfg_want(c, s, YAML_SCALAR_NODE, "a step"))
			return -1;
		if (!strcmp(cfg_text(s), "pause")) {
			r->steps[r->nsteps++] = CB_STEP_PAUSE;
			continue;
		}
		if (cb_parse_percent(cfg_text(s), &bp, &e))
			return cfg_fail_at(c, s, "steps: %s", e.msg);
		if (bp <= last && last)
			return cfg_fail_at(c, s, "steps: %s is not above the step before", cfg_text(s));
		last = bp;
		r->steps[r->nsteps++] = bp;
	}
	return 0;
}

static const char *const analysis_keys[] = {
	"interval", "max_reset_ratio", "max_error_ratio", "max_latency_ratio", "failure_limit",
	"max_connect_failure_ratio", "min_samples", NULL,
};
static const char *const hook_keys[] = { "on_promote", "on_rollback", "timeout", NULL };

static int rollout_field(struct ctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct cb_cfg_rollout *r = obj;
	const char *s;

	if (!strcmp(key, "steps"))
		return steps_of(c, v, r);
	if (!strcmp(key, "step_duration"))
		return cfg_duration_of(c, v, key, &r->step_duration_ms);
	if (!strcmp(key, "progress_deadline"))
		return cfg_duration_of(c, v, key, &r->progress_deadline_ms);
	if (!strcmp(key, "min_connections"))
		return cfg_uint_of(c, v, key, 1000000000ULL, &r->min_connections);
	if (!strcmp(key, "analysis"))
		return cfg_each_field(c, v, "analysis", analysis_keys, analysis_field, r);
	if (!strcmp(key, "hooks"))
		return cfg_each_field(c, v, "hooks", hook_keys, hook_field, r);
	if (!strcmp(key, "auto_promote"))
		return cfg_bool_of(c, v, key, &r->auto_promote);
	if (!strcmp(key, "drain_on_rollback"))
		return cfg_bool_of(c, v, key, &r->drain_on_rollback);
	if (cfg_scalar(c, v, key, &s))
		return -1;
	if (!strcmp(s, "rollback"))
		r->on_failure = CB_ON_FAILURE_ROLLBACK;
	else if (!strcmp(s, "pause"))
		r->on_failure = CB_ON_FAILURE_PAUSE;
	else
		return cfg_fail_at(c, v, "on_failure: '%s' is not rollback or pause", s);
	return 0;
}

static const char *const iface_keys[] = { "name", "mode", NULL };
static const char *const override_keys[] = { "cidr", "track", NULL };
static const char *const health_keys[] = {
	"type", "path", "interval", "timeout", "unhealthy_after", "healthy_after", NULL,
};
static const char *const rollout_keys[] = {
	"steps", "step_duration", "progress_deadline", "min_connections", "analysis",
	"hooks", "auto_promote", "on_failure", "drain_on_rollback", NULL,
};

static int backends_of(struct ctx *c, yaml_node_t *v, const char *key, struct cb_endpoint **out,
		       size_t *n)
{
	size_t cnt;

	if (cfg_want(c, v, YAML_SEQUENCE_NODE, key))
		return -1;
	cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	*out = calloc(cnt ? cnt : 1, sizeof(**out));
	if (!*out)
		return cfg_fail_at(c, v, "out of memory");
	for (*n = 0; *n < cnt; (*n)++) {
		yaml_node_t *b = cfg_node(c, v->data.sequence.items.start[*n]);
		struct cb_err e;

		if (cfg_want(c, b, YAML_SCALAR_NODE, "a backend") ||
		    cfg_parsed(c, b, key, cb_parse_endpoint(cfg_text(b), &(*out)[*n], &e), &e))
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
	"health_check", "rollout", "release", NULL,
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
	r->max_connect_failure_ratio = 0.01;
	r->min_samples = 20;
	r->hook_timeout_ms = 30000;
	r->drain_on_rollback = 1;
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
		return cfg_list_of(c, v, "an override", override_keys, override_field,
			       sizeof(*s->overrides), NULL, (void **)&s->overrides, &s->noverrides);
	if (!strcmp(key, "health_check")) {
		s->health.type = CB_CHECK_TCP;
		return cfg_each_field(c, v, "health_check", health_keys, health_field, &s->health);
	}
	if (!strcmp(key, "rollout")) {
		s->rollout.present = 1;
		return cfg_each_field(c, v, "rollout", rollout_keys, rollout_field, &s->rollout);
	}
	if (cfg_scalar(c, v, key, &t))
		return -1;
	if (!strcmp(key, "name")) {
		if (cb_parse_name(t, &e))
			return cfg_fail_at(c, v, "name: %s", e.msg);
		snprintf(s->name, sizeof(s->name), "%s", t);
	} else if (!strcmp(key, "release")) {
		/* A release is named as a service is: an image tag, a chart version. */
		if (cb_parse_name(t, &e))
			return cfg_fail_at(c, v, "release: %s", e.msg);
		snprintf(s->release, sizeof(s->release), "%s", t);
	} else if (!strcmp(key, "vip")) {
		sp->vip = t;
	} else if (!strcmp(key, "port")) {
		sp->port = t;
	} else if (!strcmp(key, "proto")) {
		return cfg_parsed(c, v, key, cb_parse_proto(t, &s->proto, &e), &e);
	} else {
		return cfg_parsed(c, v, key, cb_parse_affinity(t, &s->affinity, &e), &e);
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
		return cfg_fail_at(c, map, "a service needs a name");
	if (!sp->vip || !sp->port)
		return cfg_fail_at(c, map, "service %s needs vip and port", s->name);
	if (cb_parse_addr(sp->vip, &s->vip, &e))
		return cfg_fail_at(c, sp->at[1], "vip: %s", e.msg);
	if (cb_parse_port(sp->port, &port, &e))
		return cfg_fail_at(c, sp->at[2], "port: %s", e.msg);
	s->vip.port = port;
	for (unsigned int t = 0; t < 2; t++) {
		/*
		 * The count first: the duplicate check below is quadratic, and a
		 * file of a million backends (16 MB are read) would hold the agent
		 * for minutes before this error.
		 */
		if (s->nbackends[t] > CB_MAX_TRACK_BACKENDS)
			return cfg_fail_at(c, sp->at[5 + t], "at most %d backends a track",
				       CB_MAX_TRACK_BACKENDS);
		for (size_t i = 0; i < s->nbackends[t]; i++) {
			struct cb_endpoint *b = &s->backends[t][i];
			yaml_node_t *at = cfg_node(c, sp->at[5 + t]->data.sequence.items.start[i]);

			if (b->family != s->vip.family)
				return cfg_fail_at(c, at, "%s: %s is not of the vip's family",
					       t ? "canary" : "stable", cfg_text(at));
			if (!b->port)
				b->port = port;
			for (size_t j = 0; j < i; j++)
				if (!memcmp(&s->backends[t][j].addr, &b->addr, sizeof(b->addr)) &&
				    s->backends[t][j].port == b->port)
					return cfg_fail_at(c, at, "%s: %s is listed twice",
						       t ? "canary" : "stable", cfg_text(at));
		}
	}
	for (size_t i = 0; i < s->noverrides; i++)
		if (s->overrides[i].net.family != s->vip.family)
			return cfg_fail_at(c, sp->at[7], "overrides: a CIDR of another family than the vip");
	if (s->health.type != CB_CHECK_NONE && s->health.timeout_ms >= s->health.interval_ms)
		return cfg_fail_at(c, sp->at[8], "health_check: timeout must be shorter than interval");
	if (s->rollout.present && !s->rollout.steps)
		return cfg_fail_at(c, sp->at[9], "rollout needs steps");
	if (s->rollout.present && s->rollout.progress_deadline_ms <= s->rollout.step_duration_ms)
		return cfg_fail_at(c, sp->at[9], "rollout: progress_deadline must be longer than "
				   "step_duration");
	if (s->rollout.present && !s->nbackends[CB_TRACK_STABLE])
		return cfg_fail_at(c, sp->at[9], "a rollout needs stable backends to fall back to");
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

/* Service i against the good ones before it: names, and VIP:port/proto. */
static int service_unique(struct ctx *c, yaml_node_t *m, const struct cb_config *cfg,
			  const unsigned char *ok, size_t i)
{
	const struct cb_cfg_service *s = &cfg->services[i];

	for (size_t j = 0; j < i; j++) {
		const struct cb_cfg_service *o = &cfg->services[j];

		if (!ok[j])
			continue;
		if (!strcmp(o->name, s->name))
			return cfg_fail_at(c, m, "service %s is defined twice", s->name);
		/*
		 * The family too, as in the datapath's service key: 10.0.0.1
		 * and a00:1:: have the same 16 address bytes (IPv4 uses the
		 * first 4) but are different VIPs.
		 */
		if (o->vip.family == s->vip.family &&
		    !memcmp(&o->vip.addr, &s->vip.addr, sizeof(o->vip.addr)) &&
		    o->vip.port == s->vip.port && o->proto == s->proto)
			return cfg_fail_at(c, m, "services %s and %s have the same vip, port and proto",
				       o->name, s->name);
	}
	return 0;
}

static int services_of(struct ctx *c, yaml_node_t *v, struct cb_config *cfg)
{
	unsigned char *ok;
	int failed = 0;
	size_t cnt;

	if (cfg_want(c, v, YAML_SEQUENCE_NODE, "services"))
		return -1;
	cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	/* No more than the datapath holds, and the duplicate checks below stay bounded. */
	if (cnt > CB_MAX_SERVICES)
		return cfg_fail_at(c, v, "at most %d services", CB_MAX_SERVICES);
	cfg->services = calloc(cnt ? cnt : 1, sizeof(*cfg->services));
	if (!cfg->services)
		return cfg_fail_at(c, v, "out of memory");
	/* Each service is checked on its own: --validate reports every bad one. */
	ok = calloc(cnt ? cnt : 1, 1);
	if (!ok)
		return cfg_fail_at(c, v, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *m = cfg_node(c, v->data.sequence.items.start[i]);
		struct svc_parse sp = { .s = &cfg->services[i] };

		service_init(sp.s);
		cfg->nservices = i + 1;
		if (cfg_each_field(c, m, "a service", service_keys, service_field, &sp) ||
		    service_check(c, m, &sp) || service_unique(c, m, cfg, ok, i)) {
			failed = -1;
			if (c->err->count >= CB_CFG_ERRORS_MAX)
				break;
			continue;
		}
		ok[i] = 1;
	}
	free(ok);
	return failed;
}

static const char *const top_keys[] = { "interfaces", "services", "conntrack", "seed_file", NULL };
static const char *const conntrack_keys[] = { "entries", NULL };

static int conntrack_field(struct ctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct cb_config *cfg = obj;
	uint64_t n;

	(void)key;
	if (cfg_uint_of(c, v, "entries", CB_CT_ENTRIES_MAX, &n))
		return -1;
	if (n < CB_CT_ENTRIES_MIN)
		return cfg_fail_at(c, v, "entries: at least %d", CB_CT_ENTRIES_MIN);
	cfg->ct_entries = (uint32_t)n;
	return 0;
}

static int top_field(struct ctx *c, const char *key, yaml_node_t *v, void *obj)
{
	struct cb_config *cfg = obj;
	const char *s;

	if (!strcmp(key, "services"))
		return services_of(c, v, cfg);
	if (!strcmp(key, "conntrack"))
		return cfg_each_field(c, v, "conntrack", conntrack_keys, conntrack_field, cfg);
	if (!strcmp(key, "seed_file")) {
		if (cfg_scalar(c, v, key, &s))
			return -1;
		if (s[0] != '/' || strlen(s) >= sizeof(cfg->seed_file))
			return cfg_fail_at(c, v, "seed_file: '%s' is not an absolute path", s);
		snprintf(cfg->seed_file, sizeof(cfg->seed_file), "%s", s);
		cfg->seed_line = (unsigned int)v->start_mark.line + 1;
		cfg->seed_col = (unsigned int)v->start_mark.column + 1;
		return 0;
	}
	if (cfg_list_of(c, v, "an interface", iface_keys, iface_field, sizeof(*cfg->ifaces), NULL,
		    (void **)&cfg->ifaces, &cfg->nifaces))
		return -1;
	for (size_t i = 0; i < cfg->nifaces; i++) {
		if (!cfg->ifaces[i].name[0])
			return cfg_fail_at(c, cfg_node(c, v->data.sequence.items.start[i]), "an interface needs a name");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg->ifaces[i].name, cfg->ifaces[j].name))
				return cfg_fail_at(c, cfg_node(c, v->data.sequence.items.start[i]),
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

	memset(err, 0, sizeof(*err));
	if (cfg_shape(buf, len, name, err))
		return -1;
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
	else if (cfg_each_field(&c, root, "the file", top_keys, top_field, &cfg) == 0)
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
