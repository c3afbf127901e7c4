// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* user/agent/hook.c: argv splitting without a shell, spawning, timeouts, reaping. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base.h"
#include "hook.h"

/* ---- argv splitting ---- */

/* cmd must split into exactly the NULL-terminated list want. */
static void split_ok(const char *cmd, const char *const *want)
{
	char err[64] = "", **argv = NULL;
	size_t i;

	if (cb_argv_split(cmd, &argv, err, sizeof(err)))
		fail_msg("'%s' rejected: %s", cmd, err);
	for (i = 0; want[i]; i++) {
		if (!argv[i])
			fail_msg("'%s': %zu words, want more", cmd, i);
		if (strcmp(argv[i], want[i]))
			fail_msg("'%s': word %zu is <%s>, want <%s>", cmd, i, argv[i], want[i]);
	}
	if (argv[i])
		fail_msg("'%s': extra word <%s>", cmd, argv[i]);
	cb_argv_free(argv);
}

static void split_bad(const char *cmd, const char *why)
{
	char err[64] = "", **argv = (char **)&err;

	errno = 0;
	if (!cb_argv_split(cmd, &argv, err, sizeof(err)))
		fail_msg("'%s' accepted, argv[0] <%s>", cmd, argv[0]);
	assert_null(argv);
	assert_int_equal(errno, EINVAL);
	if (!strstr(err, why))
		fail_msg("'%s': reason '%s', want '%s'", cmd, err, why);
}

#define W(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_split_words(void **state)
{
	(void)state;
	split_ok("notify", W("notify"));
	split_ok("/usr/local/bin/notify --channel ops", W("/usr/local/bin/notify", "--channel", "ops"));
	split_ok("  a \t\tb   c\n ", W("a", "b", "c"));
	split_ok("\ta", W("a"));
}

static void test_split_single_quotes(void **state)
{
	(void)state;
	split_ok("/usr/local/bin/notify --channel ops 'canary rolled back'",
		 W("/usr/local/bin/notify", "--channel", "ops", "canary rolled back"));
	/* nothing is special inside, not even backslash or double quotes */
	split_ok("x 'a\\b \"c\" $HOME'", W("x", "a\\b \"c\" $HOME"));
	split_ok("x 'it''s' pre'fix 'post", W("x", "its", "prefix post"));
	split_ok("x '' y", W("x", "", "y"));
	split_ok("x '  '", W("x", "  "));
}

static void test_split_double_quotes(void **state)
{
	(void)state;
	split_ok("x \"a  b\"", W("x", "a  b"));
	split_ok("x \"say \\\"hi\\\"\"", W("x", "say \"hi\""));
	split_ok("x \"back\\\\slash\"", W("x", "back\\slash"));
	/* other escapes are not escapes */
	split_ok("x \"keep\\n\\$\"", W("x", "keep\\n\\$"));
	split_ok("x \"it's\" \"\"", W("x", "it's", ""));
	split_ok("x a\"b c\"d", W("x", "ab cd"));
}

static void test_split_backslash(void **state)
{
	(void)state;
	split_ok("x a\\ b", W("x", "a b"));
	split_ok("x \\'q \\\"q \\\\", W("x", "'q", "\"q", "\\"));
	split_ok("x \\a\\b", W("x", "ab"));
}

/* What a shell would act on is just text here. */
static void test_split_no_shell(void **state)
{
	(void)state;
	split_ok("notify $(rm -rf /) ; ls | cat && x > y",
		 W("notify", "$(rm", "-rf", "/)", ";", "ls", "|", "cat", "&&", "x", ">", "y"));
	split_ok("notify `id` $HOME * ~ a;b a|b 2>&1 &",
		 W("notify", "`id`", "$HOME", "*", "~", "a;b", "a|b", "2>&1", "&"));
	split_ok("notify \"$(rm -rf /)\"", W("notify", "$(rm -rf /)"));
}

