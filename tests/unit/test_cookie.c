/* SPDX-License-Identifier: MIT */
/* Tests of lc_cookie, the one Cookie header parser of fcgi and wsd: splitting, blanks, quotes,
 * malformed values, the header size limit. */
#include "config.h"
#include "unit_tests.h"
#include "lc_alloc.h"
#include "lc_cookie.h"

#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>

/* The value lc_cookie_find gives, or NULL; *rc its return code. */
static char *find(const char *header, const char *name, lc_rc *rc)
{
	char *v = NULL;
	*rc = lc_cookie_find(header, name, &v, NULL);
	return v;
}

static void test_pairs_are_split_and_trimmed(void)
{
	const char *h = "  a=1;b = two ;; =nameless; novalue; c=\"quoted\";d=";
	size_t pos = 0;
	lc_cookie_t c;
	const char *want[][2] = { { "a", "1" }, { "b", "two" }, { "c", "quoted" }, { "d", "" } };
	for (size_t i = 0; i < 4; i++) {
		CU_ASSERT_TRUE_FATAL(lc_cookie_next(h, &pos, &c));
		CU_ASSERT_EQUAL(c.name_len, strlen(want[i][0]));
		CU_ASSERT_EQUAL(memcmp(c.name, want[i][0], c.name_len), 0);
		CU_ASSERT_EQUAL(c.value_len, strlen(want[i][1]));
		CU_ASSERT_EQUAL(memcmp(c.value, want[i][1], c.value_len), 0);
	}
	CU_ASSERT_FALSE(lc_cookie_next(h, &pos, &c));
	pos = 0;
	CU_ASSERT_FALSE(lc_cookie_next(NULL, &pos, &c));
	CU_ASSERT_FALSE(lc_cookie_next("", &pos, &c));
}

static void test_find_takes_the_first_exact_name(void)
{
	lc_rc rc;
	char *v = find("lc=x; lc_session_old=y; lc_session=tok; lc_session=later", "lc_session", &rc);
	CU_ASSERT_EQUAL(rc, LC_OK);
	CU_ASSERT_STRING_EQUAL(v, "tok");
	free(v);
	CU_ASSERT_PTR_NULL(find("LC_SESSION=tok", "lc_session", &rc));
	CU_ASSERT_EQUAL(rc, LC_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(find(NULL, "lc_session", &rc));
	CU_ASSERT_EQUAL(rc, LC_ERR_NOT_FOUND);
}

/* Issue 11, defect 10: wsd refused a quoted value the API accepted; one rule now: the quotes
 * RFC 6265 allows are dropped, and what is inside must be cookie-octets. */
static void test_quoted_values_are_unquoted_and_checked(void)
{
	lc_rc rc;
	char *v = find("lc_session=\"abc-DEF_1\"", "lc_session", &rc);
	CU_ASSERT_EQUAL(rc, LC_OK);
	CU_ASSERT_STRING_EQUAL(v, "abc-DEF_1");
	free(v);
	const char *bad[] = { "lc_session=\"a b\"", "lc_session=a\\b", "lc_session=caf\xc3\xa9",
			      "lc_session=\"\"\"", "lc_session=a,b", NULL };
	for (size_t i = 0; bad[i] != NULL; i++) {
		CU_ASSERT_PTR_NULL(find(bad[i], "lc_session", &rc));
		CU_ASSERT_EQUAL(rc, LC_ERR_INVALID);
	}
}

static void test_header_over_the_limit_is_too_large_not_cut(void)
{
	lc_rc rc;
	size_t n = LC_COOKIE_HEADER_MAX + 1;
	char *h = lc_malloc(n + 1);
	memcpy(h, "lc_session=tok; pad=", 20);
	memset(h + 20, 'x', n - 20);
	h[n] = '\0';
	CU_ASSERT_FALSE(lc_cookie_header_ok(h));
	CU_ASSERT_PTR_NULL(find(h, "lc_session", &rc));
	CU_ASSERT_EQUAL(rc, LC_ERR_TOO_LARGE);
	h[n - 1] = '\0';    /* exactly the limit */
	CU_ASSERT_TRUE(lc_cookie_header_ok(h));
	char *v = find(h, "lc_session", &rc);
	CU_ASSERT_EQUAL(rc, LC_OK);
	free(v);
	free(h);
	CU_ASSERT_TRUE(lc_cookie_header_ok(NULL));
}

int init_cookie_tests(void)
{
	CU_pSuite s = CU_add_suite("cookie", NULL, NULL);
	if (s == NULL)
		return 1;
	CU_ADD_TEST(s, test_pairs_are_split_and_trimmed);
	CU_ADD_TEST(s, test_find_takes_the_first_exact_name);
	CU_ADD_TEST(s, test_quoted_values_are_unquoted_and_checked);
	CU_ADD_TEST(s, test_header_over_the_limit_is_too_large_not_cut);
	return CU_get_error() == CUE_SUCCESS ? 0 : 1;
}
