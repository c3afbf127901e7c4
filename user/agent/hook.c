// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "hook.h"
#include "parse.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REAP_WAIT_MS 1000

static const char *const hook_vars[] = {
	"CANARY_SERVICE", "CANARY_WEIGHT", "CANARY_REASON", "CANARY_EVENT",
};
#define NR_HOOK_VARS (sizeof(hook_vars) / sizeof(hook_vars[0]))

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

void cb_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

/* Appends a copy of word, keeping room for the terminating NULL. */
static int push_word(char ***argv, size_t *n, size_t *cap, const char *word, size_t len)
{
	char *w;

	if (*n + 1 >= *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		char **na = realloc(*argv, ncap * sizeof(*na));

		if (!na)
			return -1;
		*argv = na;
		*cap = ncap;
	}
	w = strndup(word, len);
	if (!w)
		return -1;
	(*argv)[(*n)++] = w;
	(*argv)[*n] = NULL;
	return 0;
}

/* The word at *pp (not a space) into word, unquoted: NULL, or why the text is refused. */
static const char *next_word(const char **pp, char *word, size_t *len)
{
	const char *p = *pp;
	size_t w = 0;

	for (; *p && !is_space(*p); p++) {
		if (*p == '\'') {
			const char *end = strchr(p + 1, '\'');

			if (!end)
				return "unterminated single quote";
			memcpy(word + w, p + 1, end - p - 1);
			w += end - p - 1;
			p = end;
		} else if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				word[w++] = *p;
			}
			if (!*p)
				return "unterminated double quote";
		} else if (*p == '\\') {
			if (!p[1])
				return "trailing backslash";
			word[w++] = *++p;
		} else {
			word[w++] = *p;
		}
	}
	*pp = p;
	*len = w;
	return NULL;
}

int cb_argv_split(const char *cmd, char ***argvp, char *err, size_t errlen)
{
	char **argv = NULL, *word = NULL;
	size_t n = 0, cap = 0, w;
	const char *p, *why = NULL;

	if (argvp)
		*argvp = NULL;
	if (!cmd || !argvp) {
		why = "no command";
		goto bad;
	}
	/* unquoting only ever shrinks the text, so one scratch word suffices */
	word = malloc(strlen(cmd) + 1);
	if (!word)
		goto nomem;
	for (p = cmd;;) {
		while (is_space(*p))
			p++;
		if (!*p)
			break;
		if ((why = next_word(&p, word, &w)))
			goto bad;
		if (push_word(&argv, &n, &cap, word, w))
			goto nomem;
	}
	if (!n) {
		why = "empty command";
		goto bad;
	}
	/* '' as the program would only fail later with a less useful ENOENT */
	if (!argv[0][0]) {
		why = "empty program name";
		goto bad;
	}
	free(word);
	*argvp = argv;
	return 0;

nomem:
	free(word);
	cb_argv_free(argv);
	set_err(err, errlen, "%s", "out of memory");
	errno = ENOMEM;
	return -1;
bad:
	free(word);
	cb_argv_free(argv);
	set_err(err, errlen, "%s", why);
	errno = EINVAL;
	return -1;
}

static bool is_hook_var(const char *kv)
{
	for (size_t i = 0; i < NR_HOOK_VARS; i++) {
		size_t l = strlen(hook_vars[i]);

		if (!strncmp(kv, hook_vars[i], l) && kv[l] == '=')
			return true;
	}
	return false;
}

/*
 * The agent's environment with our variables replacing any inherited ones:
 * a duplicate would leave it to the hook's libc which value it sees.
 * own[] holds the strings we allocated.
 */
static char **hook_envp(const struct cb_hook_env *env, char *own[NR_HOOK_VARS])
{
	const char *vals[NR_HOOK_VARS];
	char weight[16];
	size_t n = 0, k = 0;
	char **envp;

	cb_fmt_percent(env ? env->weight_bp : 0, weight, sizeof(weight));
	vals[0] = env && env->service ? env->service : "";
	vals[1] = weight;
	vals[2] = env && env->reason ? env->reason : "";
	vals[3] = env && env->event ? env->event : "";

	for (char **e = environ; e && *e; e++)
		n++;
	envp = calloc(n + NR_HOOK_VARS + 1, sizeof(*envp));
	if (!envp)
		return NULL;
	for (char **e = environ; e && *e; e++)
		if (!is_hook_var(*e))
			envp[k++] = *e;
	for (size_t i = 0; i < NR_HOOK_VARS; i++) {
		if (asprintf(&own[i], "%s=%s", hook_vars[i], vals[i]) < 0) {
			own[i] = NULL;
			for (size_t j = 0; j < i; j++)
				free(own[j]);
			free(envp);
			return NULL;
		}
		envp[k++] = own[i];
	}
	envp[k] = NULL;
	return envp;
}

static void free_envp(char **envp, char *own[NR_HOOK_VARS])
{
	for (size_t i = 0; i < NR_HOOK_VARS; i++)
		free(own[i]);
	free(envp);
}

