// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* canary-bpf agent: the event loop, signals, configuration reloads and the tick. */
#include "agent.h"
#include "log.h"

#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define RELOAD_DEBOUNCE_MS 200

/* Services and interfaces of cfg become the agent's; the old ones are let go. */
int agent_adopt(struct agent *a, struct cb_config *cfg)
{
	struct cb_config old = a->cfg;
	struct agent_svc *svcs = NULL, *old_svcs = a->svcs;
	size_t n = 0, nold = a->nsvcs;
	int e = agent_seed_apply(a, cfg);

	if (e)
		return e;
	e = agent_svcs_build(a, cfg, &svcs, &n, a->svcs, a->nsvcs);
	if (e) {
		agent_svcs_free(a, svcs, n);
		return e;
	}
	a->cfg = *cfg;
	a->svcs = svcs;
	a->nsvcs = n;
	memset(cfg, 0, sizeof(*cfg));
	agent_ifaces_apply(a, old.ifaces ? &old : NULL);
	agent_forget_removed(a, old_svcs, nold);
	agent_svcs_free(a, old_svcs, nold);
	cb_config_free(&old);
	return 0;
}

/* The file's bytes hashed: a reload of an unchanged file is not worth a line. */
uint64_t agent_file_digest(const char *path)
{
	uint64_t h = CB_FNV1A_INIT;
	FILE *f = fopen(path, "rbe");
	char buf[4096];
	size_t n;

	if (!f)
		return 0;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		h = cb_fnv1a(h, buf, n);
	fclose(f);
	return h;
}

static void reload(struct agent *a, const char *why)
{
	struct cb_config cfg;
	struct cb_cfg_err err;
	struct cb_err lerr;
	uint64_t digest = agent_file_digest(a->config_path);
	int e;

	if (digest && digest == a->config_digest && strcmp(why, "SIGHUP"))
		return;
	a->same_file = digest && digest == a->config_digest;
	a->config_digest = digest;
	if (cb_config_load(a->config_path, &cfg, &err)) {
		cb_log(CB_LOG_ERROR, NULL, "config", "%s: keeping the running configuration",
		       err.msg);
		a->mx.reloads_failed++;
		return;
	}
	if (cb_state_lock(&a->st, &lerr)) {
		cb_log(CB_LOG_ERROR, NULL, "config", "%s", lerr.msg);
		cb_config_free(&cfg);
		return;
	}
	if ((e = agent_adopt(a, &cfg))) {
		cb_log(CB_LOG_ERROR, NULL, "config", "%s: keeping the running configuration",
		       strerror(-e));
		a->mx.reloads_failed++;
	} else {
		cb_log(CB_LOG_INFO, NULL, "config", "reloaded (%s): %zu services, %zu interfaces",
		       why, a->cfg.nservices, a->cfg.nifaces);
		a->mx.reloads_ok++;
	}
	cb_state_unlock(&a->st);
	cb_config_free(&cfg);
	a->resync_at_ms = 0;
}

static void on_signal(struct agent *a)
{
	struct signalfd_siginfo si;

	while (read(a->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(a, "SIGHUP");
		} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			cb_log(CB_LOG_INFO, NULL, "stop", "%s: exiting; forwarding stays as it is",
			       strsignal((int)si.ssi_signo));
			a->stop = 1;
		}
		/* SIGCHLD only wakes the loop: hooks are reaped by pid in agent_hooks_tick. */
	}
}

/*
 * Any change in the file's directory: a ConfigMap update swaps the "..data"
 * symlink there and never writes the file itself. Parsing is cheap; the
 * debounce only folds the burst of events of one update into one reload.
 */
static void on_inotify(struct agent *a, uint64_t now)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(a->inofd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			/* The file itself, or the ConfigMap's "..data" and "..TIMESTAMP" entries. */
			if (ev->len && (!strcmp(ev->name, a->config_name) || !strncmp(ev->name, "..", 2)))
				a->reload_at_ms = now + RELOAD_DEBOUNCE_MS;
			p += sizeof(*ev) + ev->len;
		}
	}
}

/* Conntrack occupancy: a walk of both tables every CT_SCAN_EVERY_MS, a step per tick. */
#define CT_SCAN_EVERY_MS 10000
#define CT_SCAN_STEP     16384

static void ct_scan_tick(struct agent *a, uint64_t now)
{
	int r;

	if (now < a->mx.ct_scan_at_ms)
		return;
	r = cb_ct_scan_step(&a->st.maps, &a->mx.ct_scan, CT_SCAN_STEP);
	if (r < 0)
		cb_log(CB_LOG_WARN, NULL, "conntrack", "count the entries: %s", strerror(-r));
	if (r != 0)
		a->mx.ct_scan_at_ms = now + CT_SCAN_EVERY_MS;
}

