/* SPDX-License-Identifier: MIT */
/* wsd_rate: a token bucket (per_s tokens a second, at most burst saved up), the frame-rate
 * limit of one connection. Pure: the caller passes the clock, so the tests can too. */
#ifndef WSD_RATE_H
#define WSD_RATE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct wsd_rate {
	double tokens;
	int64_t at_ms;          /* when tokens was last brought up to date */
} wsd_rate_t;

/* A full bucket (burst tokens) at now_ms. */
void wsd_rate_init(wsd_rate_t *b, double burst, int64_t now_ms);

/* Refill for the time since the last call (a clock going backwards refills nothing), then take
 * one token: false when none is left (the frame is refused, nothing is taken). */
bool wsd_rate_take(wsd_rate_t *b, double per_s, double burst, int64_t now_ms);

#endif
