// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The rollout module (user/agent/rollout.c): the state machine (steps,
 * holds, failures, gates, commands), rollouts started from the file, and
 * what each phase means for the maps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "rollout.h"

static uint32_t steps3[] = { 1000, 5000, 10000 };

static struct cb_cfg_rollout cfg_of(uint32_t *steps, size_t n)
{
	return (struct cb_cfg_rollout){
		.present = 1, .steps = steps, .nsteps = n, .step_duration_ms = 10000,
		.min_connections = 100, .progress_deadline_ms = 60000, .interval_ms = 1000,
		.failure_limit = 2, .auto_promote = 1, .on_failure = CB_ON_FAILURE_ROLLBACK,
	};
}

static enum cb_ro_action tick(const struct cb_cfg_rollout *c, struct cb_rollout *r,
			      enum cb_verdict v, uint64_t conns)
{
	struct cb_ro_input in = { .dt_ms = 1000, .verdict = v, .why = "HTTP 5xx ratio: canary 9%",
				  .canary_connections = conns };

	return cb_ro_check(c, r, &in);
}

static void test_steps_advance_only_after_duration_and_traffic(void **state)
{
	struct cb_cfg_rollout c = cfg_of(steps3, 3);
	struct cb_rollout r = { 0 };

	(void)state;
	assert_int_equal(cb_ro_start(&c, &r, 42), CB_RO_SET_WEIGHT);
	assert_int_equal(r.phase, CB_PHASE_PROGRESSING);
	assert_int_equal(r.weight_bp, 1000);
	for (int i = 0; i < 9; i++)
		assert_int_equal(tick(&c, &r, CB_PASS, 500), CB_RO_NONE);
	/* Ten seconds, but too few canary connections: the step holds. */
	assert_int_equal(tick(&c, &r, CB_PASS, 99), CB_RO_NONE);
	assert_non_null(strstr(r.reason, "99 canary connections (0 requests) of 100"));
	assert_int_equal(tick(&c, &r, CB_PASS, 100), CB_RO_SET_WEIGHT);
	assert_int_equal(r.step, 1);
	assert_int_equal(r.weight_bp, 5000);
	assert_int_equal(r.step_elapsed_ms, 0);
}

/* A release whose canary pods are all gone for a while: the step waits, no deadline runs. */
static void test_release_without_canary_backends_waits(void **state)
{
	struct cb_cfg_rollout c = cfg_of(steps3, 3);
	struct cb_ro_input in = { .dt_ms = 1000, .verdict = CB_INCONCLUSIVE, .no_canary_backends = 1 };
	struct cb_rollout r = { 0 };

	(void)state;
	cb_ro_start(&c, &r, 42);
	for (int i = 0; i < 120; i++)   /* twice the progress deadline */
		assert_int_equal(cb_ro_check(&c, &r, &in), CB_RO_NONE);
	assert_int_equal(r.phase, CB_PHASE_PROGRESSING);
	assert_int_equal(r.step_elapsed_ms, 0);
	assert_non_null(strstr(r.reason, "no canary backends"));
}

/* Keep-alive clients: few new connections, many requests; requests count too (issue 17). */
static void test_requests_meet_min_connections(void **state)
{
	struct cb_cfg_rollout c = cfg_of(steps3, 3);
	struct cb_ro_input in = { .dt_ms = 10000, .verdict = CB_PASS, .canary_connections = 3,
				  .canary_requests = 99 };
	struct cb_rollout r = { 0 };

	(void)state;
	cb_ro_start(&c, &r, 42);
	assert_int_equal(cb_ro_check(&c, &r, &in), CB_RO_NONE);
	assert_non_null(strstr(r.reason, "3 canary connections (99 requests) of 100"));
	in.dt_ms = 1000;
	in.canary_requests = 100;
	assert_int_equal(cb_ro_check(&c, &r, &in), CB_RO_SET_WEIGHT);
	assert_int_equal(r.step, 1);
}

