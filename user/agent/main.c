// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* canary-bpf agent: its options (one table), start-up and shutdown. */
#include "agent.h"
#include "owner.h"
#include "log.h"
#include "upgrade.h"

#include <errno.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_METRICS_ADDR "127.0.0.1:9435"
#define DEFAULT_TEXTFILE_MS 10000

/* ADDR:PORT or [ADDR6]:PORT to serve metrics on, or "off". */
static int set_metrics_addr(const char *v, void *dst, struct cb_err *err)
{
	struct agent_metrics *m = dst;

	m->http_on = strcmp(v, "off") != 0;
	return m->http_on ? cb_parse_listen(v, &m->addr, err) : 0;
}

static int set_textfile_dir(const char *v, void *dst, struct cb_err *err)
{
	struct stat sb;

	if (stat(v, &sb) || (!S_ISDIR(sb.st_mode) && (errno = ENOTDIR)) || access(v, W_OK | X_OK))
		return cb_err_set(err, -1, "%.100s: %s", v, strerror(errno));
	*(const char **)dst = v;
	return 0;
}

static int set_textfile_interval(const char *v, void *dst, struct cb_err *err)
{
	if (cb_parse_duration(v, dst) || *(uint64_t *)dst < 1000)
		return cb_err_set(err, -1, "expected a duration of 1s or more");
	return 0;
}

#define DEFAULT_STATE_DIR "/var/lib/canary-bpf"

static int set_log_format(const char *v, void *dst, struct cb_err *err)
{
	(void)dst;
	return cb_log_set_format(v) ? cb_err_set(err, -1, "expected text or json") : 0;
}

static int set_log_level(const char *v, void *dst, struct cb_err *err)
{
	(void)dst;
	return cb_log_set_level(v) ? cb_err_set(err, -1, "expected debug, info, warn or error") : 0;
}

const struct cb_opt agent_opts[] = {
	{ "config", 0, "FILE", "the YAML file of interfaces, services and rollouts (required)", NULL,
	  offsetof(struct agent, config_path) },
	{ "validate", 0, NULL, "check the file (and its seed file) and exit, touching nothing:\n"
	  "0 valid, 2 with one FILE:LINE:COL: line per error", NULL,
	  offsetof(struct agent, validate) },
	{ "state-dir", 0, "DIR", "where copies of the rollout records are kept, so that an emptied\n"
	  "bpffs does not run an ended release again (default $CANARY_BPF_STATE_DIR,\n"
	  "else " DEFAULT_STATE_DIR "; \"\": none)", NULL, offsetof(struct agent, state_dir_opt) },
	{ "metrics-addr", 0, "ADDR:PORT|off", "where /metrics, /healthz and /readyz are served\n"
	  "(default " DEFAULT_METRICS_ADDR "; [ADDR6]:PORT for IPv6; off: nowhere)", set_metrics_addr,
	  offsetof(struct agent, mx) },
	{ "textfile-dir", 0, "DIR", "also write DIR/canary_bpf.prom for node_exporter",
	  set_textfile_dir, offsetof(struct agent, mx.textfile_dir) },
	{ "textfile-interval", 0, "DURATION", "how often the textfile is written (default 10s)",
	  set_textfile_interval, offsetof(struct agent, mx.textfile_every_ms) },
	{ "log-format", 0, "text|json", "one line per event, for people or for collectors",
	  set_log_format, 0 },
	{ "log-level", 0, "debug|info|warn|error", "the least level logged (default info)",
	  set_log_level, 0 },
	{ 0 },
};

static int usage_fail(const char *what, const char *why)
{
	fprintf(stderr, "canary-bpf: agent: %s: %s\n", what, why);
	return CB_EXIT_USAGE;
}

static int runtime_fail(struct agent *a, struct cb_config *cfg, const char *what, const char *why)
{
	fprintf(stderr, "canary-bpf: agent: %s%s%s\n", what, *what ? ": " : "", why);
	cb_config_free(cfg);
	agent_teardown(a);
	return CB_EXIT_RUNTIME;
}

/*
 * The conntrack size is the state's from its creation on: a file asking for
 * another one is said once, and the agent goes on (a DaemonSet must not
 * crash-loop over it).
 */
