// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The agent's YAML configuration (user/agent/config.c): every SPEC key, and precise errors. */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"

/* SPEC.md's example, word for word. */
static const char spec_example[] =
"interfaces:\n"
"  - name: eth0\n"
"    mode: xdp\n"
"services:\n"
"  - name: checkout\n"
"    vip: 10.96.0.10\n"
"    port: 80\n"
"    proto: tcp\n"
"    affinity: connection\n"
"    stable: [10.0.1.1:8080, 10.0.1.2:8080]\n"
"    canary: [10.0.2.1:8080]\n"
"    overrides:\n"
"      - {cidr: 10.1.0.0/16, track: canary}\n"
"    health_check: {type: tcp, interval: 2s, timeout: 1s, unhealthy_after: 3}\n"
"    rollout:\n"
"      steps: [5, 25, 50, 100]\n"
"      step_duration: 30s\n"
"      min_connections: 100\n"
"      analysis:\n"
"        interval: 1s\n"
"        max_reset_ratio: 0.01\n"
"        max_error_ratio: 0.01\n"
"        max_latency_ratio: 1.5\n"
"        failure_limit: 2\n"
"      auto_promote: true\n"
"      on_failure: rollback\n"
"      hooks: {on_promote: \"\", on_rollback: \"\"}\n";

static void test_spec_example(void **state)
{
	struct cb_config c;
	struct cb_cfg_err err;
	struct cb_cfg_service *s;

	(void)state;
	assert_int_equal(cb_config_parse(spec_example, strlen(spec_example), "x.yaml", &c, &err), 0);
	assert_int_equal(c.nifaces, 1);
	assert_string_equal(c.ifaces[0].name, "eth0");
	assert_int_equal(c.ifaces[0].mode, CB_MODE_XDP);
	assert_int_equal(c.nservices, 1);
	s = &c.services[0];
	assert_string_equal(s->name, "checkout");
	assert_int_equal(s->vip.port, 80);
	assert_int_equal(s->proto, IPPROTO_TCP);
	assert_int_equal(s->affinity, CB_AFFINITY_CONNECTION);
	assert_int_equal(s->nbackends[0], 2);
	assert_int_equal(s->nbackends[1], 1);
	assert_int_equal(s->backends[1][0].port, 8080);
	assert_int_equal(s->noverrides, 1);
	assert_int_equal(s->overrides[0].len, 16);
	assert_int_equal(s->overrides[0].track, CB_TRACK_CANARY);
	assert_int_equal(s->health.type, CB_CHECK_TCP);
	assert_int_equal(s->health.interval_ms, 2000);
	assert_int_equal(s->health.timeout_ms, 1000);
	assert_int_equal(s->health.unhealthy_after, 3);
	assert_int_equal(s->health.healthy_after, 2);      /* default */
	assert_true(s->rollout.present);
	assert_int_equal(s->rollout.nsteps, 4);
	assert_int_equal(s->rollout.steps[0], 500);
	assert_int_equal(s->rollout.steps[3], 10000);
	assert_int_equal(s->rollout.step_duration_ms, 30000);
	assert_int_equal(s->rollout.min_connections, 100);
	assert_int_equal(s->rollout.interval_ms, 1000);
	assert_true(s->rollout.max_latency_ratio == 1.5);
	assert_int_equal(s->rollout.failure_limit, 2);
	assert_true(s->rollout.auto_promote);
	assert_int_equal(s->rollout.on_failure, CB_ON_FAILURE_ROLLBACK);
	assert_string_equal(s->rollout.on_promote, "");
	cb_config_free(&c);
}

