// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Rollout records and control requests: the agent's pinned memory and its mailbox. */
#include "dpstate.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>

static struct cb_name key_of(const char *name)
{
	struct cb_name k;

	memset(&k, 0, sizeof(k));
	strncpy(k.name, name, sizeof(k.name) - 1);
	return k;
}

int cb_rollout_get(const struct cb_maps *m, const char *name, struct cb_rollout *out)
{
	struct cb_name k = key_of(name);

	return bpf_map_lookup_elem(m->rollouts, &k, out) ? -errno : 0;
}

int cb_rollout_put(const struct cb_maps *m, const char *name, const struct cb_rollout *r)
{
	struct cb_name k = key_of(name);

	return bpf_map_update_elem(m->rollouts, &k, r, BPF_ANY) ? -errno : 0;
}

int cb_rollout_del(const struct cb_maps *m, const char *name)
{
	struct cb_name k = key_of(name);

	return bpf_map_delete_elem(m->rollouts, &k) && errno != ENOENT ? -errno : 0;
}

int cb_ctl_get(const struct cb_maps *m, const char *name, struct cb_ctl *out)
{
	struct cb_name k = key_of(name);

	return bpf_map_lookup_elem(m->ctl, &k, out) ? -errno : 0;
}

int cb_ctl_put(const struct cb_maps *m, const char *name, const struct cb_ctl *c)
{
	struct cb_name k = key_of(name);

	return bpf_map_update_elem(m->ctl, &k, c, BPF_ANY) ? -errno : 0;
}

int cb_ctl_del(const struct cb_maps *m, const char *name)
{
	struct cb_name k = key_of(name);

	return bpf_map_delete_elem(m->ctl, &k) && errno != ENOENT ? -errno : 0;
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