static void test_split_rejects(void **state)
{
	char err[8], **argv;

	(void)state;
	split_bad("", "empty command");
	split_bad("   \t\n ", "empty command");
	split_bad("x 'abc", "unterminated single quote");
	split_bad("x \"abc", "unterminated double quote");
	split_bad("x \"abc\\\"", "unterminated double quote");
	split_bad("x 'a\"b\"", "unterminated single quote");
	split_bad("x \\", "trailing backslash");
	split_bad("'' x", "empty program name");
	split_bad(NULL, "no command");
	/* a short err buffer is truncated, not overrun */
	memset(err, 'X', sizeof(err));
	assert_int_equal(cb_argv_split("'", &argv, err, 4), -1);
	assert_string_equal(err, "unt");
	assert_int_equal(err[4], 'X');
	assert_int_equal(cb_argv_split("", &argv, NULL, 0), -1);
}

/* ---- running hooks ---- */

struct fixture {
	char dir[64];
	struct cb_hook h;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/cb-hook-test.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* Also runs after a failed test: no hook outlives it, no file stays. */
static int teardown(void **state)
{
	struct fixture *f = *state;
	struct dirent *de;
	DIR *d;

	if (f->h.pid > 0)
		cb_hook_reap(&f->h);
	d = opendir(f->dir);
	if (d) {
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static void path_of(const struct fixture *f, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", f->dir, name);
}

/* The whole file, "" when missing. */
static void slurp(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "re");
	size_t n = 0;

	if (fp) {
		n = fread(buf, 1, len - 1, fp);
		fclose(fp);
	}
	buf[n] = 0;
}

static void start_ok(struct fixture *f, const char *cmd, const struct cb_hook_env *env,
		     uint64_t timeout_ms)
{
	char err[128] = "";
	int rc = cb_hook_start(cmd, env, timeout_ms, &f->h, err, sizeof(err));

	if (rc)
		fail_msg("start '%s': %d %s", cmd, rc, err);
	assert_true(f->h.pid > 0);
}

/* Polls with the real clock until the hook ends; returns the elapsed ms. */
static uint64_t wait_end(struct cb_hook *h, int *status, uint64_t limit_ms)
{
	const struct timespec tick = { .tv_nsec = 2 * 1000000 };
	uint64_t t0 = cb_now_ms();
	int rc;

	while ((rc = cb_hook_poll(h, cb_now_ms(), status)) == 0) {
		if (cb_now_ms() - t0 > limit_ms)
			fail_msg("hook pid %d still running after %llu ms", (int)h->pid,
				 (unsigned long long)limit_ms);
		nanosleep(&tick, NULL);
	}
	assert_int_equal(rc, 1);
	assert_int_equal(h->pid, 0);
	return cb_now_ms() - t0;
}

static void assert_exit(int status, int code)
{
	if (!WIFEXITED(status) || WEXITSTATUS(status) != code)
		fail_msg("status %#x, want exit %d", status, code);
}

static void test_env_reaches_hook(void **state)
{
	struct fixture *f = *state;
	const struct cb_hook_env env = {
		.service = "checkout", .event = "rollback", .weight_bp = 1250,
		.reason = "p99 812 ms > 500 ms; $(id) 'quoted'",
	};
	char out[256], cmd[512], got[512];
	int status = -1;

	path_of(f, "env", out, sizeof(out));
	/* the user's own choice of shell; the agent's env is passed on */
	snprintf(cmd, sizeof(cmd),
		 "/bin/sh -c 'printf \"%%s|%%s|%%s|%%s|%%s\" \"$CANARY_SERVICE\" \"$CANARY_WEIGHT\" "
		 "\"$CANARY_REASON\" \"$CANARY_EVENT\" \"$CB_HOOK_TEST\" > %s'", out);
	setenv("CB_HOOK_TEST", "inherited", 1);
	/* a stale value in the agent's env must not win */
	setenv("CANARY_WEIGHT", "99", 1);
	start_ok(f, cmd, &env, 5000);
	unsetenv("CANARY_WEIGHT");
	unsetenv("CB_HOOK_TEST");
	assert_string_equal(f->h.service, "checkout");
	assert_string_equal(f->h.event, "rollback");
	wait_end(&f->h, &status, 5000);
	assert_exit(status, 0);
	assert_int_equal(f->h.killed, 0);
	slurp(out, got, sizeof(got));
	assert_string_equal(got, "checkout|12.5|p99 812 ms > 500 ms; $(id) 'quoted'|rollback|inherited");
}

static void test_weight_format(void **state)
{
	static const struct { uint32_t bp; const char *s; } c[] = {
		{ 0, "0" }, { 5, "0.05" }, { 1250, "12.5" }, { 1234, "12.34" }, { 10000, "100" },
	};
	struct fixture *f = *state;
	char out[256], cmd[512], got[64];
	int status;

	path_of(f, "w", out, sizeof(out));
	snprintf(cmd, sizeof(cmd), "sh -c 'printf %%s \"$CANARY_WEIGHT\" > %s'", out);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const struct cb_hook_env env = { .service = "s", .event = "promote", .weight_bp = c[i].bp };

		start_ok(f, cmd, &env, 5000);
		wait_end(&f->h, &status, 5000);
		assert_exit(status, 0);
		slurp(out, got, sizeof(got));
		assert_string_equal(got, c[i].s);
	}
}

static void test_exit_status_reported(void **state)
{
	struct fixture *f = *state;
	int status;

	start_ok(f, "sh -c 'exit 3'", NULL, 5000);
	wait_end(&f->h, &status, 5000);
	assert_exit(status, 3);
	/* a reaped hook is not polled (or signalled) again */
	assert_int_equal(cb_hook_poll(&f->h, cb_now_ms(), &status), -1);
	assert_int_equal(errno, ECHILD);
}

/* The value of "Field:" in /proc/PID/status, "" if absent. */
static void proc_status(pid_t pid, const char *field, char *val, size_t len)
{
	char path[64], buf[4096], *p;
	size_t fl = strlen(field);

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	slurp(path, buf, sizeof(buf));
	val[0] = 0;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, field, fl) && p[fl] == ':') {
			p += fl + 1 + strspn(p + fl + 1, " \t");
			snprintf(val, len, "%.*s", (int)strcspn(p, "\n"), p);
			return;
		}
	}
}