static int open_state(struct agent *a, const char *pin, const struct cb_config *cfg,
		      struct cb_err *err)
{
	struct cb_state_opts opts = { .ct_entries = cfg->ct_entries };
	int e = cb_state_open_opts(pin, CB_STATE_CREATE | CB_STATE_LOCK, &opts, &a->st, err);
	unsigned int hooks;

	if (e == -EEXIST)
		cb_log(CB_LOG_WARN, NULL, "conntrack", "%s", err->msg);
	else if (e)
		return e;
	/* The owner before anything changes: a second agent would fight this one. */
	if ((e = cb_owner_take(pin, &a->owner_fd, err)))
		return e;
	/* A new agent image: its programs take over from the running ones, in place. */
	e = cb_state_upgrade(&a->st, &hooks, err);
	if (e == 1)
		cb_log(CB_LOG_INFO, NULL, "upgrade", "datapath programs replaced in place on %u hooks",
		       hooks);
	return e < 0 ? e : 0;
}

/*
 * Everything before the loop, in an order that fails cleanly: the file
 * first, then the loop's descriptors, then the metrics port (a port that is
 * taken fails the start before any map is touched), then the state.
 */
static int start(struct agent *a, const char *pin)
{
	struct cb_config cfg;
	struct cb_cfg_err cerr;
	struct cb_err err;
	int e;

	if (cb_config_load(a->config_path, &cfg, &cerr)) {
		fprintf(stderr, "canary-bpf: agent: %s\n", cerr.msg);
		return CB_EXIT_USAGE;
	}
	if ((e = agent_setup(a)))
		return runtime_fail(a, &cfg, "setup", strerror(-e));
	/* Requests are only served from the loop, once the state is open. */
	if (agent_export_start(a, &err))
		return runtime_fail(a, &cfg, "", err.msg);
	if ((e = open_state(a, pin, &cfg, &err)))
		return runtime_fail(a, &cfg, "state", err.msg);
	if ((e = agent_statedir_open(a, a->state_dir_opt, pin, &err)))
		return runtime_fail(a, &cfg, "state-dir", err.msg);
	a->config_digest = agent_file_digest(a->config_path);
	e = agent_adopt(a, &cfg);
	cb_state_unlock(&a->st);
	if (e)
		return runtime_fail(a, &cfg, "", strerror(-e));
	cb_config_free(&cfg);
	return 0;
}

/* --validate: the file as the agent would read it; every error found, one line each. */
static int validate(const char *path)
{
	struct cb_config cfg;
	struct cb_cfg_err cerr;

	if (cb_config_load(path, &cfg, &cerr)) {
		fprintf(stderr, "%s\n%s", cerr.msg, cerr.more);   /* as compilers say it */
		return CB_EXIT_USAGE;
	}
	printf("%s: valid: %zu services, %zu interfaces\n", path, cfg.nservices, cfg.nifaces);
	cb_config_free(&cfg);
	return 0;
}

int cmd_agent(int argc, char **argv, const char *pin)
{
	struct agent a = { .epfd = -1, .sigfd = -1, .inofd = -1, .owner_fd = -1, .state_fd = -1,
			   .mx = { .textfile_every_ms = DEFAULT_TEXTFILE_MS } };
	struct cb_err err;
	int rc;

	set_metrics_addr(DEFAULT_METRICS_ADDR, &a.mx, &err);
	a.state_dir_opt = getenv("CANARY_BPF_STATE_DIR") ? getenv("CANARY_BPF_STATE_DIR") : DEFAULT_STATE_DIR;
	if (cb_opts_parse(agent_opts, &a, argc, argv, NULL, 0, NULL, NULL,
			  "see canary-bpf agent --help", &err) < 0) {
		fprintf(stderr, "canary-bpf: agent: %s\n", err.msg);
		return CB_EXIT_USAGE;
	}
	if (!a.config_path)
		return usage_fail("--config", "is required");
	if (a.validate)
		return validate(a.config_path);
	if ((rc = start(&a, pin)))
		return rc;
	cb_log(CB_LOG_INFO, NULL, "start", "canary-bpf %s: %s: %zu services, %zu interfaces, pin path %s",
	       CB_VERSION, a.config_path, a.cfg.nservices, a.cfg.nifaces, pin);
	rc = agent_loop(&a);
	agent_teardown(&a);
	return rc;
}
