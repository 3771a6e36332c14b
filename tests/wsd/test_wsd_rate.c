/* SPDX-License-Identifier: MIT */
/* CUnit tests of wsd/rate.c, the token bucket that limits a widget's frames and an agent's
 * typing frames (docs/websocket.md: 10 a second, bursts of 20). The clock is passed in. */
#include "config.h"
#include "rate.h"
#include "room.h"
#include "wsd_unit_tests.h"

#include <CUnit/Basic.h>

#define T0 1700000000000LL

static int take_all(wsd_rate_t *b, int64_t now)
{
	int n = 0;
	while (n < 1000 && wsd_rate_take(b, WSD_RATE_PER_S, WSD_RATE_BURST, now))
		n++;
	return n;
}

static void test_a_new_bucket_allows_the_burst_then_refuses(void)
{
	wsd_rate_t b;
	wsd_rate_init(&b, WSD_RATE_BURST, T0);
	CU_ASSERT_EQUAL(take_all(&b, T0), WSD_RATE_BURST);
	CU_ASSERT_FALSE(wsd_rate_take(&b, WSD_RATE_PER_S, WSD_RATE_BURST, T0));
}

static void test_tokens_come_back_at_the_rate(void)
{
	wsd_rate_t b;
	wsd_rate_init(&b, WSD_RATE_BURST, T0);
	take_all(&b, T0);
	/* 10 a second: one token every 100 ms, none before. */
	CU_ASSERT_FALSE(wsd_rate_take(&b, WSD_RATE_PER_S, WSD_RATE_BURST, T0 + 99));
	CU_ASSERT_TRUE(wsd_rate_take(&b, WSD_RATE_PER_S, WSD_RATE_BURST, T0 + 100));
	CU_ASSERT_FALSE(wsd_rate_take(&b, WSD_RATE_PER_S, WSD_RATE_BURST, T0 + 100));
	CU_ASSERT_EQUAL(take_all(&b, T0 + 1100), WSD_RATE_PER_S);
}

static void test_a_quiet_hour_saves_up_no_more_than_the_burst(void)
{
	wsd_rate_t b;
	wsd_rate_init(&b, WSD_RATE_BURST, T0);
	take_all(&b, T0);
	CU_ASSERT_EQUAL(take_all(&b, T0 + 3600 * 1000), WSD_RATE_BURST);
}

static void test_a_refused_frame_costs_nothing(void)
{
	wsd_rate_t b;
	wsd_rate_init(&b, WSD_RATE_BURST, T0);
	take_all(&b, T0);
	/* Half a token: refused, and the half is kept for the next try. */
	CU_ASSERT_FALSE(wsd_rate_take(&b, WSD_RATE_PER_S, WSD_RATE_BURST, T0 + 50));
	CU_ASSERT_FALSE(wsd_rate_take(&b, WSD_RATE_PER_S, WSD_RATE_BURST, T0 + 60));
	CU_ASSERT_TRUE(wsd_rate_take(&b, WSD_RATE_PER_S, WSD_RATE_BURST, T0 + 100));
}

static void test_a_clock_going_back_refills_nothing(void)
{
	wsd_rate_t b;
	wsd_rate_init(&b, WSD_RATE_BURST, T0 + 1000);
	take_all(&b, T0 + 1000);
	CU_ASSERT_FALSE(wsd_rate_take(&b, WSD_RATE_PER_S, WSD_RATE_BURST, T0));
	/* Counted from the last time seen, not from the earlier one. */
	CU_ASSERT_FALSE(wsd_rate_take(&b, WSD_RATE_PER_S, WSD_RATE_BURST, T0 + 1050));
	CU_ASSERT_TRUE(wsd_rate_take(&b, WSD_RATE_PER_S, WSD_RATE_BURST, T0 + 1100));
}

int init_wsd_rate_tests(void)
{
	CU_pSuite s = CU_add_suite("wsd_rate", NULL, NULL);
	if (s == NULL)
		return -1;
	if (!CU_add_test(s, "a new bucket allows the burst then refuses",
			 test_a_new_bucket_allows_the_burst_then_refuses) ||
	    !CU_add_test(s, "tokens come back at the rate", test_tokens_come_back_at_the_rate) ||
	    !CU_add_test(s, "a quiet hour saves up no more than the burst",
			 test_a_quiet_hour_saves_up_no_more_than_the_burst) ||
	    !CU_add_test(s, "a refused frame costs nothing", test_a_refused_frame_costs_nothing) ||
	    !CU_add_test(s, "a clock going back refills nothing", test_a_clock_going_back_refills_nothing))
		return -1;
	return 0;
}
