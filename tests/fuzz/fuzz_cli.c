// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The command line: the real main() of user/cli/main.c (compiled as
 * cb_cli_main) and every verb, on an argv made of the input.
 *
 * The CLI has no separate parse stage: each verb parses and validates all of
 * its arguments and then opens the pinned state. The fuzzer links the verbs
 * as they are and replaces the system boundary at link time (-Wl,--wrap):
 *
 *   cb_state_open      fails, with -ENOENT (no state) or -EACCES, so every
 *                      verb runs its whole parse and validation and stops there
 *   cb_state_close     nothing to close
 *   cb_link_get        no such interface (attach resolves it before the state)
 *   cb_config_load     the agent's file is not read (fuzz_config covers the parser)
 *   cb_dp_open         'canary-bpf -V' does not parse the BPF object
 *
 * and aborts if anything past a failed open is reached (cb_state_lock,
 * cb_attach, cb_detach). No BPF map, program or file is touched; the only
 * system calls a verb can make are the agent's stat()/access() of a
 * --textfile-dir.
 *
 * Input: byte 0 picks the state error (even: -ENOENT, odd: -EACCES; always
 * -EACCES when an argument is "top", which would otherwise refresh "no
 * services" forever); the rest is the arguments after "canary-bpf",
 * separated by NUL bytes.
 *
 * Invariants (SPEC "CLI"): the exit status is 0, 1 or 2; a failure prints
 * exactly one line "canary-bpf: WHAT: WHY" on stderr (more lines only when
 * an argument itself holds a newline; the overview for a missing command
 * is the one exception), a success prints nothing there.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "fuzz.h"
#include "attach.h"
#include "cli.h"
#include "config.h"
#include "iface.h"
#include "pinned.h"

#define MAX_ARGS 64

int cb_cli_main(int argc, char **argv);
int LLVMFuzzerInitialize(int *argc, char ***argv);

struct bpf_object;

static int state_errno;

int __wrap_cb_state_open(const char *pin, int flags, struct cb_state *st, struct cb_err *err);
void __wrap_cb_state_close(struct cb_state *st);
int __wrap_cb_state_lock(struct cb_state *st, struct cb_err *err);
int __wrap_cb_link_get(const char *name, struct cb_link *out, struct cb_err *err);
int __wrap_cb_config_load(const char *path, struct cb_config *out, struct cb_cfg_err *err);
int __wrap_cb_dp_open(struct bpf_object **obj, struct cb_err *err);
int __wrap_cb_attach(struct cb_state *st, const struct cb_link *l, enum cb_mode m,
		     struct cb_err *err);
int __wrap_cb_detach(struct cb_state *st, const char *ifname, struct cb_err *err);

int __wrap_cb_state_open(const char *pin, int flags, struct cb_state *st, struct cb_err *err)
{
	(void)flags;
	memset(st, 0, sizeof(*st));
	st->lock_fd = -1;
	return cb_err_set(err, state_errno, "%s: %s (fuzzing: no state)", pin, strerror(-state_errno));
}

void __wrap_cb_state_close(struct cb_state *st)
{
	(void)st;
}

int __wrap_cb_link_get(const char *name, struct cb_link *out, struct cb_err *err)
{
	memset(out, 0, sizeof(*out));
	return cb_err_set(err, -ENODEV, "no interface '%s' (fuzzing)", name);
}

int __wrap_cb_config_load(const char *path, struct cb_config *out, struct cb_cfg_err *err)
{
	(void)out;
	snprintf(err->msg, sizeof(err->msg), "%s: not read while fuzzing", path);
	return -1;
}

int __wrap_cb_dp_open(struct bpf_object **obj, struct cb_err *err)
{
	*obj = NULL;
	return cb_err_set(err, -EOPNOTSUPP, "open the embedded BPF object: not while fuzzing");
}

/* Only reachable with an open state, which the fuzzer never gives. */
int __wrap_cb_state_lock(struct cb_state *st, struct cb_err *err)
{
	(void)st;
	(void)err;
	FUZZ_CHECK(0, "cb_state_lock reached without a state");
	return -1;
}

int __wrap_cb_attach(struct cb_state *st, const struct cb_link *l, enum cb_mode m,
		     struct cb_err *err)
{
	(void)st;
	(void)l;
	(void)m;
	(void)err;
	FUZZ_CHECK(0, "cb_attach reached without a state");
	return -1;
}

int __wrap_cb_detach(struct cb_state *st, const char *ifname, struct cb_err *err)
{
	(void)st;
	(void)ifname;
	(void)err;
	FUZZ_CHECK(0, "cb_detach reached without a state");
	return -1;
}

static struct sigaction saved_int, saved_term;
static int verbose;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int null = open("/dev/null", O_RDWR);

	(void)argc;
	(void)argv;
	verbose = getenv("CB_FUZZ_VERBOSE") != NULL;
	/*
	 * Not a terminal: top would put a terminal into raw mode, and the
	 * CLI's stdout is of no interest (stderr is checked per run).
	 */
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || (!verbose && dup2(null, STDOUT_FILENO) < 0))
		abort();
	close(null);
	unsetenv("CANARY_BPF_PIN_PATH");
	/* top installs its own SIGINT/SIGTERM handlers: libFuzzer's come back after each run. */
	sigaction(SIGINT, NULL, &saved_int);
	sigaction(SIGTERM, NULL, &saved_term);
	return 0;
}

