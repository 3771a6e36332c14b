/* SPDX-License-Identifier: MIT */
/* CUnit tests of wsd/addrcap.c, the counts per client address behind ws_max_conns_per_address
 * and ws_max_jobs_per_address (docs/security.md). */
#include "config.h"
#include "addrcap.h"
#include "wsd_unit_tests.h"

#include <CUnit/Basic.h>

static void test_an_address_gets_max_then_is_refused_and_others_are_not(void)
{
	wsd_addrcap_t *cap = wsd_addrcap_new("");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cap);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_TRUE(wsd_addrcap_take(cap, "192.0.2.1", WSD_CAP_CONNS, 3));
	CU_ASSERT_FALSE(wsd_addrcap_take(cap, "192.0.2.1", WSD_CAP_CONNS, 3));
	CU_ASSERT_EQUAL(wsd_addrcap_count(cap, "192.0.2.1", WSD_CAP_CONNS), 3);
	CU_ASSERT_TRUE(wsd_addrcap_take(cap, "192.0.2.2", WSD_CAP_CONNS, 3));
	/* The kinds are counted apart. */
	CU_ASSERT_TRUE(wsd_addrcap_take(cap, "192.0.2.1", WSD_CAP_JOBS, 1));
	CU_ASSERT_FALSE(wsd_addrcap_take(cap, "192.0.2.1", WSD_CAP_JOBS, 1));
	wsd_addrcap_free(&cap);
	CU_ASSERT_PTR_NULL(cap);
}

static void test_what_is_given_back_frees_a_place_and_the_entry(void)
{
	wsd_addrcap_t *cap = wsd_addrcap_new("10.0.0.0/8");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cap);
	CU_ASSERT_TRUE(wsd_addrcap_take(cap, "2001:db8::1", WSD_CAP_JOBS, 1));
	CU_ASSERT_TRUE(wsd_addrcap_take(cap, "2001:db8::1", WSD_CAP_CONNS, 0));
	wsd_addrcap_give(cap, "2001:db8::1", WSD_CAP_JOBS);
	CU_ASSERT_EQUAL(wsd_addrcap_count(cap, "2001:db8::1", WSD_CAP_JOBS), 0);
	CU_ASSERT_EQUAL(wsd_addrcap_count(cap, "2001:db8::1", WSD_CAP_CONNS), 1);
	wsd_addrcap_give(cap, "2001:db8::1", WSD_CAP_CONNS);
	CU_ASSERT_EQUAL(wsd_addrcap_count(cap, "2001:db8::1", WSD_CAP_CONNS), 0);
	CU_ASSERT_TRUE(wsd_addrcap_take(cap, "2001:db8::1", WSD_CAP_JOBS, 1));
	wsd_addrcap_free(&cap);
	wsd_addrcap_free(&cap);   /* NULL is accepted */
}

static void test_a_zero_max_is_no_limit_and_a_bad_proxy_list_is_refused(void)
{
	wsd_addrcap_t *cap = wsd_addrcap_new(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cap);
	for (int i = 0; i < 1000; i++)
		CU_ASSERT_TRUE(wsd_addrcap_take(cap, "198.51.100.7", WSD_CAP_CONNS, 0));
	CU_ASSERT_EQUAL(wsd_addrcap_count(cap, "198.51.100.7", WSD_CAP_CONNS), 1000);
	wsd_addrcap_free(&cap);
	CU_ASSERT_PTR_NULL(wsd_addrcap_new("10.0.0.0/33"));
}

int init_wsd_addrcap_tests(void)
{
	CU_pSuite s = CU_add_suite("wsd_addrcap", NULL, NULL);
	if (s == NULL)
		return -1;
	if (!CU_add_test(s, "an address gets max, then is refused, and others are not",
			 test_an_address_gets_max_then_is_refused_and_others_are_not) ||
	    !CU_add_test(s, "what is given back frees a place and the entry",
			 test_what_is_given_back_frees_a_place_and_the_entry) ||
	    !CU_add_test(s, "a zero max is no limit and a bad proxy list is refused",
			 test_a_zero_max_is_no_limit_and_a_bad_proxy_list_is_refused))
		return -1;
	return 0;
}
