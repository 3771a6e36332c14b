/* SPDX-License-Identifier: MIT */
/* wsd_hist: a latency histogram any thread adds to without a lock (relaxed atomics), read by
 * the metrics page (metrics.c). Buckets 1 ms .. 10 s; the count is the +Inf bucket. */
#ifndef WSD_HIST_H
#define WSD_HIST_H

#include <stdatomic.h>
#include <stdint.h>

#define WSD_HIST_BUCKETS 10

/* Embedded in its owner's struct, zeroed (lc_calloc) before use. */
typedef struct wsd_hist {
	atomic_uint_fast64_t le[WSD_HIST_BUCKETS];   /* observations <= wsd_hist_bound_us[i] */
	atomic_uint_fast64_t count, sum_us;
} wsd_hist_t;

/* Upper bounds of the buckets in microseconds. */
extern const int64_t wsd_hist_bound_us[WSD_HIST_BUCKETS];

/* Any thread: one observation of us microseconds (negative counts as 0). */
void wsd_hist_observe(wsd_hist_t *h, int64_t us);

#endif