static void test_inconclusive_holds_then_deadline_fails(void **state)
{
	struct cb_cfg_rollout c = cfg_of(steps3, 3);
	struct cb_rollout r = { 0 };
	int i;

	(void)state;
	cb_ro_start(&c, &r, 1);
	for (i = 0; i < 59; i++)
		assert_int_equal(tick(&c, &r, CB_INCONCLUSIVE, 1000), CB_RO_NONE);
	assert_int_equal(r.step, 0);
	assert_int_equal(tick(&c, &r, CB_INCONCLUSIVE, 1000), CB_RO_ROLLBACK);
	assert_int_equal(r.phase, CB_PHASE_ROLLED_BACK);
	assert_non_null(strstr(r.reason, "progress deadline"));
}

static void test_consecutive_failures_roll_back(void **state)
{
	struct cb_cfg_rollout c = cfg_of(steps3, 3);
	struct cb_rollout r = { 0 };

	(void)state;
	cb_ro_start(&c, &r, 1);
	assert_int_equal(tick(&c, &r, CB_FAIL, 10), CB_RO_NONE);
	assert_int_equal(tick(&c, &r, CB_PASS, 10), CB_RO_NONE);   /* not consecutive */
	assert_int_equal(tick(&c, &r, CB_FAIL, 10), CB_RO_NONE);
	assert_int_equal(tick(&c, &r, CB_INCONCLUSIVE, 10), CB_RO_NONE);
	assert_int_equal(tick(&c, &r, CB_FAIL, 10), CB_RO_ROLLBACK);
	assert_int_equal(r.weight_bp, 0);
	assert_int_equal(r.rollbacks, 1);
	assert_non_null(strstr(r.reason, "HTTP 5xx ratio"));
	/* Nothing happens to a finished rollout. */
	assert_int_equal(tick(&c, &r, CB_FAIL, 10), CB_RO_NONE);
	assert_int_equal(r.rollbacks, 1);
}

static void test_on_failure_pause_and_all_canary_down(void **state)
{
	struct cb_cfg_rollout c = cfg_of(steps3, 3);
	struct cb_rollout r = { 0 };
	struct cb_ro_input down = { .dt_ms = 1000, .verdict = CB_PASS, .canary_all_down = 1 };
	char msg[128];

	(void)state;
	c.on_failure = CB_ON_FAILURE_PAUSE;
	c.failure_limit = 1;
	cb_ro_start(&c, &r, 1);
	assert_int_equal(cb_ro_check(&c, &r, &down), CB_RO_PAUSE);
	assert_int_equal(r.phase, CB_PHASE_PAUSED);
	assert_int_equal(r.weight_bp, 1000);   /* a pause keeps the weight */
	assert_non_null(strstr(r.reason, "health check"));
	assert_int_equal(cb_ro_command(&c, &r, CB_CTL_RESUME, msg, sizeof(msg)), CB_RO_RESTART_WINDOW);
	assert_int_equal(r.phase, CB_PHASE_PROGRESSING);
	assert_int_equal(r.step, 0);
}

static void test_last_step_promotes_or_waits(void **state)
{
	struct cb_cfg_rollout c = cfg_of(steps3, 3);
	struct cb_rollout r = { 0 };
	char msg[128];

	(void)state;
	for (int auto_promote = 1; auto_promote >= 0; auto_promote--) {
		enum cb_ro_action last = CB_RO_NONE;

		c.auto_promote = auto_promote;
		memset(&r, 0, sizeof(r));
		cb_ro_start(&c, &r, 1);
		for (int i = 0; i < 40 && r.phase == CB_PHASE_PROGRESSING; i++)
			last = tick(&c, &r, CB_PASS, 1000);
		assert_int_equal(last, auto_promote ? CB_RO_PROMOTE : CB_RO_PAUSE);
		assert_int_equal(r.phase, auto_promote ? CB_PHASE_PROMOTED : CB_PHASE_PAUSED);
	}
	assert_int_equal(cb_ro_command(&c, &r, CB_CTL_RESUME, msg, sizeof(msg)), CB_RO_PROMOTE);
	assert_int_equal(r.phase, CB_PHASE_PROMOTED);
	assert_int_equal(r.weight_bp, 0);
	assert_int_equal(r.promotions, 1);
}

