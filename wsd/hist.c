/* SPDX-License-Identifier: MIT */
/* wsd_hist: lock-free latency histograms (see hist.h). */
#include "config.h"
#include "hist.h"

const int64_t wsd_hist_bound_us[WSD_HIST_BUCKETS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 2500000,
	10000000
};

void wsd_hist_observe(wsd_hist_t *h, int64_t us)
{
	if (us < 0)
		us = 0;
	int i = 0;
	while (i < WSD_HIST_BUCKETS && us > wsd_hist_bound_us[i])
		i++;
	atomic_fetch_add_explicit(&h->in[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, (uint64_t)us, memory_order_relaxed);
}

uint64_t wsd_hist_at_most(const wsd_hist_t *h, int64_t bound_us)
{
	uint64_t n = 0;
	for (int i = 0; i < WSD_HIST_BUCKETS && wsd_hist_bound_us[i] <= bound_us; i++)
		n += atomic_load_explicit(&h->in[i], memory_order_relaxed);
	return n;
}

uint64_t wsd_hist_total(const wsd_hist_t *h)
{
	return wsd_hist_at_most(h, wsd_hist_bound_us[WSD_HIST_BUCKETS - 1]) +
	       atomic_load_explicit(&h->in[WSD_HIST_BUCKETS], memory_order_relaxed);
}
