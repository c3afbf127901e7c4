/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* One service as stats and top print it: stable and canary side by side. */
#ifndef CB_PANEL_H
#define CB_PANEL_H

#include <stdio.h>
#include "view.h"

/*
 * With prev, counters get rates over dt seconds; with window too, the
 * signals (HTTP classes, failed connects, latency) cover only the time since
 * prev, as top shows them. Otherwise they are totals since the service was
 * created. color: traffic lights for the canary against stable.
 */
void panel_render(const struct svc_view *v, const struct svc_view *prev, double dt, int window,
		  int color, FILE *f);

#endif
