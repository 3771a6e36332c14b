/* SPDX-License-Identifier: MIT */
/* CUnit tests of wsd/hist.c, the latency histograms of the metrics page: an observation counts
 * in the first bucket whose bound holds it (bounds inclusive, 0.1 ms .. 10 s, then above),
 * counts up to a bound are cumulative, and the total counts everything. */
#include "config.h"
#include "hist.h"
#include "wsd_unit_tests.h"

#include <CUnit/Basic.h>
#include <string.h>

static void test_an_observation_counts_up_to_each_bound_that_holds_it(void)
{
	wsd_hist_t h;
	memset(&h, 0, sizeof h);
	wsd_hist_observe(&h, -5);               /* a clock step back: 0 */
	wsd_hist_observe(&h, 100);              /* on the first bound: in it */
	wsd_hist_observe(&h, 101);
	wsd_hist_observe(&h, 30000);
	wsd_hist_observe(&h, 20000000);         /* above the last bound */
	CU_ASSERT_EQUAL(wsd_hist_at_most(&h, 100), 2);
	CU_ASSERT_EQUAL(wsd_hist_at_most(&h, 250), 3);
	CU_ASSERT_EQUAL(wsd_hist_at_most(&h, 25000), 3);
	CU_ASSERT_EQUAL(wsd_hist_at_most(&h, 50000), 4);
	CU_ASSERT_EQUAL(wsd_hist_at_most(&h, 10000000), 4);
	CU_ASSERT_EQUAL(wsd_hist_total(&h), 5);
	CU_ASSERT_EQUAL(atomic_load(&h.sum_us), 100 + 101 + 30000 + 20000000);
}

static void test_the_bounds_rise(void)
{
	CU_ASSERT_EQUAL(wsd_hist_bound_us[0], 100);
	CU_ASSERT_EQUAL(wsd_hist_bound_us[WSD_HIST_BUCKETS - 1], 10000000);
	for (int i = 1; i < WSD_HIST_BUCKETS; i++)
		CU_ASSERT_TRUE(wsd_hist_bound_us[i] > wsd_hist_bound_us[i - 1]);
}

int init_wsd_hist_tests(void)
{
	CU_pSuite s = CU_add_suite("wsd_hist", NULL, NULL);
	if (s == NULL)
		return -1;
	CU_ADD_TEST(s, test_an_observation_counts_up_to_each_bound_that_holds_it);
	CU_ADD_TEST(s, test_the_bounds_rise);
	return CU_get_error() == CUE_SUCCESS ? 0 : -1;
}
