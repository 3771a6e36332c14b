/* SPDX-License-Identifier: MIT */
/* Tests of lc_time: the monotonic clock never goes back, the wall clock is the epoch's, and a
 * timed wait on a lc_cond_init_mono condition variable ends at (not before) its monotonic
 * deadline. */
#include "config.h"
#include "unit_tests.h"
#include "lc_time.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <CUnit/CUnit.h>

static void test_mono_never_goes_back(void)
{
	int64_t prev = lc_mono_ms();
	uint32_t prev_s = lc_mono_coarse_s();
	bool back = false;
	for (int i = 0; i < 200000; i++) {
		int64_t now = lc_mono_ms();
		uint32_t now_s = lc_mono_coarse_s();
		if (now < prev || now_s < prev_s)
			back = true;
		prev = now;
		prev_s = now_s;
	}
	CU_ASSERT_FALSE(back);
	/* It advances: a 20 ms sleep shows on it. */
	int64_t t0 = lc_mono_ms();
	struct timespec ts = { 0, 20 * 1000000L };
	nanosleep(&ts, NULL);
	CU_ASSERT_TRUE(lc_mono_ms() - t0 >= 20);
}

static void test_real_is_ms_since_the_epoch(void)
{
	int64_t before = (int64_t)time(NULL) * 1000;
	int64_t real = lc_real_ms();
	int64_t after = (int64_t)time(NULL) * 1000 + 1000;
	CU_ASSERT_TRUE(real >= before && real < after);
	/* The two clocks are different clocks: the monotonic one does not count from 1970. */
	CU_ASSERT_TRUE(lc_mono_ms() < real / 2);
}

static void test_timed_wait_ends_at_its_monotonic_deadline(void)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond;
	lc_cond_init_mono(&cond);
	/* The clock is in the condition variable: a default one would wait on CLOCK_REALTIME and
	 * take lc_mono_after's deadline (hours since boot) as long past. */
	int64_t t0 = lc_mono_ms();
	struct timespec at = lc_mono_after(50);
	pthread_mutex_lock(&lock);
	int rc = 0;
	while (rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&cond, &lock, &at);
	pthread_mutex_unlock(&lock);
	CU_ASSERT_EQUAL(rc, ETIMEDOUT);
	CU_ASSERT_TRUE(lc_mono_ms() - t0 >= 50);
	pthread_cond_destroy(&cond);
}

static void test_mono_after_adds_and_carries(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	struct timespec at = lc_mono_after(1999);
	CU_ASSERT_TRUE(at.tv_nsec >= 0 && at.tv_nsec < 1000000000L);
	int64_t diff = ((int64_t)at.tv_sec - now.tv_sec) * 1000 + (at.tv_nsec - now.tv_nsec) / 1000000;
	CU_ASSERT_TRUE(diff >= 1999 && diff < 2100);
}

int init_time_tests(void)
{
	CU_pSuite s = CU_add_suite("time", NULL, NULL);
	if (s == NULL)
		return 1;
	CU_ADD_TEST(s, test_mono_never_goes_back);
	CU_ADD_TEST(s, test_real_is_ms_since_the_epoch);
	CU_ADD_TEST(s, test_timed_wait_ends_at_its_monotonic_deadline);
	CU_ADD_TEST(s, test_mono_after_adds_and_carries);
	return CU_get_error() == CUE_SUCCESS ? 0 : 1;
}
