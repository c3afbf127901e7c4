// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The agent's configuration loader: cb_config_parse() on any bytes, then
 * cb_config_free(). Besides memory errors and leaks (ASan/LSan), it checks
 * the contract of config.h:
 *
 * - a failure leaves *out untouched and one message "fuzz.yaml:LINE:COL: what";
 * - a success yields a configuration that is valid as a whole: everything
 *   the agent relies on without checking again (names, families, ports,
 *   counts, step order, durations, ratios, uniqueness) holds.
 */
#include <net/if.h>
#include <netinet/in.h>

#include "fuzz.h"
#include "config.h"

#define NAME "fuzz.yaml"

/* As the datapath keys them: family, address and port. */
static int ep_same(const struct cb_endpoint *a, const struct cb_endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	       !memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

static void check_failure(const struct cb_cfg_err *err)
{
	size_t n = strnlen(err->msg, sizeof(err->msg));
	unsigned long line, col;
	int used = 0;

	FUZZ_CHECK(n < sizeof(err->msg), "error message not terminated");
	FUZZ_CHECK(!strncmp(err->msg, NAME ":", sizeof(NAME)), "'%s' does not name the file", err->msg);
	FUZZ_CHECK(sscanf(err->msg + sizeof(NAME), "%lu:%lu: %n", &line, &col, &used) == 2 && used &&
		   line >= 1 && col >= 1 && err->msg[sizeof(NAME) + used],
		   "'%s' is not FILE:LINE:COL: what", err->msg);
}

static void check_iface(const struct cb_config *c, size_t i)
{
	const struct cb_cfg_iface *f = &c->ifaces[i];
	size_t n = strnlen(f->name, sizeof(f->name));

	FUZZ_CHECK(n > 0 && n < IF_NAMESIZE, "interface %zu: name of length %zu", i, n);
	FUZZ_CHECK(!strpbrk(f->name, "/ "), "interface '%s'", f->name);
	FUZZ_CHECK(f->mode == CB_MODE_XDP || f->mode == CB_MODE_XDP_GENERIC || f->mode == CB_MODE_TC,
		   "interface %s: mode %d", f->name, f->mode);
	for (size_t j = 0; j < i; j++)
		FUZZ_CHECK(strcmp(c->ifaces[j].name, f->name), "interface %s twice", f->name);
}

static void check_rollout(const struct cb_cfg_service *s)
{
	const struct cb_cfg_rollout *r = &s->rollout;
	uint32_t last = 0;

	if (!r->present)
		return;
	FUZZ_CHECK(r->steps && r->nsteps > 0, "%s: a rollout without steps", s->name);
	for (size_t i = 0; i < r->nsteps; i++) {
		if (r->steps[i] == CB_STEP_PAUSE)
			continue;
		FUZZ_CHECK(r->steps[i] <= CB_WEIGHT_MAX, "%s: step %zu is %u bp", s->name, i, r->steps[i]);
		FUZZ_CHECK(!last || r->steps[i] > last, "%s: step %zu not above the one before",
			   s->name, i);
		last = r->steps[i];
	}
	FUZZ_CHECK(r->step_duration_ms > 0 && r->interval_ms > 0 && r->hook_timeout_ms > 0,
		   "%s: a zero duration", s->name);
	FUZZ_CHECK(r->progress_deadline_ms > r->step_duration_ms, "%s: deadline before step end",
		   s->name);
	FUZZ_CHECK(r->max_reset_ratio >= 0 && r->max_reset_ratio <= 1 &&
		   r->max_error_ratio >= 0 && r->max_error_ratio <= 1 &&
		   r->max_connect_failure_ratio >= 0 && r->max_connect_failure_ratio <= 1 &&
		   r->max_latency_ratio >= 1 && r->max_latency_ratio <= 1000,
		   "%s: a ratio out of range", s->name);
	FUZZ_CHECK(r->failure_limit >= 1 && r->min_samples >= 1, "%s: a zero limit", s->name);
	FUZZ_CHECK(s->nbackends[CB_TRACK_STABLE] > 0, "%s: a rollout without stable backends",
		   s->name);
	FUZZ_CHECK(r->on_failure == CB_ON_FAILURE_ROLLBACK || r->on_failure == CB_ON_FAILURE_PAUSE,
		   "%s: on_failure %d", s->name, r->on_failure);
}

static void check_service(const struct cb_config *c, size_t i)
{
	const struct cb_cfg_service *s = &c->services[i];
	struct cb_err err;
	unsigned int bits;

	FUZZ_CHECK(strnlen(s->name, sizeof(s->name)) < sizeof(s->name), "service name not terminated");
	FUZZ_CHECK(!cb_parse_name(s->name, &err), "service name '%s': %s", s->name, err.msg);
	FUZZ_CHECK(s->vip.family == CB_AF_INET || s->vip.family == CB_AF_INET6, "%s: vip family %u",
		   s->name, s->vip.family);
	FUZZ_CHECK(s->vip.port != 0, "%s: vip port 0", s->name);
	FUZZ_CHECK(s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP, "%s: proto %u", s->name, s->proto);
	FUZZ_CHECK(s->affinity == CB_AFFINITY_CONNECTION || s->affinity == CB_AFFINITY_CLIENT,
		   "%s: affinity %u", s->name, s->affinity);
	for (unsigned int t = 0; t < 2; t++) {
		FUZZ_CHECK(s->nbackends[t] <= CB_MAX_TRACK_BACKENDS, "%s: %zu backends", s->name,
			   s->nbackends[t]);
		FUZZ_CHECK(!s->nbackends[t] || s->backends[t], "%s: backends without an array", s->name);
		for (size_t b = 0; b < s->nbackends[t]; b++) {
			const struct cb_endpoint *e = &s->backends[t][b];

			FUZZ_CHECK(e->family == s->vip.family && e->port != 0,
				   "%s: backend %zu of track %u", s->name, b, t);
			for (size_t k = 0; k < b; k++)
				FUZZ_CHECK(!ep_same(&s->backends[t][k], e), "%s: backend listed twice",
					   s->name);
		}
	}
	bits = s->vip.family == CB_AF_INET ? 32 : 128;
	for (size_t o = 0; o < s->noverrides; o++) {
		const struct cb_cfg_override *ov = &s->overrides[o];

		FUZZ_CHECK(ov->net.family == s->vip.family && ov->len <= bits &&
			   (ov->track == CB_TRACK_STABLE || ov->track == CB_TRACK_CANARY),
			   "%s: override %zu", s->name, o);
	}
	if (s->health.type != CB_CHECK_NONE) {
		const struct cb_cfg_health *h = &s->health;

		FUZZ_CHECK(h->type == CB_CHECK_TCP || h->type == CB_CHECK_HTTP, "%s: check %d", s->name,
			   h->type);
		FUZZ_CHECK(h->timeout_ms > 0 && h->timeout_ms < h->interval_ms,
			   "%s: health timeout %llu, interval %llu", s->name,
			   (unsigned long long)h->timeout_ms, (unsigned long long)h->interval_ms);
		FUZZ_CHECK(h->path[0] == '/' && !strpbrk(h->path, " \r\n"), "%s: health path", s->name);
		FUZZ_CHECK(h->unhealthy_after >= 1 && h->healthy_after >= 1, "%s: health counts",
			   s->name);
	}
	check_rollout(s);
	for (size_t j = 0; j < i; j++) {
		const struct cb_cfg_service *o = &c->services[j];

		FUZZ_CHECK(strcmp(o->name, s->name), "service %s twice", s->name);
		FUZZ_CHECK(!ep_same(&o->vip, &s->vip) || o->proto != s->proto,
			   "services %s and %s share vip, port and proto", o->name, s->name);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cb_config cfg, untouched;
	struct cb_cfg_err err;

	/* Not a C string: the parser gets (text, len) exactly as cb_config_load passes a file. */
	memset(&cfg, 0xa5, sizeof(cfg));
	untouched = cfg;
	err.msg[0] = 0;
	if (cb_config_parse((const char *)data, size, NAME, &cfg, &err)) {
		FUZZ_CHECK(!memcmp(&cfg, &untouched, sizeof(cfg)), "a failed parse changed *out");
		check_failure(&err);
		return 0;
	}
	FUZZ_CHECK(!cfg.nifaces || cfg.ifaces, "interfaces without an array");
	FUZZ_CHECK(!cfg.nservices || cfg.services, "services without an array");
	for (size_t i = 0; i < cfg.nifaces; i++)
		check_iface(&cfg, i);
	for (size_t i = 0; i < cfg.nservices; i++)
		check_service(&cfg, i);
	cb_config_free(&cfg);
	return 0;
}
