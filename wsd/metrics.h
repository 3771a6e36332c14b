/* SPDX-License-Identifier: MIT */
/* wsd_metrics: the node's counters as Prometheus text (format 0.0.4): connections, followed
 * keys, frames, store operations and batches, bus latencies, queue depths, room commands. Every
 * figure is read from counters the modules keep anyway (atomics or loop-only fields): a scrape
 * takes no lock on any hot path. */
#ifndef WSD_METRICS_H
#define WSD_METRICS_H

#include "wsd.h"

/* Loop: the exposition text of node w (malloc'd, the caller frees it; *len its length). */
char *wsd_metrics_render(wsd_t *w, size_t *len);

#endif
