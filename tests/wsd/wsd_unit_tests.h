/* SPDX-License-Identifier: MIT */
/* Unit tests of wsd's pure logic, linked from wsd/libwsd.a: each module's CUnit file registers
 * one suite through its init_wsd_<module>_tests(); test_wsd.c runs them all. No servers. */
#ifndef WSD_UNIT_TESTS_H
#define WSD_UNIT_TESTS_H

int init_wsd_map_tests(void);
int init_wsd_settings_tests(void);
int init_wsd_rate_tests(void);
int init_wsd_croom_tests(void);
int init_wsd_idle_tests(void);
int init_wsd_batch_tests(void);
int init_wsd_frames_tests(void);
int init_wsd_events_tests(void);
int init_wsd_loop_tests(void);
int init_wsd_addrcap_tests(void);
int init_wsd_mask_tests(void);
int init_wsd_hist_tests(void);

#endif
