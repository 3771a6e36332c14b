/* SPDX-License-Identifier: MIT */
/* Unit tests of the shared library: each module's CUnit file registers one suite through its
 * init_<module>_tests(); test_unit.c runs them all. */
#ifndef UNIT_TESTS_H
#define UNIT_TESTS_H

#include <stdbool.h>
#include <json-c/json.h>

int init_auth_tests(void);
int init_validate_tests(void);
int init_config_tests(void);
int init_json_tests(void);
int init_settings_tests(void);
int init_perm_tests(void);
int init_cookie_tests(void);
int init_log_tests(void);
int init_time_tests(void);
int init_mq_tests(void);
int init_err_tests(void);
int init_names_tests(void);
int init_message_tests(void);
int init_recent_tests(void);

/* True when the lc_validate failure array holds an entry with this field and reason. */
bool unit_has_failure(json_object *failures, const char *field, const char *reason);

#endif
