/* SPDX-License-Identifier: MIT */
/* CUnit tests of shared/lc_err.c's one answer table: each result code's REST status and code
 * (docs/api.md, "Errors") and websocket code (docs/websocket.md, "Common rules"). */
#include "config.h"
#include "unit_tests.h"
#include "lc_err.h"

#include <CUnit/Basic.h>
#include <string.h>

static const struct {
	lc_rc rc;
	int status;
	const char *http, *ws;
} documented[] = {
	{ LC_ERR_INVALID, 422, "validation_failed", "validation_failed" },
	{ LC_ERR_NOT_FOUND, 404, "not_found", "not_found" },
	{ LC_ERR_CONFLICT, 409, "conflict", "not_open" },
	{ LC_ERR_UNAUTHORIZED, 401, "unauthorized", "unauthorized" },
	{ LC_ERR_FORBIDDEN, 403, "forbidden", "forbidden" },
	{ LC_ERR_TOO_LARGE, 413, "payload_too_large", "too_large" },
	{ LC_ERR_RATE_LIMITED, 429, "rate_limited", "rate_limited" },
	{ LC_ERR_UNAVAILABLE, 503, "unavailable", "unavailable" },
	{ LC_ERR_TIMEOUT, 503, "unavailable", "unavailable" },
	{ LC_ERR_INTERNAL, 500, "internal", "internal" },
};

static void test_each_code_answers_as_the_documents_say(void)
{
	for (size_t i = 0; i < sizeof documented / sizeof documented[0]; i++) {
		const char *code = NULL;
		CU_ASSERT_EQUAL(lc_rc_http(documented[i].rc, true, &code), documented[i].status);
		CU_ASSERT_STRING_EQUAL(code, documented[i].http);
		CU_ASSERT_STRING_EQUAL(lc_rc_ws_code(documented[i].rc), documented[i].ws);
	}
}

static void test_rest_and_websocket_differ_only_where_documented(void)
{
	int differ = 0;
	for (int rc = LC_OK; rc < LC_RC_COUNT_; rc++) {
		const char *code;
		lc_rc_http((lc_rc)rc, true, &code);
		CU_ASSERT_PTR_NOT_NULL_FATAL(lc_rc_ws_code((lc_rc)rc));
		if (strcmp(code, lc_rc_ws_code((lc_rc)rc)) != 0) {
			differ++;
			CU_ASSERT_TRUE(rc == LC_ERR_CONFLICT || rc == LC_ERR_TOO_LARGE);
		}
	}
	CU_ASSERT_EQUAL(differ, 2);
}

static void test_invalid_without_a_field_is_a_bad_request(void)
{
	const char *code;
	CU_ASSERT_EQUAL(lc_rc_http(LC_ERR_INVALID, false, &code), 400);
	CU_ASSERT_STRING_EQUAL(code, "bad_request");
	/* On a socket a failed rule is always validation_failed (bad JSON has its own code). */
	CU_ASSERT_STRING_EQUAL(lc_rc_ws_code(LC_ERR_INVALID), "validation_failed");
}

static void test_ok_and_unknown_values_answer_internal(void)
{
	const char *code;
	CU_ASSERT_EQUAL(lc_rc_http(LC_OK, true, &code), 500);
	CU_ASSERT_STRING_EQUAL(code, "internal");
	CU_ASSERT_EQUAL(lc_rc_http((lc_rc)999, true, &code), 500);
	CU_ASSERT_STRING_EQUAL(lc_rc_ws_code((lc_rc)999), "internal");
	CU_ASSERT_STRING_EQUAL(lc_rc_name((lc_rc)999), "internal");
	CU_ASSERT_STRING_EQUAL(lc_rc_name(LC_ERR_CONFLICT), "conflict");
}

int init_err_tests(void)
{
	CU_pSuite s = CU_add_suite("lc_err", NULL, NULL);
	if (s == NULL)
		return -1;
	if (!CU_add_test(s, "each code answers as the documents say",
			 test_each_code_answers_as_the_documents_say) ||
	    !CU_add_test(s, "REST and websocket differ only where documented",
			 test_rest_and_websocket_differ_only_where_documented) ||
	    !CU_add_test(s, "invalid without a field is a bad request",
			 test_invalid_without_a_field_is_a_bad_request) ||
	    !CU_add_test(s, "OK and unknown values answer internal",
			 test_ok_and_unknown_values_answer_internal))
		return -1;
	return 0;
}
