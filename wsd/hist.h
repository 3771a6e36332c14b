/* SPDX-License-Identifier: MIT */
/* wsd_hist: a latency histogram any thread adds to without a lock (relaxed atomics), read by
 * the metrics page (metrics.c). Buckets 0.1 ms .. 10 s; the count is the +Inf bucket. */
#ifndef WSD_HIST_H
#define WSD_HIST_H

#include <stdatomic.h>
#include <stdint.h>

#define WSD_HIST_BUCKETS 14

/* Embedded in its owner's struct, zeroed (lc_calloc) before use. An observation counts in one
 * bucket (two atomic adds in all): the reader sums them up to each bound. */
typedef struct wsd_hist {
	/* in[i]: observations in (wsd_hist_bound_us[i - 1], wsd_hist_bound_us[i]]; the last: above
	 * every bound */
	atomic_uint_fast64_t in[WSD_HIST_BUCKETS + 1];
	atomic_uint_fast64_t sum_us;
} wsd_hist_t;

/* Upper bounds of the buckets in microseconds. */
extern const int64_t wsd_hist_bound_us[WSD_HIST_BUCKETS];

/* Any thread: one observation of us microseconds (negative counts as 0). */
void wsd_hist_observe(wsd_hist_t *h, int64_t us);
/* Any thread: the observations of at most bound_us (a bound of wsd_hist_bound_us), and all of
 * them. Each reads the buckets afresh: read later, a count is never smaller. */
uint64_t wsd_hist_at_most(const wsd_hist_t *h, int64_t bound_us);
uint64_t wsd_hist_total(const wsd_hist_t *h);

#endif
