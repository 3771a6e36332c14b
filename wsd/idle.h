/* SPDX-License-Identifier: MIT */
/* wsd_idle: finds connections whose client went silent, pings them, and drops those that stay
 * silent, without a timer per connection: each connection keeps the second it last heard from its
 * client, and the 1 s tick walks a slice of the connection registry round-robin. */
#ifndef WSD_IDLE_H
#define WSD_IDLE_H

#include "wsd.h"
#include "conn.h"

/* Loop: set the limits (seconds; ping_after_s < idle_timeout_s) and the clock. */
void wsd_idle_init(wsd_t *w, uint32_t ping_after_s, uint32_t idle_timeout_s);

/* Loop, once a second: advance the clock and look at the next slice of the connections, so
 * that every connection is looked at every few seconds (at most ping_after_s / 6, 1..5 s). A
 * connection silent for ping_after_s gets one websocket ping; one silent for idle_timeout_s is
 * dropped at once (no close handshake: its client is gone), which runs the usual close path
 * (an agent's grace period starts). */
void wsd_idle_tick(wsd_t *w);
/* The same at monotonic second now_s (the tick passes the clock; the unit tests pass theirs). */
void wsd_idle_sweep(wsd_t *w, uint32_t now_s);

/* Loop: the client of c sent something (a frame, a pong): it is alive. O(1), no timer. */
void wsd_idle_heard(wsd_conn_t *c);

#endif
