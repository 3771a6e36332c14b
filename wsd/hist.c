/* SPDX-License-Identifier: MIT */
/* wsd_hist: lock-free latency histograms (see hist.h). */
#include "config.h"
#include "hist.h"

const int64_t wsd_hist_bound_us[WSD_HIST_BUCKETS] = {
	1000, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 2500000, 10000000
};

void wsd_hist_observe(wsd_hist_t *h, int64_t us)
{
	if (us < 0)
		us = 0;
	for (int i = 0; i < WSD_HIST_BUCKETS; i++)
		if (us <= wsd_hist_bound_us[i])
			atomic_fetch_add_explicit(&h->le[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, (uint64_t)us, memory_order_relaxed);
}
