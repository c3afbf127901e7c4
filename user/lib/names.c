// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Service names: the cb_names map, the CLI's way to say "web" for a VIP:port/proto. */
#include "dpstate.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cb_name cb_name_key(const char *name)
{
	struct cb_name k;

	memset(&k, 0, sizeof(k));
	strncpy(k.name, name, sizeof(k.name) - 1);
	return k;
}

int cb_name_get(const struct cb_maps *m, const char *name, struct cb_svc_key *out)
{
	struct cb_name k = cb_name_key(name);

	return bpf_map_lookup_elem(m->names, &k, out) ? -errno : 0;
}

int cb_name_put(const struct cb_maps *m, const char *name, const struct cb_svc_key *key)
{
	struct cb_name k = cb_name_key(name);

	return bpf_map_update_elem(m->names, &k, key, BPF_NOEXIST) ? -errno : 0;
}

int cb_name_del(const struct cb_maps *m, const char *name)
{
	struct cb_name k = cb_name_key(name);

	return bpf_map_delete_elem(m->names, &k) ? -errno : 0;
}

int cb_name_of(const struct cb_maps *m, const struct cb_svc_key *key, char *name, size_t len)
{
	struct cb_name cur, next;
	struct cb_svc_key v;
	void *prev = NULL;

	while (bpf_map_get_next_key(m->names, prev, &next) == 0) {
		if (bpf_map_lookup_elem(m->names, &next, &v) == 0 && !memcmp(&v, key, sizeof(v))) {
			snprintf(name, len, "%s", next.name);
			return 0;
		}
		cur = next;
		prev = &cur;
	}
	return -ENOENT;
}

/* qsort through a comparator of its own type: calling strcmp through a cast is undefined. */
static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int cb_names_list(const struct cb_maps *m, char (**names)[CB_NAME_LEN], size_t *n)
{
	struct cb_name cur, next;
	void *prev = NULL;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	while (bpf_map_get_next_key(m->names, prev, &next) == 0) {
		if (*n == cap) {
			void *grown = realloc(*names, (cap = cap ? cap * 2 : 16) * CB_NAME_LEN);

			if (!grown) {
				free(*names);
				*names = NULL;
				return -ENOMEM;
			}
			*names = grown;
		}
		memcpy((*names)[(*n)++], next.name, CB_NAME_LEN);
		cur = next;
		prev = &cur;
	}
	/*
	 * With no service *names is NULL, and qsort's base is declared nonnull
	 * even for zero elements (UBSan: "null pointer passed as argument 1").
	 */
	if (*n > 1)
		qsort(*names, *n, CB_NAME_LEN, name_cmp);
	return 0;
}