/* How often name=... occurs in the environment the hook was exec'd with. */
static int env_count(pid_t pid, const char *name, char *val, size_t len)
{
	char path[64], buf[65536];
	size_t n = 0, nl = strlen(name);
	FILE *fp;
	int count = 0;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	/*
	 * posix_spawn returns once exec has dropped the old mm, a moment
	 * before the kernel has set up the new program's environment.
	 */
	for (int tries = 0; !n && tries < 500; tries++) {
		const struct timespec tick = { .tv_nsec = 2 * 1000000 };

		if (tries)
			nanosleep(&tick, NULL);
		fp = fopen(path, "re");
		assert_non_null(fp);
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
	}
	buf[n] = 0;
	for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
		if (!strncmp(buf + i, name, nl) && buf[i + nl] == '=') {
			snprintf(val, len, "%s", buf + i + nl + 1);
			count++;
		}
	}
	return count;
}

/*
 * What the agent's process state must not leak into the hook, looked at in
 * /proc of a hook that is no shell (a shell would tidy some of it up): its
 * stdin (e.g. a pipe from a supervisor), an fd opened without O_CLOEXEC,
 * signals blocked for a signalfd or ignored (SIGPIPE), a stale CANARY_*
 * variable. And the hook leads its own process group.
 */
static void test_child_hygiene(void **state)
{
	struct fixture *f = *state;
	const struct cb_hook_env env = { .service = "s", .event = "promote", .weight_bp = 5000 };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
	char link[64], got[64], val[64];
	int fd, saved_in, pfd[2];
	sigset_t term, old;
	pid_t pid;
	ssize_t n;

	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, 57), 57);
	close(fd);
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	saved_in = dup(STDIN_FILENO);
	assert_true(saved_in >= 0);
	assert_int_equal(dup2(pfd[0], STDIN_FILENO), STDIN_FILENO);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	sigaction(SIGPIPE, &ign, &old_pipe);
	setenv("CANARY_WEIGHT", "99", 1);

	start_ok(f, "sleep 30", &env, 10000);

	unsetenv("CANARY_WEIGHT");
	sigaction(SIGPIPE, &old_pipe, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	dup2(saved_in, STDIN_FILENO);
	close(saved_in);
	close(pfd[0]);
	close(pfd[1]);
	close(57);

	pid = f->h.pid;
	assert_int_equal(getpgid(pid), pid);
	snprintf(link, sizeof(link), "/proc/%d/fd/0", (int)pid);
	n = readlink(link, got, sizeof(got) - 1);
	assert_true(n > 0);
	got[n] = 0;
	assert_string_equal(got, "/dev/null");
	snprintf(link, sizeof(link), "/proc/%d/fd/57", (int)pid);
	assert_int_equal(access(link, F_OK), -1);
	proc_status(pid, "SigBlk", got, sizeof(got));
	assert_string_equal(got, "0000000000000000");
	/* glibc's spawn leaves its internal signals 32, 33 ignored; no program uses them */
	proc_status(pid, "SigIgn", got, sizeof(got));
	assert_int_equal(strtoull(got, NULL, 16) & 0x7fffffff, 0);
	assert_int_equal(env_count(pid, "CANARY_WEIGHT", val, sizeof(val)), 1);
	assert_string_equal(val, "50");
	assert_int_equal(env_count(pid, "PATH", val, sizeof(val)), getenv("PATH") ? 1 : 0);
	cb_hook_reap(&f->h);
	assert_int_equal(f->h.pid, 0);
}

