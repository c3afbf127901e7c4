/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * canary-bpf agent: one single-threaded event loop (epoll) that owns the
 * services of a YAML file. Nothing in the loop blocks: probes are
 * non-blocking sockets in the epoll set and hooks are child processes
 * reaped on the way. The files (docs/agent.md has the whole tour):
 *
 *   main.c       options (one table), start-up and shutdown
 *   loop.c       the event loop, signals, reloads, the tick
 *   services.c   the services of the file, carried across reloads
 *   ifaces.c     the interfaces of the file;  links.c  rtnetlink link events
 *   health.c     health probes
 *   driver.c     rollouts: decides and records (analysis, CLI commands)
 *   window.c     the analysis window of a service
 *   reconcile.c  makes the maps follow the record and the file (cb_ro_plan)
 *   hooks.c      on_promote / on_rollback
 *   export.c, metrics.c   /metrics, /healthz, /readyz and the textfile
 */
#ifndef CB_AGENT_H
#define CB_AGENT_H

#include <limits.h>
#include "analysis.h"
#include "attach.h"
#include "config.h"
#include "ctstat.h"
#include "expo.h"
#include "hook.h"
#include "http.h"
#include "opts.h"
#include "probe.h"
#include "rollout.h"

#define AGENT_TICK_MS    100     /* CLI requests and due checks are looked at this often */
#define AGENT_RESYNC_MS  10000   /* every service is compared with the maps this often */
#define AGENT_MAX_HOOKS  64

struct agent_svc;
struct nl_sock;

struct agent_be {
	struct cb_endpoint ep;
	unsigned int track;
	struct cb_health_state hs;
	struct cb_probe probe;
	uint64_t next_ms;              /* next probe */
	int probed;                    /* its health is known: probed, or up from the start */
	struct agent_svc *svc;
};

/* Counters of both tracks at one moment: analysis works on differences. */
struct agent_snap {
	struct cb_track_stats st[CB_TRACKS];
	struct cb_hist hist[CB_TRACKS][CB_HISTS];
	int hist_read;                 /* hist holds these counters' histograms */
};

/* The last analysis and the counters it was made of: quiet windows are not judged again. */
struct agent_judged {
	struct cb_track_stats base[CB_TRACKS], now[CB_TRACKS];
	int full;                      /* judged at a 100 % step (no stable baseline) */
	struct cb_analysis res;
};

enum agent_hook_event { AGENT_HOOK_NONE = 0, AGENT_HOOK_PROMOTE, AGENT_HOOK_ROLLBACK };

struct agent_svc {
	const struct cb_cfg_service *cfg;   /* into agent.cfg */
	struct cb_svc_key key;
	struct agent_be *be[CB_TRACKS];
	size_t nbe[CB_TRACKS];
	struct agent_snap *base;       /* start of the analysis window; NULL: none yet */
	uint64_t base_ms;              /* when it started */
	struct cb_track_stats last_st[CB_TRACKS];   /* the latest counters read, */
	int last_valid;                /* to skip idle rereads of the histograms */
	struct agent_judged *judged;
	uint32_t svc_id;               /* counters index, read again after each reconcile */
	int svc_id_known;
	uint64_t last_check_ms;
	uint64_t next_look_ms;         /* when to read a rollout that was not progressing */
	enum agent_hook_event hook_event;   /* a decision's hook, started after the reconcile */
	struct cb_rollout hook_rec;    /* the record it was decided with */
	int dirty;                     /* the maps may differ from what this service wants */
	int broken;                    /* the last apply failed (logged once) */
	int forced;                    /* changed by the CLI with --force: left alone until the file changes */
};

/* Where metrics go (export.c) and what only the agent knows of them. */
struct agent_metrics {
	int http_on;                   /* --metrics-addr off: no server */
	struct cb_endpoint addr;       /* port filled in once bound */
	struct cb_http *http;
	const char *textfile_dir;      /* NULL: no textfile */
	uint64_t textfile_every_ms, textfile_at_ms;
	int textfile_failing;          /* the last write failed (logged once) */
	uint64_t reloads_ok, reloads_failed;
	struct cb_ct_scan ct_scan;     /* conntrack occupancy, walked a step per tick */
	uint64_t ct_scan_at_ms;        /* the next walk starts */
	uint64_t ct_evictions[CB_CT_TABLES];   /* as exported: never decreasing */
};

