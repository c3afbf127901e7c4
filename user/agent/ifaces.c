// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The interfaces of the file: attached in their mode, detached when the file drops them. */
#include "agent.h"
#include "log.h"

#include <string.h>

static const struct cb_cfg_iface *iface_find(const struct cb_config *c, const char *name)
{
	for (size_t i = 0; c && i < c->nifaces; i++)
		if (!strcmp(c->ifaces[i].name, name))
			return &c->ifaces[i];
	return NULL;
}

void agent_ifaces_apply(struct agent *a, const struct cb_config *old)
{
	struct cb_err err;

	for (size_t i = 0; old && i < old->nifaces; i++) {
		if (iface_find(&a->cfg, old->ifaces[i].name))
			continue;
		if (cb_detach(&a->st, old->ifaces[i].name, &err) && !strstr(err.msg, "not attached"))
			cb_log(CB_LOG_ERROR, NULL, "detach", "%s", err.msg);
		else
			cb_log(CB_LOG_INFO, NULL, "detach", "%s", old->ifaces[i].name);
	}
	for (size_t i = 0; i < a->cfg.nifaces; i++) {
		const struct cb_cfg_iface *ci = &a->cfg.ifaces[i];
		enum cb_mode want = ci->mode, cur;
		struct cb_link l;

		if (cb_link_get(ci->name, &l, &err)) {
			cb_log(CB_LOG_WARN, NULL, "attach", "%s (will retry)", err.msg);
			continue;
		}
		cur = cb_attach_mode(&a->st, &l);
		if (cur == want)
			continue;
		if (cur != CB_MODE_NONE && cb_detach(&a->st, l.name, &err)) {
			cb_log(CB_LOG_ERROR, NULL, "attach", "%s", err.msg);
			continue;
		}
		if (cb_attach(&a->st, &l, want, &err))
			cb_log(CB_LOG_ERROR, NULL, "attach", "%s", err.msg);
		else
			cb_log(CB_LOG_INFO, NULL, "attach", "%s (%s)", l.name, cb_mode_names[want]);
	}
}