static void test_timeout_kills(void **state)
{
	struct fixture *f = *state;
	uint64_t t0 = cb_now_ms(), took;
	int status = 0;

	start_ok(f, "sleep 30", NULL, 200);
	assert_true(f->h.deadline_ms >= t0 + 200 && f->h.deadline_ms <= t0 + 300);
	took = wait_end(&f->h, &status, 2000);
	print_message("      killed after %llu ms\n", (unsigned long long)took);
	assert_true(took >= 150 && took <= 1000);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_int_equal(f->h.killed, 1);
}

/*
 * No live process with this pid is left in process group pgid. A killed
 * orphan may linger as a zombie if init is slow to reap it; that is dead.
 */
static int gone_from_group(pid_t pid, pid_t pgid)
{
	char path[64], buf[512], *p, st;
	int ppid, pg;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	slurp(path, buf, sizeof(buf));
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %d %d", &st, &ppid, &pg) != 3)
		return 1;
	return st == 'Z' || st == 'X' || pg != pgid;
}

static pid_t wait_pid_file(struct fixture *f, const char *path)
{
	uint64_t t0 = cb_now_ms();
	const struct timespec tick = { .tv_nsec = 2 * 1000000 };
	char buf[32];

	for (;;) {
		slurp(path, buf, sizeof(buf));
		if (strchr(buf, '\n'))
			return (pid_t)atoi(buf);
		if (cb_now_ms() - t0 > 5000)
			fail_msg("hook pid %d wrote no pid to %s", (int)f->h.pid, path);
		nanosleep(&tick, NULL);
	}
}

static void assert_gone(pid_t pid, pid_t pgid)
{
	uint64_t t0 = cb_now_ms();
	const struct timespec tick = { .tv_nsec = 2 * 1000000 };

	while (!gone_from_group(pid, pgid)) {
		if (cb_now_ms() - t0 > 1000)
			fail_msg("pid %d of group %d still alive", (int)pid, (int)pgid);
		nanosleep(&tick, NULL);
	}
}

