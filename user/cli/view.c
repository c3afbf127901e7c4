// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "view.h"
#include "hist.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void view_free(struct svc_view *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].ovr);
	free(v);
}

int view_load(const struct cb_state *st, const char *name, struct svc_view *v)
{
	int e;

	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	if ((e = cb_name_get(&st->maps, name, &v->key)) || (e = cb_svc_get(&st->maps, &v->key, &v->svc)))
		return e;
	v->vip.addr = v->key.vip;
	v->vip.family = v->key.family;
	v->vip.port = ntohs(v->key.port);
	for (unsigned int t = 0; t < CB_TRACKS; t++) {
		v->nbe[t] = CB_MAX_TRACK_BACKENDS;
		if ((e = cb_track_get(&st->maps, &v->key, t, v->be[t], &v->nbe[t])) ||
		    (e = cb_stats_read(&st->maps, v->svc.id, t, &v->st[t])))
			return e;
		for (unsigned int k = 0; k < CB_HISTS; k++)
			if ((e = cb_hist_read(&st->maps, v->svc.id, t, k, &v->hist[t][k])))
				return e;
	}
	return cb_overrides_list(&st->maps, v->svc.id, v->key.family, &v->ovr, &v->novr);
}

int view_load_all(const struct cb_state *st, const char *only, struct svc_view **views, size_t *n)
{
	char (*names)[CB_NAME_LEN] = NULL;
	size_t count = 0;
	int e;

	*views = NULL;
	*n = 0;
	if (only) {
		*views = calloc(1, sizeof(**views));
		if (!*views)
			return cli_fail(CB_EXIT_RUNTIME, "memory", "%s", strerror(ENOMEM));
		e = view_load(st, only, *views);
		if (e == -ENOENT)
			return cli_fail(CB_EXIT_USAGE, "service", "no service named '%s'", only);
		if (e)
			return cli_fail(CB_EXIT_RUNTIME, "service", "%s: %s", only, strerror(-e));
		*n = 1;
		return 0;
	}
	if ((e = cb_names_list(&st->maps, &names, &count)))
		return cli_fail(CB_EXIT_RUNTIME, "services", "%s", strerror(-e));
	*views = calloc(count ? count : 1, sizeof(**views));
	if (!*views) {
		free(names);
		return cli_fail(CB_EXIT_RUNTIME, "memory", "%s", strerror(ENOMEM));
	}
	for (size_t i = 0; i < count; i++) {
		e = view_load(st, names[i], &(*views)[*n]);
		if (e == -ENOENT)
			continue;   /* deleted while we read */
		if (e) {
			e = cli_fail(CB_EXIT_RUNTIME, "service", "%s: %s", names[i], strerror(-e));
			free(names);
			return e;
		}
		(*n)++;
	}
	free(names);
	return 0;
}

void view_service_addr(const struct svc_view *v, char *buf, size_t len)
{
	char ep[64];

	cb_fmt_endpoint(&v->vip, ep, sizeof(ep));
	snprintf(buf, len, "%s/%s", ep, cb_proto_name(v->key.proto));
}

static struct json_object *json_backends(const struct svc_view *v, unsigned int t)
{
	struct json_object *a = json_object_new_array();
	char ep[64];

	for (size_t i = 0; i < v->nbe[t]; i++) {
		cb_fmt_endpoint(&v->be[t][i], ep, sizeof(ep));
		json_object_array_add(a, json_object_new_string(ep));
	}
	return a;
}

static struct json_object *json_head(const struct svc_view *v)
{
	struct json_object *o = json_object_new_object();
	char vip[64];

	cb_fmt_addr(&v->vip.addr, v->vip.family, vip, sizeof(vip));
	json_object_object_add(o, "name", json_object_new_string(v->name));
	json_object_object_add(o, "vip", json_object_new_string(vip));
	json_object_object_add(o, "port", json_object_new_int(v->vip.port));
	json_object_object_add(o, "proto", json_object_new_string(cb_proto_name(v->key.proto)));
	json_object_object_add(o, "affinity",
			       json_object_new_string(cb_affinity_name(v->svc.affinity)));
	json_object_object_add(o, "weight_percent", cli_json_percent(v->svc.weight_bp));
	return o;
}

struct json_object *view_json_service(const struct svc_view *v)
{
	struct json_object *o = json_head(v), *be = json_object_new_object();
	struct json_object *ovr = json_object_new_array();
	char net[64], cidr[80];

	for (unsigned int t = 0; t < CB_TRACKS; t++)
		json_object_object_add(be, cb_track_name(t), json_backends(v, t));
	json_object_object_add(o, "backends", be);
	for (size_t i = 0; i < v->novr; i++) {
		struct json_object *e = json_object_new_object();

		cb_fmt_addr(&v->ovr[i].net.addr, v->ovr[i].net.family, net, sizeof(net));
		snprintf(cidr, sizeof(cidr), "%s/%u", net, v->ovr[i].len);
		json_object_object_add(e, "cidr", json_object_new_string(cidr));
		json_object_object_add(e, "track", json_object_new_string(cb_track_name(v->ovr[i].track)));
		json_object_array_add(ovr, e);
	}
	json_object_object_add(o, "overrides", ovr);
	return o;
}

struct json_object *view_json_stats(const struct svc_view *v)
{
	struct json_object *o = json_head(v), *tracks = json_object_new_object();

