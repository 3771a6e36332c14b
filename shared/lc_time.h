/* SPDX-License-Identifier: MIT */
/* lc_time: the two clocks of livechat, typed by use (as Varnish's VTIM_mono / VTIM_real).
 * lc_mono_ms for timers, intervals, timeouts, backoffs and local deadlines: it never goes back
 * when the system clock is set. lc_real_ms for what is stored or sent (a message's ts, created_at,
 * a deadline that travels to another node): comparable between machines, but it may jump.
 * Header only, so every program and test gets it without a library change. Any thread. */
#ifndef LC_TIME_H
#define LC_TIME_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on the monotonic clock (an arbitrary origin: only differences mean anything). */
static inline int64_t lc_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Microseconds on the monotonic clock: for latencies reported as metrics. */
static inline int64_t lc_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Whole seconds on the coarse monotonic clock: read without a system call (vDSO), precise to a
 * few ms; for per-frame bookkeeping that only needs seconds (wsd idle sweep). */
static inline uint32_t lc_mono_coarse_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}

/* Milliseconds since the epoch (wall clock): only for timestamps stored or sent. */
static inline int64_t lc_real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The CLOCK_MONOTONIC instant ms from now (ms >= 0), for pthread_cond_timedwait on a condition
 * variable made by lc_cond_init_mono. */
static inline struct timespec lc_mono_after(int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* Initialise a condition variable whose timed waits run on the monotonic clock (the default,
 * CLOCK_REALTIME, waits too long or not at all when the system clock is set). */
static inline void lc_cond_init_mono(pthread_cond_t *cond)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &ca);
	pthread_condattr_destroy(&ca);
}

#endif
