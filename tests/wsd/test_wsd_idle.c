/* SPDX-License-Identifier: MIT */
/* CUnit tests of wsd/idle.c, the sweep that pings silent connections and drops dead ones: each
 * tick looks at one slice of the connection registry, so every connection is looked at once per
 * sweep of ping_after / 6 ticks (1..5). The clock is passed in (wsd_idle_sweep). The two
 * libwebsockets calls the sweep makes are recorded below instead of going to a socket (these
 * definitions take the place of libwebsockets' own in this runner). */
#include "config.h"
#include "idle.h"
#include "wsd_unit_tests.h"

#include <CUnit/Basic.h>
#include <pthread.h>
#include <string.h>

#define NCONN 10
#define NOW 100000u

static int writable[NCONN], killed[NCONN];
static wsd_conn_t conns[NCONN];

static int index_of(struct lws *wsi)
{
	for (int i = 0; i < NCONN; i++)
		if (conns[i].wsi == wsi)
			return i;
	CU_FAIL("unknown wsi");
	return 0;
}

int lws_callback_on_writable(struct lws *wsi)
{
	writable[index_of(wsi)]++;
	return 1;
}

void lws_set_timeout(struct lws *wsi, enum pending_timeout reason, int secs)
{
	CU_ASSERT_EQUAL(secs, LWS_TO_KILL_ASYNC);
	killed[index_of(wsi)]++;
}

/* A registry of NCONN connections (none in the slots listed by holes), all silent since
 * NOW - silent_s. */
static void setup(wsd_t *w, wsd_conn_t **slots, uint32_t ping_after_s, uint32_t silent_s)
{
	memset(w, 0, sizeof *w);
	memset(writable, 0, sizeof writable);
	memset(killed, 0, sizeof killed);
	for (int i = 0; i < NCONN; i++) {
		memset(&conns[i], 0, sizeof conns[i]);
		conns[i].magic = WSD_CONN_MAGIC;
		conns[i].state = WSD_CS_READY;
		conns[i].wsi = (struct lws *)&writable[i];   /* any distinct address */
		conns[i].w = w;
		conns[i].last_rx_s = NOW - silent_s;
		slots[i] = &conns[i];
	}
	w->magic = WSD_MAGIC;
	w->loop_tid = pthread_self();   /* this test's thread is the loop */
	w->slots = slots;
	w->nslots = NCONN;
	wsd_idle_init(w, ping_after_s, ping_after_s * 2);
}

static int count(const int *a, int want)
{
	int n = 0;
	for (int i = 0; i < NCONN; i++)
		n += a[i] == want;
	return n;
}

static void test_one_sweep_of_five_ticks_pings_each_silent_connection_once(void)
{
	wsd_t w;
	wsd_conn_t *slots[NCONN];
	setup(&w, slots, 30, 30);
	/* ping_after 30 s: a sweep of 5 ticks, 2 connections a tick. */
	for (uint32_t t = 0; t < 5; t++) {
		wsd_idle_sweep(&w, NOW + t);
		CU_ASSERT_EQUAL(count(writable, 1), (int)(t + 1) * 2);
	}
	CU_ASSERT_EQUAL(count(writable, 1), NCONN);
	CU_ASSERT_EQUAL(count(killed, 0), NCONN);
	for (int i = 0; i < NCONN; i++)
		CU_ASSERT_EQUAL(conns[i].ping, WSD_PING_PENDING);
	/* The next sweep finds the pings under way: no second one. */
	for (uint32_t t = 5; t < 10; t++)
		wsd_idle_sweep(&w, NOW + t);
	CU_ASSERT_EQUAL(count(writable, 1), NCONN);
}

static void test_a_short_ping_after_looks_at_everyone_every_tick(void)
{
	wsd_t w;
	wsd_conn_t *slots[NCONN];
	setup(&w, slots, 5, 5);
	wsd_idle_sweep(&w, NOW);
	CU_ASSERT_EQUAL(count(writable, 1), NCONN);
}