/* The timeout takes the whole process group, not just the leader. */
static void test_timeout_kills_group(void **state)
{
	struct fixture *f = *state;
	char out[256], cmd[512];
	pid_t leader, gchild;
	int status;

	path_of(f, "pid", out, sizeof(out));
	snprintf(cmd, sizeof(cmd), "sh -c 'sleep 30 & echo $! > %s; sleep 30'", out);
	start_ok(f, cmd, NULL, 60000);
	leader = f->h.pid;
	gchild = wait_pid_file(f, out);
	assert_true(gchild > 0 && gchild != leader);
	assert_false(gone_from_group(gchild, leader));
	/* the clock is the caller's: a poll at the deadline is the timeout */
	assert_int_equal(cb_hook_poll(&f->h, f->h.deadline_ms - 1, &status), 0);
	assert_int_equal(f->h.killed, 0);
	assert_int_equal(cb_hook_poll(&f->h, f->h.deadline_ms, &status), 0);
	assert_int_equal(f->h.killed, 1);
	wait_end(&f->h, &status, 1000);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_gone(gchild, leader);
}

/* What a hook leaves behind in its group is killed when it exits. */
static void test_leftovers_killed_on_exit(void **state)
{
	struct fixture *f = *state;
	char out[256], cmd[512];
	pid_t leader, gchild;
	int status;

	path_of(f, "pid", out, sizeof(out));
	snprintf(cmd, sizeof(cmd), "sh -c 'sleep 30 & echo $! > %s'", out);
	start_ok(f, cmd, NULL, 60000);
	leader = f->h.pid;
	wait_end(&f->h, &status, 5000);
	assert_exit(status, 0);
	assert_int_equal(f->h.killed, 0);
	gchild = wait_pid_file(f, out);
	assert_true(gchild > 0 && gchild != leader);
	assert_gone(gchild, leader);
}

static void test_missing_program(void **state)
{
	struct fixture *f = *state;
	char err[128], path[256], cmd[512];
	int fd;

	assert_int_equal(cb_hook_start("cb-hook-no-such-program --x", NULL, 1000, &f->h, err,
				       sizeof(err)), -ENOENT);
	assert_int_equal(f->h.pid, 0);
	assert_non_null(strstr(err, "cb-hook-no-such-program"));
	assert_int_equal(cb_hook_start("/nonexistent/cb-hook", NULL, 1000, &f->h, err, sizeof(err)),
			 -ENOENT);
	/* there but not executable */
	path_of(f, "notexec", path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s arg", path);
	assert_int_equal(cb_hook_start(cmd, NULL, 1000, &f->h, err, sizeof(err)), -EACCES);
	assert_int_equal(cb_hook_start("x 'oops", NULL, 1000, &f->h, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "unterminated single quote");
	/* the failed children were reaped, nothing is left for the agent */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_start_does_not_wait(void **state)
{
	struct fixture *f = *state;
	uint64_t t0, took;
	pid_t pid;
	int status;

	t0 = cb_now_ms();
	start_ok(f, "sleep 30", NULL, 0);
	took = cb_now_ms() - t0;
	print_message("      cb_hook_start took %llu ms\n", (unsigned long long)took);
	assert_true(took < 100);
	assert_int_equal(f->h.deadline_ms, UINT64_MAX);
	assert_int_equal(cb_hook_poll(&f->h, cb_now_ms(), &status), 0);
	assert_int_equal(f->h.killed, 0);
	/* shutdown: killed and reaped, bounded */
	pid = f->h.pid;
	t0 = cb_now_ms();
	cb_hook_reap(&f->h);
	assert_true(cb_now_ms() - t0 < 1000);
	assert_int_equal(f->h.pid, 0);
	assert_int_equal(f->h.killed, 1);
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_words),
		cmocka_unit_test(test_split_single_quotes),
		cmocka_unit_test(test_split_double_quotes),
		cmocka_unit_test(test_split_backslash),
		cmocka_unit_test(test_split_no_shell),
		cmocka_unit_test(test_split_rejects),
		cmocka_unit_test_setup_teardown(test_env_reaches_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_weight_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_status_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_hygiene, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_kills, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_kills_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leftovers_killed_on_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_program, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_does_not_wait, setup, teardown),
	};

	return cmocka_run_group_tests_name("hook", tests, NULL, NULL);
}
