// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * --state-dir (user/agent/statedir.c): records written whole or not at all,
 * read back only when they check out, in a directory nobody else may write.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent.h"

static char top[64];

static int setup(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "/tmp/cbu%d-state.XXXXXX", (int)getpid());
	return mkdtemp(top) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_round_trip_and_corruption(void **state)
{
	struct agent a = { .state_fd = -1 };
	struct cb_rollout r = { .phase = CB_PHASE_PROMOTED, .step = 2, .weight_bp = 0 }, back;
	struct cb_err err;
	char path[PATH_MAX];
	int fd;

	(void)state;
	snprintf(r.release, sizeof(r.release), "v2");
	snprintf(r.reason, sizeof(r.reason), "all 3 steps passed");
	assert_int_equal(agent_statedir_open(&a, top, "/sys/fs/bpf/canary-bpf", &err), 0);
	assert_int_equal(agent_record_load(&a, "web", &back), -ENOENT);
	agent_record_save(&a, "web", &r);
	assert_int_equal(agent_record_load(&a, "web", &back), 0);
	assert_memory_equal(&back, &r, sizeof(r));
	/* One byte changed: not this record any more, ignored. */
	snprintf(path, sizeof(path), "%s/_sys_fs_bpf_canary-bpf/web.rollout", top);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 40), 1);
	close(fd);
	assert_int_equal(agent_record_load(&a, "web", &back), -EINVAL);
	/* Short: the same. */
	assert_int_equal(truncate(path, 10), 0);
	assert_int_equal(agent_record_load(&a, "web", &back), -EINVAL);
	/* A symlink in its place is not followed. */
	unlink(path);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(agent_record_load(&a, "web", &back), -ELOOP);
	unlink(path);
	/* Forgotten with its service. */
	agent_record_save(&a, "web", &r);
	agent_record_forget(&a, "web");
	assert_int_equal(agent_record_load(&a, "web", &back), -ENOENT);
	close(a.state_fd);
}

static void test_directory_must_be_private(void **state)
{
	struct agent a = { .state_fd = -1 };
	struct cb_err err;
	char open_dir[PATH_MAX];

	(void)state;
	snprintf(open_dir, sizeof(open_dir), "%s/open", top);
	assert_int_equal(mkdir(open_dir, 0700), 0);
	assert_int_equal(chmod(open_dir, 0777), 0);
	assert_int_equal(agent_statedir_open(&a, open_dir, "/p", &err), -EPERM);
	assert_non_null(strstr(err.msg, "writable by no one else"));
	assert_int_equal(a.state_fd, -1);
	assert_int_equal(agent_statedir_open(&a, "relative/dir", "/p", &err), -EINVAL);
	/* "": no state directory at all; saving is a no-op. */
	assert_int_equal(agent_statedir_open(&a, "", "/p", &err), 0);
	assert_int_equal(a.state_fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_corruption),
		cmocka_unit_test(test_directory_must_be_private),
	};

	return cmocka_run_group_tests_name("statedir", tests, setup, teardown);
}