static void test_a_long_ping_after_still_sweeps_in_five_ticks(void)
{
	wsd_t w;
	wsd_conn_t *slots[NCONN];
	setup(&w, slots, 600, 600);
	for (uint32_t t = 0; t < 4; t++)
		wsd_idle_sweep(&w, NOW + t);
	CU_ASSERT_EQUAL(count(writable, 1), 8);
	wsd_idle_sweep(&w, NOW + 4);
	CU_ASSERT_EQUAL(count(writable, 1), NCONN);
}

static void test_connections_heard_lately_are_left_alone(void)
{
	wsd_t w;
	wsd_conn_t *slots[NCONN];
	setup(&w, slots, 5, 4);
	wsd_idle_sweep(&w, NOW);
	CU_ASSERT_EQUAL(count(writable, 0), NCONN);
	CU_ASSERT_EQUAL(count(killed, 0), NCONN);
}

static void test_a_connection_silent_for_idle_timeout_is_dropped_not_pinged(void)
{
	wsd_t w;
	wsd_conn_t *slots[NCONN];
	setup(&w, slots, 5, 4);
	conns[3].last_rx_s = NOW - 10;          /* idle_timeout is 10 s here */
	conns[3].ping = WSD_PING_SENT;
	conns[4].state = WSD_CS_CLOSING;        /* closing: not pinged, but still dropped when dead */
	conns[4].last_rx_s = NOW - 6;
	wsd_idle_sweep(&w, NOW);
	CU_ASSERT_EQUAL(killed[3], 1);
	CU_ASSERT_EQUAL(conns[3].state, WSD_CS_CLOSING);
	CU_ASSERT_EQUAL(writable[3], 0);
	CU_ASSERT_EQUAL(writable[4], 0);
	CU_ASSERT_EQUAL(killed[4], 0);
	CU_ASSERT_EQUAL(count(killed, 0), NCONN - 1);
}

static void test_free_slots_are_skipped_and_the_walk_wraps_around(void)
{
	wsd_t w;
	wsd_conn_t *slots[NCONN];
	setup(&w, slots, 12, 12);               /* 2 ticks a sweep, 5 slots a tick */
	slots[0] = slots[6] = NULL;
	wsd_idle_sweep(&w, NOW);
	CU_ASSERT_EQUAL(count(writable, 1), 4);
	CU_ASSERT_EQUAL(w.idle_pos, 5);
	wsd_idle_sweep(&w, NOW + 1);
	CU_ASSERT_EQUAL(count(writable, 1), NCONN - 2);
	CU_ASSERT_EQUAL(w.idle_pos, 0);
	/* A registry that shrank under the position starts again at slot 0. */
	w.idle_pos = 7;
	w.nslots = 4;
	conns[1].ping = conns[2].ping = WSD_PING_NONE;
	wsd_idle_sweep(&w, NOW + 2);     /* 2 slots a tick now: 0 (free) and 1 */
	CU_ASSERT_EQUAL(writable[1], 2);
	CU_ASSERT_EQUAL(writable[2], 1);
	CU_ASSERT_EQUAL(w.idle_pos, 2);
}

int init_wsd_idle_tests(void)
{
	CU_pSuite s = CU_add_suite("wsd_idle", NULL, NULL);
	if (s == NULL)
		return -1;
	if (!CU_add_test(s, "one sweep of five ticks pings each silent connection once",
			 test_one_sweep_of_five_ticks_pings_each_silent_connection_once) ||
	    !CU_add_test(s, "a short ping_after looks at everyone every tick",
			 test_a_short_ping_after_looks_at_everyone_every_tick) ||
	    !CU_add_test(s, "a long ping_after still sweeps in five ticks",
			 test_a_long_ping_after_still_sweeps_in_five_ticks) ||
	    !CU_add_test(s, "connections heard lately are left alone",
			 test_connections_heard_lately_are_left_alone) ||
	    !CU_add_test(s, "a connection silent for idle_timeout is dropped, not pinged",
			 test_a_connection_silent_for_idle_timeout_is_dropped_not_pinged) ||
	    !CU_add_test(s, "free slots are skipped and the walk wraps around",
			 test_free_slots_are_skipped_and_the_walk_wraps_around))
		return -1;
	return 0;
}
