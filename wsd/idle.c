/* SPDX-License-Identifier: MIT */
/* wsd_idle: pings silent connections and drops dead ones with O(1) work per frame (see idle.h).
 * libwebsockets 4.1's own validity timers keep one sorted list for all connections and re-insert
 * a connection on every frame and pong (O(n) each): at tens of thousands of connections that
 * alone used a core, so wsd turns them off (main.c) and does this instead. */
#include "config.h"
#include "idle.h"
#include "lc_log.h"

#include <time.h>

/* Every connection is looked at once per sweep of this many ticks (seconds) at most. */
#define SWEEP_TICKS_MAX 5u

void wsd_idle_heard(wsd_conn_t *c)
{
	WSD_ASSERT_LOOP(c->w);
	c->last_rx_s = lc_mono_coarse_s();
	c->ping = WSD_PING_NONE;
}

void wsd_idle_init(wsd_t *w, uint32_t ping_after_s, uint32_t idle_timeout_s)
{
	WSD_ASSERT_LOOP(w);
	LC_ASSERT(ping_after_s >= 1 && idle_timeout_s > ping_after_s);
	w->ping_after_s = ping_after_s;
	w->idle_timeout_s = idle_timeout_s;
	w->now_s = lc_mono_coarse_s();
	w->idle_pos = 0;
}

static void look_at(wsd_t *w, wsd_conn_t *c)
{
	uint32_t silent = w->now_s - c->last_rx_s;
	if (silent >= w->idle_timeout_s) {
		LC_DEBUG("connection %llx silent for %us: dropping", (unsigned long long)c->handle,
			 silent);
		/* Its client is gone or stuck: a close frame would wait behind unsent data for
		 * ever, so lws closes the socket on its next service. */
		c->state = WSD_CS_CLOSING;
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_WS_PONG_CHECK_GET_PONG, LWS_TO_KILL_ASYNC);
		return;
	}
	if (c->state == WSD_CS_CLOSING || silent < w->ping_after_s || c->ping != WSD_PING_NONE)
		return;
	c->ping = WSD_PING_PENDING;
	lws_callback_on_writable(c->wsi);
}

void wsd_idle_tick(wsd_t *w)
{
	WSD_ASSERT_LOOP(w);
	w->now_s = lc_mono_coarse_s();
	uint32_t n = w->nslots;
	if (n == 0)
		return;
	uint32_t ticks = w->ping_after_s / 6;
	if (ticks < 1)
		ticks = 1;
	if (ticks > SWEEP_TICKS_MAX)
		ticks = SWEEP_TICKS_MAX;
	uint32_t slice = (n + ticks - 1) / ticks;
	uint32_t i = w->idle_pos < n ? w->idle_pos : 0;
	for (uint32_t k = 0; k < slice; k++) {
		/* Closing a connection frees its slot (never shrinks nslots): safe while walking. */
		wsd_conn_t *c = w->slots[i];
		if (c != NULL)
			look_at(w, c);
		if (++i == n)
			i = 0;
	}
	w->idle_pos = i;
}