struct agent {
	const char *config_path;
	int validate;                 /* --validate: check the file, touch nothing */
	char config_dir[PATH_MAX];
	char config_name[NAME_MAX + 1];
	uint64_t config_digest;        /* of the file last read */
	struct cb_config cfg;
	struct agent_svc *svcs;
	size_t nsvcs;
	struct cb_state st;
	int epfd, sigfd, inofd;
	int owner_fd;                  /* the pin path's agent lock (owner.h), held until exit */
	const char *state_dir_opt;     /* --state-dir (default CANARY_BPF_STATE_DIR or /var/lib/canary-bpf) */
	int state_fd;                  /* its subdirectory for this pin path; -1: none */
	char state_dir[2 * PATH_MAX];
	int state_failing;             /* the last save failed (said once) */
	int same_file;                 /* this adoption reads the file the last one did */
	struct cb_hook hooks[AGENT_MAX_HOOKS];
	size_t nhooks;
	uint64_t reload_at_ms;         /* a change on disk, debounced */
	uint64_t resync_at_ms;
	int stop;
	int ready;                     /* every service is applied with its first probes */
	int kick;                      /* a probe changed something: tick now */
	struct nl_sock *nl;            /* rtnetlink link events (links.c) */
	int links_changed;             /* a configured interface came or went */
	struct agent_metrics mx;
};

/* services.c */
int agent_svcs_build(struct agent *a, const struct cb_config *cfg, struct agent_svc **out,
		     size_t *n, const struct agent_svc *old, size_t nold);
void agent_svcs_free(struct agent *a, struct agent_svc *s, size_t n);
void agent_forget_removed(struct agent *a, const struct agent_svc *old, size_t nold);
struct agent_svc *agent_svc_find(struct agent *a, const char *name);

/* ifaces.c: old is the configuration before a reload (NULL: nothing to detach). */
void agent_ifaces_apply(struct agent *a, const struct cb_config *old);

/* reconcile.c */
int agent_reconcile(struct agent *a, struct agent_svc *s, uint64_t now);

/* health.c */
void agent_health_tick(struct agent *a, uint64_t now);
void agent_probe_event(struct agent *a, struct agent_be *be, uint64_t now);
int agent_canary_all_down(const struct agent_svc *s);
/* Every backend's health is known (the first probes are in). */
int agent_svc_settled(const struct agent_svc *s);

/* driver.c */
void agent_rollout_tick(struct agent *a, uint64_t now);
void agent_ctl_tick(struct agent *a, uint64_t now);

/*
 * window.c. agent_window_read: the counters now; 1 with *now (malloc'd) to
 * judge, 0 when a window just started there, -1 on error.
 */
void agent_window_reset(struct agent_svc *s);
int agent_window_read(struct agent *a, struct agent_svc *s, uint64_t now, struct agent_snap **now_out);
int agent_window_judge(struct agent *a, struct agent_svc *s, struct agent_snap *now, int full,
		       const struct cb_analysis_cfg *acfg, struct cb_analysis *res);
uint64_t agent_window_canary_connections(const struct agent_svc *s, const struct agent_snap *now);
uint64_t agent_window_canary_requests(const struct agent_svc *s, const struct agent_snap *now);
/* A new step's window starts at now (taken), unless one is open (now is freed). */
void agent_window_restart_at(struct agent *a, struct agent_svc *s, struct agent_snap *now);

/* hooks.c */
void agent_hook_queue(struct agent_svc *s, const struct cb_rollout *r, enum agent_hook_event ev);
void agent_hooks_start(struct agent *a);
void agent_hooks_tick(struct agent *a, uint64_t now);
void agent_hooks_stop(struct agent *a);

/* links.c */
int agent_links_open(struct agent *a, int *fd);
void agent_links_event(struct agent *a);
void agent_links_close(struct agent *a);

/* metrics.c, export.c */
int agent_metrics_render(struct agent *a, struct cb_buf *b);
int agent_is_ready(const struct agent *a);
int agent_export_start(struct agent *a, struct cb_err *err);
int agent_export_timeout_ms(struct agent *a);
void agent_export_tick(struct agent *a, uint64_t now);
void agent_export_stop(struct agent *a);

/* loop.c */
int agent_setup(struct agent *a);
void agent_teardown(struct agent *a);
/* Services and interfaces of cfg become the agent's (cfg is emptied); the old ones are let go. */
int agent_adopt(struct agent *a, struct cb_config *cfg);
/* seeds.c: the seed file's seeds into the state (tables rebuilt when they change). */
int agent_seed_apply(struct agent *a, const struct cb_config *cfg);
uint64_t agent_file_digest(const char *path);
int agent_loop(struct agent *a);

/* statedir.c: rollout records on disk too (agent_rollout_put writes both). */
int agent_statedir_open(struct agent *a, const char *dir, const char *pin, struct cb_err *err);
void agent_record_save(struct agent *a, const char *name, const struct cb_rollout *r);
int agent_record_load(struct agent *a, const char *name, struct cb_rollout *r);
void agent_record_forget(struct agent *a, const char *name);
int agent_rollout_put(struct agent *a, const char *name, const struct cb_rollout *r);

/* main.c: the agent's options, for its help page too. */
extern const struct cb_opt agent_opts[];
int cmd_agent(int argc, char **argv, const char *pin);

#endif
