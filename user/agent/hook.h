/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * User hooks (on_promote / on_rollback) for the rollout agent.
 *
 * No shell is involved: the command line is split into argv here and the
 * program is spawned directly, so a service name or reason can never be
 * interpreted as shell syntax. Users who want a shell write "sh -c '...'".
 *
 * The agent is a single-threaded event loop, so nothing here waits for a
 * hook: cb_hook_start() returns once the program has been exec'd and the
 * loop calls cb_hook_poll() (e.g. on SIGCHLD or a timer) until it reports
 * the end. The agent must not set SIGCHLD to SIG_IGN (children would be
 * reaped behind our back) and must not reap with waitpid(-1, ...).
 */
#ifndef CB_HOOK_H
#define CB_HOOK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * argv from a command line without a shell. Words are separated by
 * whitespace; '...' keeps everything literally; "..." keeps whitespace and
 * allows \" and \\ (any other backslash stays as it is); outside quotes a
 * backslash escapes the next character. Nothing else is special: $, ;, |,
 * `, *, > are ordinary characters.
 * Returns 0 and a NULL-terminated malloc'd argv (free with cb_argv_free), or
 * -1 with errno (EINVAL, ENOMEM) and a short reason in err ("unterminated
 * single quote", "empty command", ...).
 */
int cb_argv_split(const char *cmd, char ***argv, char *err, size_t errlen);
void cb_argv_free(char **argv);

struct cb_hook_env {
	const char *service, *event, *reason;   /* NULL reads as "" */
	uint32_t weight_bp;                     /* canary weight, basis points */
};

struct cb_hook {              /* one running hook */
	pid_t pid;                /* also its process group; 0 once reaped */
	uint64_t deadline_ms;     /* CLOCK_MONOTONIC ms; UINT64_MAX = no timeout */
	char service[64], event[16];
	int killed;               /* the timeout fired (or cb_hook_reap killed it) */
};

/*
 * Start cmd in its own process group with the agent's environment plus
 * CANARY_SERVICE, CANARY_WEIGHT ("0", "12.5", "12.25"), CANARY_REASON and
 * CANARY_EVENT; stdin is /dev/null, stdout/stderr are the agent's, no other
 * fd is inherited, signal mask and ignored signals are reset to defaults.
 * The program is looked up in PATH like execvp. timeout_ms 0 = no timeout.
 *
 * Returns 0 (h filled) or -errno with a reason in err: -EINVAL for a bad
 * command line, and exec failures of the program itself (-ENOENT, -EACCES,
 * -ENOEXEC, ...) since glibc's posix_spawn reports them synchronously. On a
 * libc that does not, the same failure shows up as exit status 127 from
 * cb_hook_poll(). Never waits for the hook to run.
 */
int cb_hook_start(const char *cmd, const struct cb_hook_env *env, uint64_t timeout_ms,
		  struct cb_hook *h, char *err, size_t errlen);

/*
 * Non-blocking: 1 when the hook has ended (*status = waitpid status), 0
 * while it runs. Once now_ms reaches deadline_ms the hook's process group
 * gets SIGKILL (killed = 1) and 0 is returned until it is reaped.
 * A hook is its whole process group: whatever it leaves running in the
 * group when it exits is killed before it is reaped, otherwise the timeout
 * would not bound anything (use setsid to detach on purpose).
 * -1 with errno ECHILD if h is not running or was reaped by someone else
 * (status unknown; h->pid is cleared so the pid is never signalled again).
 */
int cb_hook_poll(struct cb_hook *h, uint64_t now_ms, int *status);

/*
 * For shutdown: SIGKILL the process group if the hook still runs and reap
 * it, waiting at most about a second. If it could not be reaped in that
 * time (stuck in the kernel), h->pid stays set.
 */
void cb_hook_reap(struct cb_hook *h);

#endif
