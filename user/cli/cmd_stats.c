// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* stats [NAME]: per-track counters and signals, with rates over half a second. */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "panel.h"

int cmd_stats(const struct cli *c, int argc, char **argv)
{
	const char *pos[1] = { NULL };
	struct svc_view *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	double t0, dt;
	int n = cli_args("stats", argc, argv, NULL, NULL, pos, 1), e;

	if (n < 0)
		return CB_EXIT_USAGE;
	if ((e = view_read(c, pos[0], &a, &na)))
		goto out;
	if (c->json) {
		struct json_object *arr = json_object_new_array();

		for (size_t i = 0; i < na; i++)
			json_object_array_add(arr, view_json_stats(&a[i]));
		cli_json_print(arr);
		goto out;
	}
	if (na == 0) {
		puts("no services");
		goto out;
	}
	/* Rates need a second reading: half a second apart. */
	t0 = cli_now_s();
	usleep(500000);
	if ((e = view_read(c, pos[0], &b, &nb)))
		goto out;
	dt = cli_now_s() - t0;
	for (size_t i = 0; i < nb; i++) {
		panel_render(&b[i], view_find(a, na, b[i].name), dt, 0, isatty(STDOUT_FILENO), stdout);
		if (i + 1 < nb)
			putchar('\n');
	}
out:
	view_free(a, na);
	view_free(b, nb);
	return e;
}