	for (unsigned int t = 0; t < CB_TRACKS; t++) {
		struct json_object *tr = json_object_new_object();
		const struct cb_track_stats *s = &v->st[t];

		json_object_object_add(tr, "packets", json_object_new_uint64(s->packets));
		json_object_object_add(tr, "bytes", json_object_new_uint64(s->bytes));
		json_object_object_add(tr, "connections", json_object_new_uint64(s->connections));
		json_object_object_add(tr, "resets_from_backend",
				       json_object_new_uint64(s->resets_from_backend));
		json_object_object_add(tr, "resets_from_client",
				       json_object_new_uint64(s->resets_from_client));
		json_object_object_add(tr, "drops", json_object_new_uint64(s->drops));
		for (int c = 0; c < 4; c++) {
			char key[16];

			snprintf(key, sizeof(key), "http_%dxx", c + 2);
			json_object_object_add(tr, key, json_object_new_uint64(s->http[c]));
		}
		json_object_object_add(tr, "connect_failures", json_object_new_uint64(s->connect_failures));
		static const struct { const char *name; unsigned int kind; double q; } pct[] = {
			{ "connect_p50_us", CB_HIST_CONNECT, 0.50 }, { "connect_p95_us", CB_HIST_CONNECT, 0.95 },
			{ "connect_p99_us", CB_HIST_CONNECT, 0.99 }, { "ttfb_p50_us", CB_HIST_TTFB, 0.50 },
			{ "ttfb_p95_us", CB_HIST_TTFB, 0.95 }, { "ttfb_p99_us", CB_HIST_TTFB, 0.99 },
		};
		/* A percentile of 0 with no sample is no sample: say how many there were. */
		json_object_object_add(tr, "connect_samples",
				       json_object_new_uint64(v->hist[t][CB_HIST_CONNECT].count));
		json_object_object_add(tr, "ttfb_samples",
				       json_object_new_uint64(v->hist[t][CB_HIST_TTFB].count));
		for (size_t i = 0; i < sizeof(pct) / sizeof(pct[0]); i++)
			json_object_object_add(tr, pct[i].name, json_object_new_uint64(
				cb_hist_percentile(&v->hist[t][pct[i].kind], pct[i].q)));
		json_object_object_add(tr, "backends", json_backends(v, t));
		json_object_object_add(tracks, cb_track_name(t), tr);
	}
	json_object_object_add(o, "tracks", tracks);
	return o;
}

double view_error_ratio(const struct cb_track_stats *s)
{
	uint64_t all = s->http[0] + s->http[1] + s->http[2] + s->http[3];

	return all ? (double)s->http[3] / (double)all : 0;
}

void table_row(struct table *t, ...)
{
	va_list ap;
	const char *c;
	int col = 0;

	if (t->rows == (int)(sizeof(t->cell) / sizeof(t->cell[0])))
		return;
	va_start(ap, t);
	while ((c = va_arg(ap, const char *)) && col < TABLE_COLS)
		t->cell[t->rows][col++] = strdup(c);
	va_end(ap);
	if (col > t->cols)
		t->cols = col;
	t->rows++;
}

void table_print(struct table *t, FILE *f, const char *indent)
{
	int w[TABLE_COLS] = { 0 };

	for (int r = 0; r < t->rows; r++)
		for (int c = 0; c < t->cols; c++)
			if (t->cell[r][c] && (int)strlen(t->cell[r][c]) > w[c])
				w[c] = (int)strlen(t->cell[r][c]);
	for (int r = 0; r < t->rows; r++) {
		fputs(indent, f);
		for (int c = 0; c < t->cols; c++) {
			const char *s = t->cell[r][c] ? t->cell[r][c] : "";
			int last = c == t->cols - 1;

			if (t->right[c])
				fprintf(f, "%*s", w[c], s);
			else if (last)
				fputs(s, f);
			else
				fprintf(f, "%-*s", w[c], s);
			if (!last)
				fputs("  ", f);
			free(t->cell[r][c]);
			t->cell[r][c] = NULL;
		}
		fputc('\n', f);
	}
	t->rows = 0;
}

void view_bar(uint32_t weight_bp, int width, char *buf, size_t len)
{
	int utf8, canary = (int)((weight_bp * (uint32_t)width + CB_WEIGHT_MAX / 2) / CB_WEIGHT_MAX);
	size_t o = 0;

	setlocale(LC_CTYPE, "");
	utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	if (weight_bp > 0 && canary == 0)
		canary = 1;   /* a canary that gets traffic is visible */
	if (weight_bp < CB_WEIGHT_MAX && canary == width)
		canary = width - 1;
	for (int i = 0; i < width && o + 4 < len; i++) {
		const char *s = i < width - canary ? (utf8 ? "\u2588" : "#") : (utf8 ? "\u2591" : ".");

		memcpy(buf + o, s, strlen(s));
		o += strlen(s);
	}
	buf[o] = 0;
}

void view_human(double v, char *buf, size_t len)
{
	static const char *const unit[] = { "", "k", "M", "G", "T" };
	int u = 0;

	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, v < 10 ? "%.1f%s" : "%.0f%s", v, unit[u]);
}

const struct svc_view *view_find(const struct svc_view *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

int view_read(const struct cli *c, const char *only, struct svc_view **v, size_t *n)
{
	struct cb_state st;
	struct cb_err err;
	int e = cb_state_open(c->pin, 0, &st, &err);

	*v = NULL;
	*n = 0;
	if (e == -ENOENT && !only) {
		cb_state_close(&st);
		return 0;
	}
	if (e) {
		cb_state_close(&st);
		if (e == -ENOENT)
			return cli_fail(CB_EXIT_USAGE, "service", "no service named '%s'", only);
		return cli_fail(CB_EXIT_RUNTIME, "state", "%s", err.msg);
	}
	e = view_load_all(&st, only, v, n);
	cb_state_close(&st);
	return e;
}
