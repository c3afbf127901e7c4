// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The fleet's hash seeds: from the seed file, when the configuration names
 * one, into the pinned state; every table is then rebuilt so that nodes
 * sharing the file build the same tables from the same backend sets.
 */
#include "agent.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

/* Every service in the maps, not only the file's: a table left on the old seeds would differ. */
static int rebuild_all(struct agent *a, size_t *done)
{
	char (*names)[CB_NAME_LEN] = NULL;
	size_t n = 0;
	int e = cb_names_list(&a->st.maps, &names, &n);

	for (size_t i = 0; !e && i < n; i++) {
		struct cb_svc_key k;

		if ((e = cb_name_get(&a->st.maps, names[i], &k)))
			break;
		if ((e = cb_tables_rebuild(&a->st.maps, &k)))
			cb_log(CB_LOG_ERROR, names[i], "seed", "rebuild its tables: %s", strerror(-e));
		else
			(*done)++;
	}
	free(names);
	return e;
}

int agent_seed_apply(struct agent *a, const struct cb_config *cfg)
{
	size_t done = 0;
	int e;

	if (!cfg->seed_len)
		return 0;
	e = cb_meta_set_seed(&a->st.maps, cfg->seed, cfg->seed_len);
	if (e < 0) {
		cb_log(CB_LOG_ERROR, NULL, "seed", "%s: %s", cfg->seed_file, strerror(-e));
		return e;
	}
	if (e == 0)
		return 0;
	e = rebuild_all(a, &done);
	cb_log(e ? CB_LOG_ERROR : CB_LOG_INFO, NULL, "seed",
	       "hash seeds from %s: the tables of %zu services rebuilt", cfg->seed_file, done);
	return e;
}