static void test_durations(void **state)
{
	static const struct { const char *in; uint64_t ms; } ok[] = {
		{ "500ms", 500 }, { "30s", 30000 }, { "5m", 300000 }, { "1h", 3600000 }, { "0s", 0 },
	};
	static const char *const bad[] = { "", "5", "s", "1.5s", "-1s", "5 s", "5sec", "5S", "ms" };
	uint64_t ms;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(cb_parse_duration(ok[i].in, &ms), 0);
		assert_int_equal(ms, ok[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cb_parse_duration(bad[i], &ms), -1);
}

/* Each broken file: refused, with the right FILE:LINE:COL and a word about why. */
static void test_errors_name_the_place(void **state)
{
	static const struct { const char *yaml; const char *where; const char *why; } cases[] = {
		{ "services:\n  - name: a\n    vip: 10.0.0.1\n    port: 80\n    colour: red\n",
		  "c.yaml:5:5:", "unknown key 'colour'" },
		{ "services:\n  - name: a\n    vip: 10.0.0.300\n    port: 80\n",
		  "c.yaml:3:10:", "vip" },
		{ "services:\n  - name: a\n    vip: 10.0.0.1\n    port: 80\n    stable: [fd00::1]\n",
		  "c.yaml:5:14:", "family" },
		{ "services:\n  - name: a\n    vip: 10.0.0.1\n    port: 80\n    rollout: {steps: [50, 25]}\n",
		  "c.yaml:5:27:", "not above" },
		{ "services:\n  - name: a\n    vip: 10.0.0.1\n    port: 80\n    rollout: {steps: [5], step_duration: 30}\n",
		  "c.yaml:5:42:", "duration" },
		{ "services:\n  - name: a\n    vip: 10.0.0.1\n", "c.yaml:2:5:", "needs vip and port" },
		{ "services:\n  - {name: a, vip: 10.0.0.1, port: 80}\n  - {name: a, vip: 10.0.0.2, port: 80}\n",
		  "c.yaml:3:5:", "defined twice" },
		{ "services:\n  - {name: a, vip: 10.0.0.1, port: 80}\n  - {name: b, vip: 10.0.0.1, port: 80}\n",
		  "c.yaml:3:5:", "same vip" },
		{ "services:\n  - name: a\n    name: b\n", "c.yaml:3:5:", "twice" },
		{ "services: [\n", "c.yaml:2:1:", "" },
		{ "", "c.yaml:1:1:", "empty" },
		{ "interfaces:\n  - {name: eth0, mode: fast}\n", "c.yaml:2:24:", "mode" },
		{ "services:\n  - name: a\n    vip: 10.0.0.1\n    port: 80\n    health_check: {interval: 1s, timeout: 2s}\n",
		  "c.yaml:5:19:", "shorter" },
		{ "services:\n  - name: a\n    vip: 10.0.0.1\n    port: 80\n    rollout:\n      steps: [5]\n      analysis: {max_error_ratio: 2}\n",
		  "c.yaml:7:35:", "0..1" },
		{ "services:\n  - name: a\n    vip: 10.0.0.1\n    port: 80\n    stable: [10.0.0.2]\n    rollout: {steps: [5, 101]}\n",
		  "c.yaml:6:26:", "100" },
		{ "services:\n  - name: a\n    vip: 10.0.0.1\n    port: 80\n    stable: [10.0.0.2, 10.0.0.999:80]\n",
		  "c.yaml:5:24:", "stable" },
		{ "services:\n  - name: a\n    vip: 10.0.0.1\n    port: 80\n    stable: [10.0.0.2]\n    rollout: {steps: [5], step_duration: 5m, progress_deadline: 1m}\n",
		  "c.yaml:6:14:", "progress_deadline" },
		{ "services:\n  - name: a\n    vip: 10.0.0.1\n    port: 80\n    rollout: {steps: [5]}\n",
		  "c.yaml:5:14:", "stable backends" },
		{ "services:\n  - name: a\n    vip: 10.0.0.1\n    port: 80\n    stable: [10.0.0.2]\n    rollout: {steps: [5], hooks: {on_promote: x, timeout: soon}}\n",
		  "c.yaml:6:59:", "duration" },
	};
	struct cb_config c;
	struct cb_cfg_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(cb_config_parse(cases[i].yaml, strlen(cases[i].yaml), "c.yaml", &c, &err), -1);
		if (strncmp(err.msg, cases[i].where, strlen(cases[i].where)) || !strstr(err.msg, cases[i].why))
			fail_msg("case %zu: got '%s', want '%s ... %s'", i, err.msg, cases[i].where,
				 cases[i].why);
	}
}

static void test_defaults_and_pause_steps(void **state)
{
	static const char y[] =
		"services:\n  - name: web\n    vip: fd96::10\n    port: 443\n    proto: udp\n"
		"    stable: ['[fd20::1]:8443', 'fd20::2']\n"
		"    rollout: {steps: [1, pause, 50, 100], on_failure: pause, auto_promote: false}\n";
	struct cb_config c;
	struct cb_cfg_err err;
	struct cb_cfg_service *s;

	(void)state;
	assert_int_equal(cb_config_parse(y, strlen(y), "d.yaml", &c, &err), 0);
	s = &c.services[0];
	assert_int_equal(s->proto, IPPROTO_UDP);
	assert_int_equal(s->backends[0][0].port, 8443);
	assert_int_equal(s->backends[0][1].port, 443);     /* the service port */
	assert_int_equal(s->health.type, CB_CHECK_NONE);
	assert_int_equal(s->rollout.steps[1], CB_STEP_PAUSE);
	assert_int_equal(s->rollout.on_failure, CB_ON_FAILURE_PAUSE);
	assert_false(s->rollout.auto_promote);
	assert_int_equal(s->rollout.failure_limit, 2);     /* default */
	cb_config_free(&c);
}

