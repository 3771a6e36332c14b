/* SPDX-License-Identifier: MIT */
/* cunit_run: the one CUnit main loop every test program of tests/ uses: register the suites,
 * run them with the basic runner (verbose), print CUnit's summary, and turn the outcome into an
 * exit status that `make check` reads. */
#ifndef LC_CUNIT_RUN_H
#define LC_CUNIT_RUN_H

#include <stddef.h>

/* A suite registration function: returns 0 when its tests were added. */
typedef int (*lc_cunit_init_fn)(void);

/* Register inits[0..n), run every test. Returns 0 when all passed, 1 when any test or suite
 * failed or no test ran at all, 2 when CUnit could not be set up. prog names the program in
 * messages. */
int lc_cunit_run(const char *prog, const lc_cunit_init_fn *inits, size_t n);

#endif