static void tick(struct agent *a, uint64_t now)
{
	struct cb_err err;
	int resync = now >= a->resync_at_ms;

	agent_health_tick(a, now);
	if (cb_state_lock(&a->st, &err)) {
		cb_log(CB_LOG_ERROR, NULL, "state", "%s", err.msg);
		return;
	}
	agent_ctl_tick(a, now);
	agent_rollout_tick(a, now);
	for (size_t i = 0; i < a->nsvcs; i++)
		if ((resync || a->svcs[i].dirty) && !a->svcs[i].forced)
			agent_reconcile(a, &a->svcs[i], now);
	if (resync || a->links_changed) {
		a->links_changed = 0;
		agent_ifaces_apply(a, NULL);
	}
	if (resync)
		a->resync_at_ms = now + AGENT_RESYNC_MS;
	cb_state_unlock(&a->st);
	agent_hooks_start(a);
	agent_hooks_tick(a, now);
	ct_scan_tick(a, now);
	if (!a->ready) {
		for (size_t i = 0; i < a->nsvcs; i++)
			if (!agent_svc_settled(&a->svcs[i]) || a->svcs[i].dirty)
				return;
		a->ready = 1;
		cb_log(CB_LOG_INFO, NULL, "ready", "%zu services applied", a->nsvcs);
	}
}

int agent_loop(struct agent *a)
{
	struct epoll_event evs[64];
	uint64_t next_tick = 0;

	while (!a->stop) {
		uint64_t now = cb_now_ms();
		int wait = next_tick > now ? (int)(next_tick - now) : 0;
		int http_wait = agent_export_timeout_ms(a);
		int n;

		if (http_wait >= 0 && http_wait < wait)
			wait = http_wait;
		n = epoll_wait(a->epfd, evs, 64, wait);

		if (n < 0 && errno != EINTR) {
			cb_log(CB_LOG_ERROR, NULL, "loop", "epoll_wait: %s", strerror(errno));
			return CB_EXIT_RUNTIME;
		}
		now = cb_now_ms();
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &a->sigfd)
				on_signal(a);
			else if (p == &a->inofd)
				on_inotify(a, now);
			else if (p == &a->nl)
				agent_links_event(a);
			else if (p == &a->mx)
				;       /* served below, with the server's own timeouts */
			else
				agent_probe_event(a, p, now);
		}
		if (a->reload_at_ms && now >= a->reload_at_ms) {
			a->reload_at_ms = 0;
			reload(a, "file changed");
		}
		if (!a->stop && (now >= next_tick || a->kick)) {
			a->kick = 0;
			tick(a, now);
			next_tick = now + AGENT_TICK_MS;
		}
		agent_export_tick(a, now);
	}
	return 0;
}

static int watch(struct agent *a, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	return epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int agent_setup(struct agent *a)
{
	sigset_t set;
	char *copy = strdup(a->config_path);
	int nlfd, e;

	if (!copy)
		return -ENOMEM;
	snprintf(a->config_dir, sizeof(a->config_dir), "%s", dirname(copy));
	free(copy);
	copy = strdup(a->config_path);
	if (!copy)
		return -ENOMEM;
	snprintf(a->config_name, sizeof(a->config_name), "%s", basename(copy));
	free(copy);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	a->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	a->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (a->epfd < 0 || a->sigfd < 0 || a->inofd < 0)
		return -errno;
	if (inotify_add_watch(a->inofd, a->config_dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE |
			      IN_DELETE | IN_MOVED_FROM | IN_ATTRIB) < 0)
		return -errno;
	if (watch(a, a->sigfd, &a->sigfd) || watch(a, a->inofd, &a->inofd))
		return -errno;
	if ((e = agent_links_open(a, &nlfd)))
		return e;
	if (watch(a, nlfd, &a->nl))
		return -errno;
	return 0;
}

void agent_teardown(struct agent *a)
{
	agent_export_stop(a);
	agent_hooks_stop(a);
	agent_links_close(a);
	agent_svcs_free(a, a->svcs, a->nsvcs);
	a->svcs = NULL;
	a->nsvcs = 0;
	cb_config_free(&a->cfg);
	cb_state_close(&a->st);
	if (a->owner_fd >= 0)
		close(a->owner_fd);
	a->owner_fd = -1;
	if (a->state_fd >= 0)
		close(a->state_fd);
	a->state_fd = -1;
	if (a->inofd >= 0)
		close(a->inofd);
	if (a->sigfd >= 0)
		close(a->sigfd);
	if (a->epfd >= 0)
		close(a->epfd);
}