/* The overview cli_help prints when no command is given. */
static int is_overview(const char *text, size_t len)
{
	static char *overview;
	static size_t olen;

	if (!overview) {
		FILE *f = open_memstream(&overview, &olen);

		if (!f)
			abort();
		cli_help(f, NULL);
		fclose(f);
	}
	return len == olen && !memcmp(text, overview, len);
}

static void check_stderr(int rc, const char *text, size_t len, int newline_in_args)
{
	size_t lines = 0;

	FUZZ_CHECK(rc == 0 || rc == CB_EXIT_RUNTIME || rc == CB_EXIT_USAGE, "exit status %d", rc);
	if (rc == CB_EXIT_USAGE && is_overview(text, len))
		return;
	if (rc == 0) {
		FUZZ_CHECK(len == 0, "success with '%.*s' on stderr", (int)len, text);
		return;
	}
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	FUZZ_CHECK(len > 12 && !strncmp(text, "canary-bpf: ", 12) && text[len - 1] == '\n',
		   "exit %d with stderr '%.*s'", rc, (int)len, text);
	FUZZ_CHECK(strlen(text) == len, "a NUL byte on stderr");
	FUZZ_CHECK(lines == 1 || newline_in_args, "%zu lines on stderr: '%.*s'", lines, (int)len, text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2], *buf, *text = NULL;
	size_t len = 0;
	FILE *saved = stderr, *err;
	int argc = 0, nl, rc;

	if (size < 1)
		return 0;
	state_errno = data[0] & 1 ? -EACCES : -ENOENT;
	buf = fuzz_strndup(data + 1, size - 1);
	nl = memchr(buf, '\n', size - 1) != NULL;
	argv[argc++] = "canary-bpf";
	/* "a\0b" is two arguments; the terminating NUL of the copy ends the last one. */
	for (size_t at = 0; at < size - 1 && argc <= MAX_ARGS; at += strlen(buf + at) + 1)
		argv[argc++] = buf + at;
	argv[argc] = NULL;
	/*
	 * 'top' without a state (-ENOENT) and without a NAME shows "no
	 * services" every second until interrupted: not for a fuzzer.
	 */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "top"))
			state_errno = -EACCES;

	/* The CLI's stderr goes to a buffer (stdio only: sanitizer reports still reach fd 2). */
	err = open_memstream(&text, &len);
	if (!err)
		abort();
	stderr = err;
	rc = cb_cli_main(argc, argv);
	stderr = saved;
	fclose(err);
	if (verbose)
		dprintf(2, "exit %d\n%.*s", rc, (int)len, text);
	check_stderr(rc, text, len, nl);
	free(text);
	free(buf);
	sigaction(SIGINT, &saved_int, NULL);
	sigaction(SIGTERM, &saved_term, NULL);
	return 0;
}
