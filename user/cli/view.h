/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A service as the CLI shows it: record, backends, overrides, counters. */
#ifndef CB_VIEW_H
#define CB_VIEW_H

#include "cli.h"

struct svc_view {
	char name[CB_NAME_LEN];
	struct cb_svc_key key;
	struct cb_service svc;
	struct cb_endpoint vip;          /* with the service port */
	struct cb_endpoint be[CB_TRACKS][CB_MAX_TRACK_BACKENDS];
	size_t nbe[CB_TRACKS];
	struct cb_override *ovr;         /* malloc'd */
	size_t novr;
	struct cb_track_stats st[CB_TRACKS];
	struct cb_hist hist[CB_TRACKS][CB_HISTS];
};

/* Load everything about the service called name; 0 or -errno. */
int view_load(const struct cb_state *st, const char *name, struct svc_view *v);
/* All services, sorted by name; view_free() them. Prints its own error; returns an exit code. */
int view_load_all(const struct cb_state *st, const char *only, struct svc_view **views, size_t *n);
void view_free(struct svc_view *v, size_t n);
/* Open the state read-only and load (a missing state is no service); returns an exit code. */
int view_read(const struct cli *c, const char *only, struct svc_view **v, size_t *n);
/* The view of name in v[0..n-1], or NULL. */
const struct svc_view *view_find(const struct svc_view *v, size_t n, const char *name);

/* 5xx share of the HTTP responses counted, 0 when there were none. */
double view_error_ratio(const struct cb_track_stats *s);

/* "10.96.0.10:80/tcp" */
void view_service_addr(const struct svc_view *v, char *buf, size_t len);
struct json_object *view_json_service(const struct svc_view *v);   /* service list */
struct json_object *view_json_stats(const struct svc_view *v);     /* stats */

/* Aligned text table: add rows of cells, then print. */
#define TABLE_COLS 12
struct table {
	char *cell[64 + CB_MAX_TRACK_BACKENDS][TABLE_COLS];
	int rows, cols;
	int right[TABLE_COLS];            /* right-align numbers */
};
void table_row(struct table *t, ...);  /* NULL-terminated cells (copied) */
void table_print(struct table *t, FILE *f, const char *indent);

/* "███████░░░" split bar, width cells; ASCII when not on a UTF-8 terminal. */
void view_bar(uint32_t weight_bp, int width, char *buf, size_t len);
/* 1234567 -> "1.2M" */
void view_human(double v, char *buf, size_t len);

#endif