static void test_pause_step_is_a_gate(void **state)
{
	uint32_t steps[] = { 500, CB_STEP_PAUSE, 5000 };
	struct cb_cfg_rollout c = cfg_of(steps, 3);
	struct cb_rollout r = { 0 };
	char msg[128];

	(void)state;
	cb_ro_start(&c, &r, 1);
	for (int i = 0; i < 9; i++)
		tick(&c, &r, CB_PASS, 1000);
	assert_int_equal(tick(&c, &r, CB_PASS, 1000), CB_RO_PAUSE);
	assert_int_equal(r.phase, CB_PHASE_PAUSED);
	assert_int_equal(r.weight_bp, 500);
	/* A gate does not time out and checks do not move it. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(tick(&c, &r, CB_PASS, 1000), CB_RO_NONE);
	assert_int_equal(cb_ro_command(&c, &r, CB_CTL_PAUSE, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "paused"));
	assert_int_equal(cb_ro_command(&c, &r, CB_CTL_RESUME, msg, sizeof(msg)), CB_RO_SET_WEIGHT);
	assert_int_equal(r.step, 2);
	assert_int_equal(r.weight_bp, 5000);
}

/*
 * Issue 17: analysis at every gate. A pause step, the wait for a manual
 * promote and on_failure: pause all judge the canary; a failure at a gate
 * rolls back; paused by a failure, only a total failure does.
 */
static void test_gates_are_judged(void **state)
{
	static uint32_t gated[] = { 1000, CB_STEP_PAUSE, 5000 };
	struct cb_cfg_rollout c = cfg_of(gated, 3);
	struct cb_ro_input total = { .verdict = CB_FAIL, .why = "reset ratio: canary 100%",
				     .total_failure = 1 };
	struct cb_rollout r = { 0 };

	(void)state;
	cb_ro_start(&c, &r, 1);
	r.step_elapsed_ms = c.step_duration_ms;
	assert_int_equal(tick(&c, &r, CB_PASS, 200), CB_RO_PAUSE);   /* into the gate, at 10 % */
	assert_true(r.flags & CB_RO_F_GATE);
	assert_int_equal(r.weight_bp, 1000);
	assert_int_equal(tick(&c, &r, CB_FAIL, 0), CB_RO_NONE);
	assert_int_equal(tick(&c, &r, CB_FAIL, 0), CB_RO_ROLLBACK);
	assert_int_equal(r.phase, CB_PHASE_ROLLED_BACK);
	assert_non_null(strstr(r.reason, "while waiting at a gate"));
	assert_false(r.flags & CB_RO_F_GATE);

	/* Waiting for a manual promote after the last step. */
	c = cfg_of(gated, 3);
	c.auto_promote = 0;
	r = (struct cb_rollout){ 0 };
	cb_ro_start(&c, &r, 1);
	r.step = 2;
	r.weight_bp = 5000;
	r.step_elapsed_ms = c.step_duration_ms;
	assert_int_equal(tick(&c, &r, CB_PASS, 200), CB_RO_PAUSE);
	assert_non_null(strstr(r.reason, "waiting for rollout promote"));
	assert_int_equal(tick(&c, &r, CB_FAIL, 0), CB_RO_NONE);
	assert_int_equal(tick(&c, &r, CB_FAIL, 0), CB_RO_ROLLBACK);

	/* on_failure: pause: paused once, then only a total failure ends it. */
	c = cfg_of(gated, 3);
	c.on_failure = CB_ON_FAILURE_PAUSE;
	r = (struct cb_rollout){ 0 };
	cb_ro_start(&c, &r, 1);
	assert_int_equal(tick(&c, &r, CB_FAIL, 0), CB_RO_NONE);
	assert_int_equal(tick(&c, &r, CB_FAIL, 0), CB_RO_PAUSE);
	assert_true(r.flags & CB_RO_F_FAILPAUSE);
	for (int i = 0; i < 5; i++)
		assert_int_equal(tick(&c, &r, CB_FAIL, 0), CB_RO_NONE);
	assert_int_equal(r.phase, CB_PHASE_PAUSED);
	assert_non_null(strstr(r.reason, "paused on failure"));
	assert_non_null(strstr(r.reason, "| last check: fail"));
	assert_int_equal(cb_ro_check(&c, &r, &total), CB_RO_ROLLBACK);
	assert_non_null(strstr(r.reason, "total failure while paused on failure: reset ratio"));
	assert_false(r.flags & CB_RO_F_FAILPAUSE);

	/* A gate at 0 %: the canary takes nothing, nothing is judged. */
	r = (struct cb_rollout){ .phase = CB_PHASE_PAUSED, .flags = CB_RO_F_GATE };
	assert_int_equal(tick(&c, &r, CB_FAIL, 0), CB_RO_NONE);
	assert_int_equal(r.failures, 0);
}

static void test_commands(void **state)
{
	struct cb_cfg_rollout c = cfg_of(steps3, 3);
	struct cb_rollout r = { 0 };
	char msg[128];

	(void)state;
	assert_int_equal(cb_ro_command(&c, &r, CB_CTL_PAUSE, msg, sizeof(msg)), -1);   /* idle */
	cb_ro_start(&c, &r, 7);
	assert_int_equal(cb_ro_command(&c, &r, CB_CTL_RESUME, msg, sizeof(msg)), -1);
	assert_int_equal(cb_ro_command(&c, &r, CB_CTL_PAUSE, msg, sizeof(msg)), CB_RO_PAUSE);
	/* Paused, the canary still takes traffic: still judged, the step does not move. */
	assert_int_equal(tick(&c, &r, CB_FAIL, 10), CB_RO_NONE);
	assert_int_equal(r.failures, 1);
	assert_int_equal(r.step_elapsed_ms, 0);
	assert_non_null(strstr(r.reason, "paused by rollout pause at step 1 | last check: fail: HTTP 5xx"));
	assert_int_equal(tick(&c, &r, CB_PASS, 10), CB_RO_NONE);
	assert_int_equal(r.failures, 0);
	assert_non_null(strstr(r.reason, "at step 1 | last check: pass"));
	assert_null(strstr(r.reason, "fail"));
	assert_int_equal(cb_ro_command(&c, &r, CB_CTL_ABORT, msg, sizeof(msg)), CB_RO_ROLLBACK);
	assert_int_equal(r.phase, CB_PHASE_ROLLED_BACK);
	assert_non_null(strstr(r.reason, "aborted"));
	assert_int_equal(cb_ro_command(&c, &r, CB_CTL_PROMOTE, msg, sizeof(msg)), -1);
	/* Resume after a rollback retries the same canary set from the first step. */
	assert_int_equal(cb_ro_command(&c, &r, CB_CTL_RESUME, msg, sizeof(msg)), CB_RO_SET_WEIGHT);
	assert_int_equal(r.canary_fp, 7);
	assert_int_equal(r.step, 0);
	assert_int_equal(cb_ro_command(&c, &r, CB_CTL_PROMOTE, msg, sizeof(msg)), CB_RO_PROMOTE);
	assert_int_equal(r.phase, CB_PHASE_PROMOTED);
	assert_int_equal(cb_ro_command(&c, &r, CB_CTL_ABORT, msg, sizeof(msg)), -1);
}

/* A service of the file with a rollout (or without), and a canary set. */
static struct cb_cfg_service svc_of(int rollout, int drain, struct cb_endpoint *canary, size_t nc)
{
	struct cb_cfg_service c = { .name = "web" };

	c.rollout = cfg_of(steps3, 3);
	c.rollout.present = rollout;
	c.rollout.drain_on_rollback = drain;
	c.backends[CB_TRACK_CANARY] = canary;
	c.nbackends[CB_TRACK_CANARY] = nc;
	return c;
}

static void assert_track(const struct cb_ro_plan *p, unsigned int t, unsigned int from,
			 enum cb_ro_serve serve)
{
	assert_int_equal(p->track[t].from, from);
	assert_int_equal(p->track[t].serve, serve);
}

static void test_plan_of_each_phase(void **state)
{
	struct cb_endpoint canary[1] = { { .family = CB_AF_INET, .port = 80 } };
	struct cb_cfg_service c = svc_of(1, 1, canary, 1);
	struct cb_rollout r = { .phase = CB_PHASE_PROGRESSING, .weight_bp = 2500 };
	struct cb_ro_plan p;

	(void)state;
	/* Progressing and paused: each track its own healthy set, the step's weight. */
	cb_ro_plan(&c, &r, &p);
	assert_true(p.owns_weight);
	assert_int_equal(p.weight_bp, 2500);
	assert_false(p.no_canary);
	assert_false(p.swap);
	assert_track(&p, CB_TRACK_STABLE, CB_TRACK_STABLE, CB_SERVE_HEALTHY);
	assert_track(&p, CB_TRACK_CANARY, CB_TRACK_CANARY, CB_SERVE_HEALTHY);
	r.phase = CB_PHASE_PAUSED;
	cb_ro_plan(&c, &r, &p);
	assert_int_equal(p.weight_bp, 2500);
	assert_false(p.no_canary);
	/* Rolled back: weight 0 and no canary at all; canary connections drain... */
	r.phase = CB_PHASE_ROLLED_BACK;
	r.weight_bp = 0;
	cb_ro_plan(&c, &r, &p);
	assert_int_equal(p.weight_bp, 0);
	assert_true(p.no_canary);
	assert_false(p.swap);
	assert_track(&p, CB_TRACK_STABLE, CB_TRACK_STABLE, CB_SERVE_HEALTHY);
	assert_track(&p, CB_TRACK_CANARY, CB_TRACK_CANARY, CB_SERVE_DRAIN);
	/* ... or are moved, when the file says drain_on_rollback: false. */
	c.rollout.drain_on_rollback = 0;
	cb_ro_plan(&c, &r, &p);
	assert_track(&p, CB_TRACK_CANARY, CB_TRACK_CANARY, CB_SERVE_NONE);
	/* Promoted: the canary set is stable (swapped in one update), the old set drains. */
	r.phase = CB_PHASE_PROMOTED;
	cb_ro_plan(&c, &r, &p);
	assert_true(p.swap);
	assert_true(p.no_canary);
	assert_int_equal(p.weight_bp, 0);
	assert_track(&p, CB_TRACK_STABLE, CB_TRACK_CANARY, CB_SERVE_HEALTHY);
	assert_track(&p, CB_TRACK_CANARY, CB_TRACK_STABLE, CB_SERVE_DRAIN);
	/* Once the swap is recorded, never again; the sets stay as promoted. */
	r.flags |= CB_RO_F_SWAPPED;
	cb_ro_plan(&c, &r, &p);
	assert_false(p.swap);
	assert_true(p.no_canary);
	assert_track(&p, CB_TRACK_STABLE, CB_TRACK_CANARY, CB_SERVE_HEALTHY);
	/* No rollout in the file: the weight is the operator's, whatever the record says. */
	c = svc_of(0, 1, canary, 1);
	cb_ro_plan(&c, &r, &p);
	assert_false(p.owns_weight);
	assert_false(p.swap);
	assert_track(&p, CB_TRACK_STABLE, CB_TRACK_STABLE, CB_SERVE_HEALTHY);
	assert_track(&p, CB_TRACK_CANARY, CB_TRACK_CANARY, CB_SERVE_HEALTHY);
}

static void test_rollout_starts_from_the_file(void **state)
{
	struct cb_endpoint a[2] = { { .family = CB_AF_INET, .port = 80, .addr.b = { 10, 0, 0, 2 } },
				    { .family = CB_AF_INET, .port = 80, .addr.b = { 10, 0, 0, 1 } } };
	struct cb_endpoint b[2] = { a[1], a[0] };   /* the same set in another order */
	struct cb_cfg_service c = svc_of(1, 1, a, 2);
	struct cb_rollout r = { 0 };
	uint64_t fp;

	(void)state;
	assert_int_equal(cb_ro_from_config(&c, &r, 1234), CB_RO_STARTED);
	assert_int_equal(r.phase, CB_PHASE_PROGRESSING);
	assert_int_equal(r.weight_bp, 1000);
	assert_int_equal(r.started_ms, 1234);
	fp = r.canary_fp;
	assert_true(fp != 0);
	/* The same set, also listed in another order, goes on: no restart. */
	r.step = 1;
	c.backends[CB_TRACK_CANARY] = b;
	assert_int_equal(cb_ro_from_config(&c, &r, 5678), CB_RO_KEPT);
	assert_int_equal(r.step, 1);
	assert_int_equal(r.started_ms, 1234);
	/* An ended rollout of this set stays ended. */
	r.phase = CB_PHASE_PROMOTED;
	assert_int_equal(cb_ro_from_config(&c, &r, 5678), CB_RO_KEPT);
	assert_int_equal(r.phase, CB_PHASE_PROMOTED);
	/* Another canary set starts again at the first step, with no swap recorded. */
	r.flags |= CB_RO_F_SWAPPED;
	c.nbackends[CB_TRACK_CANARY] = 1;
	assert_int_equal(cb_ro_from_config(&c, &r, 9000), CB_RO_STARTED);
	assert_int_equal(r.step, 0);
	assert_true(r.canary_fp != fp);
	assert_false(r.flags & CB_RO_F_SWAPPED);
	/* No canary, or no rollout: idle, weight 0, once. */
	c.nbackends[CB_TRACK_CANARY] = 0;
	assert_int_equal(cb_ro_from_config(&c, &r, 9500), CB_RO_IDLED);
	assert_int_equal(r.phase, CB_PHASE_IDLE);
	assert_int_equal(r.weight_bp, 0);
	assert_non_null(strstr(r.reason, "no canary"));
	assert_int_equal(cb_ro_from_config(&c, &r, 9600), CB_RO_KEPT);
	c = svc_of(0, 1, a, 2);
	assert_int_equal(cb_ro_from_config(&c, &r, 9700), CB_RO_IDLED);
	assert_non_null(strstr(r.reason, "no rollout configured"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps_advance_only_after_duration_and_traffic),
		cmocka_unit_test(test_inconclusive_holds_then_deadline_fails),
		cmocka_unit_test(test_consecutive_failures_roll_back),
		cmocka_unit_test(test_on_failure_pause_and_all_canary_down),
		cmocka_unit_test(test_last_step_promotes_or_waits),
		cmocka_unit_test(test_pause_step_is_a_gate),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_gates_are_judged),
		cmocka_unit_test(test_requests_meet_min_connections),
		cmocka_unit_test(test_release_without_canary_backends_waits),
		cmocka_unit_test(test_plan_of_each_phase),
		cmocka_unit_test(test_rollout_starts_from_the_file),
	};

	return cmocka_run_group_tests_name("rollout", tests, NULL, NULL);
}
