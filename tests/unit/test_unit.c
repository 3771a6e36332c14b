/* The one CUnit runner for tests/unit: registers every module's suite, runs them with the basic
 * runner, prints CUnit's summary and exits non-zero when any test failed. */
#include "config.h"
#include "unit_tests.h"

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
	int (*const inits[])(void) = {
		init_auth_tests, init_validate_tests, init_config_tests,
		init_json_tests, init_settings_tests, init_perm_tests,
	};

	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "test_unit: cannot initialise CUnit: %s\n", CU_get_error_msg());
		return 2;
	}
	for (size_t i = 0; i < sizeof inits / sizeof inits[0]; i++) {
		if (inits[i]() != 0 || CU_get_error() != CUE_SUCCESS) {
			fprintf(stderr, "test_unit: cannot register tests: %s\n", CU_get_error_msg());
			CU_cleanup_registry();
			return 2;
		}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures();
	unsigned suites_failed = CU_get_number_of_suites_failed();
	unsigned ran = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	if (ran == 0) {
		fprintf(stderr, "test_unit: no test ran\n");
		return 1;
	}
	return failed == 0 && suites_failed == 0 ? 0 : 1;
}