static int spawn_attrs(posix_spawnattr_t *attr, posix_spawn_file_actions_t *fa)
{
	sigset_t none, all;
	int rc;

	rc = posix_spawnattr_init(attr);
	if (rc)
		return rc;
	rc = posix_spawn_file_actions_init(fa);
	if (rc) {
		posix_spawnattr_destroy(attr);
		return rc;
	}
	sigemptyset(&none);
	sigfillset(&all);
	/*
	 * Own process group so the timeout can kill everything the hook
	 * started. The agent blocks signals for its signalfd and ignores
	 * SIGPIPE; both survive exec, so hand the hook a clean slate.
	 */
	rc = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETSIGDEF);
	if (!rc)
		rc = posix_spawnattr_setpgroup(attr, 0);
	if (!rc)
		rc = posix_spawnattr_setsigmask(attr, &none);
	if (!rc)
		rc = posix_spawnattr_setsigdefault(attr, &all);
	if (!rc)
		rc = posix_spawn_file_actions_addopen(fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	/* the agent's fds are O_CLOEXEC, but libraries' may not be */
	if (!rc)
		rc = posix_spawn_file_actions_addclosefrom_np(fa, STDERR_FILENO + 1);
#endif
	if (rc) {
		posix_spawn_file_actions_destroy(fa);
		posix_spawnattr_destroy(attr);
	}
	return rc;
}

int cb_hook_start(const char *cmd, const struct cb_hook_env *env, uint64_t timeout_ms,
		  struct cb_hook *h, char *err, size_t errlen)
{
	char *own[NR_HOOK_VARS] = { NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char **argv, **envp;
	uint64_t now;
	pid_t pid;
	int rc;

	if (!h) {
		set_err(err, errlen, "no hook");
		return -EINVAL;
	}
	memset(h, 0, sizeof(*h));
	if (cb_argv_split(cmd, &argv, err, errlen))
		return -errno;
	envp = hook_envp(env, own);
	if (!envp) {
		cb_argv_free(argv);
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = spawn_attrs(&attr, &fa);
	if (rc) {
		set_err(err, errlen, "posix_spawn setup: %s", strerror(rc));
		goto out;
	}
	/*
	 * glibc spawns with CLONE_VFORK: this returns once the child has
	 * exec'd (or failed to, with the exec errno, having reaped it).
	 */
	rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc) {
		set_err(err, errlen, "%s: %s", argv[0], strerror(rc));
		goto out;
	}
	now = cb_now_ms();
	h->pid = pid;
	h->deadline_ms = timeout_ms && timeout_ms < UINT64_MAX - now ? now + timeout_ms : UINT64_MAX;
	snprintf(h->service, sizeof(h->service), "%s", env && env->service ? env->service : "");
	snprintf(h->event, sizeof(h->event), "%s", env && env->event ? env->event : "");
out:
	free_envp(envp, own);
	cb_argv_free(argv);
	return -rc;
}

/*
 * 1 with *status once the leader has ended, 0 while it runs, -1 on error.
 * The leader is looked at with WNOWAIT first: while it is an unreaped
 * zombie its pid, and so the process group id, cannot be reused, which
 * makes it safe to sweep the group before reaping.
 */
static int try_reap(struct cb_hook *h, int *status)
{
	siginfo_t si;
	int st;

	for (;;) {
		memset(&si, 0, sizeof(si));
		if (!waitid(P_PID, h->pid, &si, WEXITED | WNOHANG | WNOWAIT))
			break;
		if (errno == EINTR)
			continue;
		h->pid = 0;
		return -1;
	}
	if (!si.si_pid)
		return 0;
	kill(-h->pid, SIGKILL);
	while (waitpid(h->pid, &st, 0) < 0) {
		if (errno == EINTR)
			continue;
		h->pid = 0;
		return -1;
	}
	h->pid = 0;
	if (status)
		*status = st;
	return 1;
}

int cb_hook_poll(struct cb_hook *h, uint64_t now_ms, int *status)
{
	int rc;

	if (!h || h->pid <= 0) {
		errno = ECHILD;
		return -1;
	}
	rc = try_reap(h, status);
	if (rc)
		return rc;
	if (!h->killed && now_ms >= h->deadline_ms) {
		kill(-h->pid, SIGKILL);
		h->killed = 1;
	}
	return 0;
}

void cb_hook_reap(struct cb_hook *h)
{
	const struct timespec tick = { .tv_nsec = 5 * 1000000 };
	uint64_t end;

	if (!h || h->pid <= 0)
		return;
	end = cb_now_ms() + REAP_WAIT_MS;
	/* only signal while it is known to be unreaped, as in try_reap() */
	if (!try_reap(h, NULL)) {
		kill(-h->pid, SIGKILL);
		h->killed = 1;
	}
	while (h->pid > 0 && !try_reap(h, NULL) && cb_now_ms() < end)
		nanosleep(&tick, NULL);
}
