/* SPDX-License-Identifier: MIT */
/* cunit_run: the shared CUnit main loop (see cunit_run.h). */
#include "config.h"
#include "cunit_run.h"

#include <stdio.h>
#include <CUnit/Basic.h>

int lc_cunit_run(const char *prog, const lc_cunit_init_fn *inits, size_t n)
{
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "%s: cannot initialise CUnit: %s\n", prog, CU_get_error_msg());
		return 2;
	}
	for (size_t i = 0; i < n; i++) {
		if (inits[i]() != 0 || CU_get_error() != CUE_SUCCESS) {
			fprintf(stderr, "%s: cannot register tests: %s\n", prog, CU_get_error_msg());
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
		fprintf(stderr, "%s: no test ran\n", prog);
		return 1;
	}
	return failed == 0 && suites_failed == 0 ? 0 : 1;
}