static void test_load_missing_file(void **state)
{
	struct cb_config c;
	struct cb_cfg_err err;

	(void)state;
	assert_int_equal(cb_config_load("/nonexistent/cb.yaml", &c, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/cb.yaml: No such file"));
}

/* Hostile files (issue 17): the shape is checked first, values are text, every bad service said. */
static void test_hostile_inputs(void **state)
{
	static const char nul[] = "services:\n  - {name: \"we\\0b\", vip: 10.0.0.1, port: 80}\n";
	static const char ctl[] = "services:\n  - {name: a, vip: \"10.0.0.1\\e\", port: 80}\n";
	static const char docs[] = "services: []\n---\nservices: []\n";
	static const char three[] =
		"services:\n  - {name: a, vip: 10.0.0.1, port: 80}\n"
		"  - {name: b, vip: 10.0.0.300, port: 80}\n"
		"  - {name: a, vip: 10.0.0.3, port: 80}\n"
		"  - {name: d, vip: 10.0.0.4, port: 99999}\n";
	struct cb_config c;
	struct cb_cfg_err err;
	size_t depth = 60000, len = 0;
	char *deep = malloc(2 * depth + 16);

	(void)state;
	assert_int_equal(cb_config_parse(nul, strlen(nul), "h.yaml", &c, &err), -1);
	assert_string_equal(err.msg, "h.yaml:2:12: name holds the control character 0x00");
	assert_int_equal(cb_config_parse(ctl, strlen(ctl), "h.yaml", &c, &err), -1);
	assert_non_null(strstr(err.msg, "h.yaml:2:20: vip holds the control character 0x1b"));
	assert_int_equal(cb_config_parse(docs, strlen(docs), "h.yaml", &c, &err), -1);
	assert_string_equal(err.msg, "h.yaml:2:1: a second YAML document: the file holds one");
	/* 60,000 nested brackets: refused at the 17th, at once (the loader took 8 s). */
	assert_non_null(deep);
	len += (size_t)sprintf(deep, "services: ");
	for (size_t i = 0; i < depth; i++)
		deep[len++] = '[';
	for (size_t i = 0; i < depth; i++)
		deep[len++] = ']';
	assert_int_equal(cb_config_parse(deep, len, "h.yaml", &c, &err), -1);
	assert_string_equal(err.msg, "h.yaml:1:26: nested deeper than 16 levels");
	free(deep);
	/* Each bad service on its own line; the good ones checked against each other. */
	assert_int_equal(cb_config_parse(three, strlen(three), "h.yaml", &c, &err), -1);
	assert_int_equal(err.count, 3);
	assert_non_null(strstr(err.msg, "h.yaml:3:"));
	assert_non_null(strstr(err.more, "h.yaml:4:5: service a is defined twice\n"));
	assert_non_null(strstr(err.more, "h.yaml:5:"));
}

/* Found while fuzzing (tests/fuzz): cases that config.c got wrong or slow. */
static void test_families_and_limits(void **state)
{
	/* 10.0.0.1 and a00:1:: share their 16 address bytes, but are two VIPs. */
	static const char two[] =
		"services:\n  - {name: a, vip: 10.0.0.1, port: 80}\n"
		"  - {name: b, vip: 'a00:1::', port: 80}\n";
	static const char scalar_steps[] =
		"services:\n  - {name: a, vip: 10.0.0.1, port: 80, stable: [10.0.0.2], rollout: {steps: 5}}\n";
	struct cb_config c;
	struct cb_cfg_err err;
	char *y;
	size_t len = 0, cap = 64 * (CB_MAX_SERVICES + 2);

	(void)state;
	assert_int_equal(cb_config_parse(two, strlen(two), "f.yaml", &c, &err), 0);
	assert_int_equal(c.nservices, 2);
	cb_config_free(&c);
	assert_int_equal(cb_config_parse(scalar_steps, strlen(scalar_steps), "f.yaml", &c, &err), -1);
	assert_non_null(strstr(err.msg, "steps must be a list"));

	/* Too many backends or services: refused at the list, before any per-item check. */
	y = malloc(cap);
	assert_non_null(y);
	len = (size_t)snprintf(y, cap, "services:\n  - {name: a, vip: 10.0.0.1, port: 80, stable: [");
	for (int i = 0; i <= CB_MAX_TRACK_BACKENDS; i++)
		len += (size_t)snprintf(y + len, cap - len, "%s10.1.%d.%d", i ? ", " : "", i / 250, i % 250 + 1);
	len += (size_t)snprintf(y + len, cap - len, "]}\n");
	assert_int_equal(cb_config_parse(y, len, "f.yaml", &c, &err), -1);
	assert_non_null(strstr(err.msg, "at most 1024 backends"));
	len = (size_t)snprintf(y, cap, "services:\n");
	for (int i = 0; i <= CB_MAX_SERVICES; i++)
		len += (size_t)snprintf(y + len, cap - len, "  - {name: s%d}\n", i);
	assert_int_equal(cb_config_parse(y, len, "f.yaml", &c, &err), -1);
	assert_non_null(strstr(err.msg, "f.yaml:2:3: at most 16384 services"));
	free(y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_errors_name_the_place),
		cmocka_unit_test(test_defaults_and_pause_steps),
		cmocka_unit_test(test_load_missing_file),
		cmocka_unit_test(test_families_and_limits),
		cmocka_unit_test(test_hostile_inputs),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
