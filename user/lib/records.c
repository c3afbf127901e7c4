// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Rollout records and control requests: the agent's pinned memory and its mailbox. */
#include "records.h"
#include "dpstate_int.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>

static const char *const phases[] = {
	[CB_PHASE_IDLE] = "idle", [CB_PHASE_PROGRESSING] = "progressing",
	[CB_PHASE_PAUSED] = "paused", [CB_PHASE_PROMOTED] = "promoted",
	[CB_PHASE_ROLLED_BACK] = "rolled_back",
};

const char *cb_phase_name(uint32_t phase)
{
	return phase < sizeof(phases) / sizeof(phases[0]) ? phases[phase] : "unknown";
}

const char *cb_ctl_name(uint32_t cmd)
{
	static const char *const names[] = { "?", "pause", "resume", "abort", "promote", "force" };

	return cmd < sizeof(names) / sizeof(names[0]) ? names[cmd] : "?";
}

/* The maps keyed by service name: one lookup, update or delete each. */
static int get(int fd, const char *name, void *out)
{
	struct cb_name k = cb_name_key(name);

	return bpf_map_lookup_elem(fd, &k, out) ? -errno : 0;
}

static int put(int fd, const char *name, const void *v)
{
	struct cb_name k = cb_name_key(name);

	return bpf_map_update_elem(fd, &k, v, BPF_ANY) ? -errno : 0;
}

static int del(int fd, const char *name)
{
	struct cb_name k = cb_name_key(name);

	return bpf_map_delete_elem(fd, &k) && errno != ENOENT ? -errno : 0;
}

int cb_rollout_get(const struct cb_maps *m, const char *name, struct cb_rollout *out)
{
	int e = get(m->rollouts, name, out);

	/* Any root process may write the map: its strings are ended here, whatever it wrote. */
	if (!e) {
		out->reason[sizeof(out->reason) - 1] = 0;
		out->release[sizeof(out->release) - 1] = 0;
	}
	return e;
}

int cb_rollout_put(const struct cb_maps *m, const char *name, const struct cb_rollout *r)
{
	return put(m->rollouts, name, r);
}

int cb_rollout_del(const struct cb_maps *m, const char *name)
{
	return del(m->rollouts, name);
}

int cb_ctl_get(const struct cb_maps *m, const char *name, struct cb_ctl *out)
{
	return get(m->ctl, name, out);
}

int cb_ctl_put(const struct cb_maps *m, const char *name, const struct cb_ctl *c)
{
	return put(m->ctl, name, c);
}

int cb_ctl_del(const struct cb_maps *m, const char *name)
{
	return del(m->ctl, name);
}

int cb_ctl_each_pending(const struct cb_maps *m,
			int (*fn)(const char *name, struct cb_ctl *c, void *arg), void *arg)
{
	struct cb_name cur, next;
	struct cb_ctl c;
	void *prev = NULL;
	int r;

	while (bpf_map_get_next_key(m->ctl, prev, &next) == 0) {
		cur = next;
		prev = &cur;
		if (bpf_map_lookup_elem(m->ctl, &cur, &c) || c.state != CB_CTL_PENDING)
			continue;
		cur.name[CB_NAME_LEN - 1] = 0;
		if ((r = fn(cur.name, &c, arg)))
			return r;
	}
	return 0;
}
