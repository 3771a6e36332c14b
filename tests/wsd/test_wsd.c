/* SPDX-License-Identifier: MIT */
/* The one CUnit runner of wsd's unit tests (wsd_unit_tests.h): registers every module's suite,
 * runs them, and exits non-zero when any test failed. */
#include "config.h"
#include "wsd_unit_tests.h"
#include "cunit_run.h"

int main(void)
{
	const lc_cunit_init_fn inits[] = {
		init_wsd_map_tests, init_wsd_settings_tests, init_wsd_rate_tests,
		init_wsd_croom_tests, init_wsd_idle_tests, init_wsd_batch_tests,
		init_wsd_frames_tests, init_wsd_events_tests, init_wsd_loop_tests,
		init_wsd_addrcap_tests, init_wsd_mask_tests, init_wsd_hist_tests,
	};

	return lc_cunit_run("test_wsd", inits, sizeof inits / sizeof inits[0]);
}
