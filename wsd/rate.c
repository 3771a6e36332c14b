/* SPDX-License-Identifier: MIT */
/* wsd_rate: the token bucket behind the frame-rate limits (rate.h). */
#include "config.h"
#include "rate.h"

void wsd_rate_init(wsd_rate_t *b, double burst, int64_t now_ms)
{
	b->tokens = burst;
	b->at_ms = now_ms;
}

bool wsd_rate_take(wsd_rate_t *b, double per_s, double burst, int64_t now_ms)
{
	if (now_ms > b->at_ms) {
		b->tokens += (double)(now_ms - b->at_ms) * per_s / 1000.0;
		if (b->tokens > burst)
			b->tokens = burst;
		b->at_ms = now_ms;
	}
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}
