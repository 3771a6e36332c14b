/* SPDX-License-Identifier: MIT */
/* The one CUnit runner for tests/unit: registers every module's suite, runs them with the basic
 * runner, prints CUnit's summary and exits non-zero when any test failed. */
#include "config.h"
#include "unit_tests.h"
#include "cunit_run.h"

#include <stdio.h>
#include <string.h>
#include <CUnit/Basic.h>

bool unit_has_failure(json_object *failures, const char *field, const char *reason)
{
	size_t n = json_object_array_length(failures);
	for (size_t i = 0; i < n; i++) {
		json_object *f = json_object_array_get_idx(failures, i), *jf, *jr;
		if (json_object_object_get_ex(f, "field", &jf) && json_object_object_get_ex(f, "reason", &jr) &&
		    strcmp(json_object_get_string(jf), field) == 0 &&
		    strcmp(json_object_get_string(jr), reason) == 0)
			return true;
	}
	fprintf(stderr, "\n  expected failure {%s: %s} not in %s\n", field, reason,
		json_object_to_json_string(failures));
	return false;
}

int main(void)
{
	const lc_cunit_init_fn inits[] = {
		init_auth_tests, init_validate_tests, init_config_tests,
		init_json_tests, init_settings_tests, init_perm_tests, init_cookie_tests,
		init_log_tests,
		init_time_tests, init_mq_tests,
		init_err_tests, init_names_tests, init_message_tests, init_recent_tests,
	};

	return lc_cunit_run("test_unit", inits, sizeof inits / sizeof inits[0]);
}
