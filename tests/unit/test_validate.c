/* SPDX-License-Identifier: MIT */
/* Tests of lc_validate: each rule type passing and failing with its reason, several failures in
 * one report, unknown fields, and UTF-8 checks (lengths count characters, not bytes). */
#include "config.h"
#include "unit_tests.h"
#include "lc_validate.h"
#include "lc_json.h"

#include <string.h>
#include <CUnit/CUnit.h>

static const char *const roles[] = { "a", "b", NULL };
static const char *const perms[] = { "x.read", "x.write", NULL };

static const lc_vpattern_t lower = { "[a-z]+", "lowercase letters" };
static const lc_vpattern_t ab_or_cd = { "ab|cd", "'ab' or 'cd'" };
static const lc_vpattern_t short_tag = { "[a-z]{1,3}", "one to three lowercase letters" };

static const lc_vrule_t rules[] = {
	{ "name", LC_V_STRING, true, 1, 5, NULL, NULL },
	{ "slug", LC_V_STRING, false, 0, 0, &lower, NULL },
	{ "either", LC_V_STRING, false, 0, 0, &ab_or_cd, NULL },
	{ "role", LC_V_STRING, false, 0, 0, NULL, roles },
	{ "count", LC_V_INT, false, 1, 10, NULL, NULL },
	{ "any", LC_V_INT, false, INT64_MIN, 0, NULL, NULL },
	{ "flag", LC_V_BOOL, false, 0, 0, NULL, NULL },
	{ "perms", LC_V_STRING_ARRAY, false, 1, 2, NULL, perms },
	{ "tags", LC_V_STRING_ARRAY, false, 0, 0, &short_tag, NULL },
	{ "meta", LC_V_OBJECT, false, 0, 0, NULL, NULL },
	LC_VRULE_END
};

/* Validate the JSON text; returns the failure array (caller puts it) and sets *ok. */
static json_object *check(const char *text, bool reject_unknown, bool *ok)
{
	json_object *obj = json_tokener_parse(text);
	json_object *failures = NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
	*ok = lc_validate(obj, rules, reject_unknown, &failures);
	json_object_put(obj);
	CU_ASSERT_PTR_NOT_NULL_FATAL(failures);
	return failures;
}

static void expect_pass(const char *text)
{
	bool ok = false;
	json_object *f = check(text, true, &ok);
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_EQUAL(json_object_array_length(f), 0);
	json_object_put(f);
}

static void expect_fail(const char *text, const char *field, const char *reason)
{
	bool ok = true;
	json_object *f = check(text, true, &ok);
	CU_ASSERT_FALSE(ok);
	CU_ASSERT_EQUAL(json_object_array_length(f), 1);
	CU_ASSERT_TRUE(unit_has_failure(f, field, reason));
	json_object_put(f);
}

static void test_valid_object_passes_with_empty_failure_list(void)
{
	expect_pass("{\"name\":\"bob\"}");
	expect_pass("{\"name\":\"bob\",\"slug\":\"abc\",\"either\":\"cd\",\"role\":\"b\",\"count\":10,"
		    "\"any\":-5,\"flag\":false,\"perms\":[\"x.read\",\"x.write\"],\"tags\":[],"
		    "\"meta\":{\"k\":1}}");
}

static void test_missing_required_field_is_required(void)
{
	expect_fail("{}", "name", "is required");
}

static void test_wrong_types_are_named(void)
{
	expect_fail("{\"name\":5}", "name", "must be a string");
	expect_fail("{\"name\":null}", "name", "must be a string");
	expect_fail("{\"name\":\"a\",\"count\":\"5\"}", "count", "must be an integer");
	expect_fail("{\"name\":\"a\",\"count\":5.0}", "count", "must be an integer");
	expect_fail("{\"name\":\"a\",\"flag\":1}", "flag", "must be true or false");
	expect_fail("{\"name\":\"a\",\"perms\":\"x.read\"}", "perms", "must be an array of strings");
	expect_fail("{\"name\":\"a\",\"meta\":[]}", "meta", "must be an object");
}

static void test_string_length_counts_utf8_characters(void)
{
	/* "héllo": 5 characters, 6 bytes; "日本語です": 5 characters, 15 bytes. */
	expect_pass("{\"name\":\"h\\u00e9llo\"}");
	expect_pass("{\"name\":\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xa7\xe3\x81\x99\"}");
	expect_fail("{\"name\":\"h\\u00e9llos\"}", "name", "must be at most 5 characters");
	expect_fail("{\"name\":\"\"}", "name", "must not be empty");
}

static void test_string_minimum_above_one_is_reported_in_characters(void)
{
	static const lc_vrule_t r[] = { { "pw", LC_V_STRING, true, 8, 64, NULL, NULL }, LC_VRULE_END };
	json_object *o = json_tokener_parse("{\"pw\":\"short\"}"), *f = NULL;
	CU_ASSERT_FALSE(lc_validate(o, r, false, &f));
	CU_ASSERT_TRUE(unit_has_failure(f, "pw", "must be at least 8 characters"));
	json_object_put(f);
	json_object_put(o);
}

static void test_pattern_is_anchored_to_the_whole_value(void)
{
	expect_pass("{\"name\":\"a\",\"slug\":\"abc\"}");
	expect_fail("{\"name\":\"a\",\"slug\":\"abc1\"}", "slug", "must contain only lowercase letters");
	expect_fail("{\"name\":\"a\",\"slug\":\"1abc\"}", "slug", "must contain only lowercase letters");
	/* Alternation stays inside the anchors: "abcd" matches neither whole alternative. */
	expect_pass("{\"name\":\"a\",\"either\":\"ab\"}");
	expect_fail("{\"name\":\"a\",\"either\":\"abcd\"}", "either", "must contain only 'ab' or 'cd'");
	expect_fail("{\"name\":\"a\",\"either\":\"xab\"}", "either", "must contain only 'ab' or 'cd'");
}

/* The reason says what is allowed in words, never the regex (which means nothing to a person). */
static void test_pattern_reason_is_in_words_not_the_regex(void)
{
	bool ok = true;
	json_object *f = check("{\"name\":\"a\",\"slug\":\"A-1\"}", true, &ok);
	const char *reason = lc_json_get_str(json_object_array_get_idx(f, 0), "reason", "");
	CU_ASSERT_FALSE(ok);
	CU_ASSERT_STRING_EQUAL(reason, "must contain only lowercase letters");
	CU_ASSERT_PTR_NULL(strchr(reason, '['));
	json_object_put(f);

	static const lc_vrule_t id_rules[] = {
		{ "id", LC_V_STRING, true, 1, 64, &lc_vpattern_id, NULL }, LC_VRULE_END
	};
	json_object *o = json_tokener_parse("{\"id\":\"m 1\"}");
	f = NULL;
	CU_ASSERT_FALSE(lc_validate(o, id_rules, false, &f));
	CU_ASSERT_TRUE(unit_has_failure(f, "id", "must contain only letters, digits, '_' and '-'"));
	json_object_put(f);
	json_object_put(o);
	o = json_tokener_parse("{\"id\":\"m-1_A\"}");
	CU_ASSERT_TRUE(lc_validate(o, id_rules, false, NULL));
	json_object_put(o);
}

static void test_one_of_lists_the_allowed_values(void)
{
	expect_pass("{\"name\":\"a\",\"role\":\"a\"}");
	expect_fail("{\"name\":\"a\",\"role\":\"c\"}", "role", "must be one of: a, b");
	expect_fail("{\"name\":\"a\",\"role\":\"A\"}", "role", "must be one of: a, b");
}

static void test_int_bounds_are_inclusive(void)
{
	expect_pass("{\"name\":\"a\",\"count\":1}");
	expect_pass("{\"name\":\"a\",\"count\":10}");
	expect_fail("{\"name\":\"a\",\"count\":0}", "count", "must be between 1 and 10");
	expect_fail("{\"name\":\"a\",\"count\":11}", "count", "must be between 1 and 10");
	expect_pass("{\"name\":\"a\",\"any\":-9000000000}");
}

static void test_string_array_checks_count_and_each_item(void)
{
	expect_fail("{\"name\":\"a\",\"perms\":[]}", "perms", "must have at least 1 item");
	expect_fail("{\"name\":\"a\",\"perms\":[\"x.read\",\"x.read\",\"x.read\"]}", "perms",
		    "must have at most 2 items");
	expect_fail("{\"name\":\"a\",\"perms\":[\"x.read\",\"x.delete\"]}", "perms[1]",
		    "must be one of: x.read, x.write");
	expect_fail("{\"name\":\"a\",\"perms\":[\"x.read\",7]}", "perms[1]", "must be a string");
	expect_pass("{\"name\":\"a\",\"tags\":[\"abc\",\"z\"]}");
	expect_fail("{\"name\":\"a\",\"tags\":[\"abcd\"]}", "tags[0]", "must contain only one to three lowercase letters");
}

static void test_every_failing_field_is_reported(void)
{
	bool ok = true;
	json_object *f = check("{\"slug\":\"A\",\"count\":99,\"flag\":\"yes\",\"role\":\"z\"}", true, &ok);
	CU_ASSERT_FALSE(ok);
	CU_ASSERT_EQUAL(json_object_array_length(f), 5);
	CU_ASSERT_TRUE(unit_has_failure(f, "name", "is required"));
	CU_ASSERT_TRUE(unit_has_failure(f, "slug", "must contain only lowercase letters"));
	CU_ASSERT_TRUE(unit_has_failure(f, "count", "must be between 1 and 10"));
	CU_ASSERT_TRUE(unit_has_failure(f, "flag", "must be true or false"));
	CU_ASSERT_TRUE(unit_has_failure(f, "role", "must be one of: a, b"));
	json_object_put(f);
}

static void test_unknown_field_is_reported_only_when_rejected(void)
{
	bool ok = true;
	expect_fail("{\"name\":\"a\",\"password_hash\":\"x\"}", "password_hash", "is not a known field");
	json_object *f = check("{\"name\":\"a\",\"password_hash\":\"x\"}", false, &ok);
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_EQUAL(json_object_array_length(f), 0);
	json_object_put(f);
}

static void test_non_object_fails_with_empty_field(void)
{
	json_object *arr = json_object_new_array(), *f = NULL;
	CU_ASSERT_FALSE(lc_validate(arr, rules, false, &f));
	CU_ASSERT_TRUE(unit_has_failure(f, "", "must be a JSON object"));
	json_object_put(f);
	CU_ASSERT_FALSE(lc_validate(NULL, rules, false, NULL));
	json_object_put(arr);
}

static void test_invalid_utf8_and_nul_are_rejected(void)
{
	json_object *o = json_object_new_object(), *f = NULL;
	json_object_object_add(o, "name", json_object_new_string_len("a\xc3", 2));
	CU_ASSERT_FALSE(lc_validate(o, rules, false, &f));
	CU_ASSERT_TRUE(unit_has_failure(f, "name", "is not valid UTF-8"));
	json_object_put(f);
	json_object_object_add(o, "name", json_object_new_string_len("a\0b", 3));
	CU_ASSERT_FALSE(lc_validate(o, rules, false, &f));
	CU_ASSERT_TRUE(unit_has_failure(f, "name", "must not contain NUL characters"));
	json_object_put(f);
	json_object_object_add(o, "name", json_object_new_string("ok"));
	json_object *tags = json_object_new_array();
	json_object_array_add(tags, json_object_new_string("\xed\xa0\x80"));   /* a surrogate */
	json_object_object_add(o, "tags", tags);
	CU_ASSERT_FALSE(lc_validate(o, rules, false, &f));
	CU_ASSERT_TRUE(unit_has_failure(f, "tags[0]", "is not valid UTF-8"));
	json_object_put(f);
	json_object_put(o);
}

static void test_utf8_decoder_rejects_overlongs_surrogates_and_truncation(void)
{
	static const struct { const char *s; bool valid; } cases[] = {
		{ "plain ascii", true },
		{ "\xc3\xa9", true },                  /* é */
		{ "\xe2\x82\xac", true },              /* € */
		{ "\xf0\x9f\x98\x80", true },          /* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", true },          /* U+10FFFF */
		{ "\xc0\xaf", false },                 /* overlong '/' */
		{ "\xe0\x80\xaf", false },             /* overlong, 3 bytes */
		{ "\xf0\x80\x80\xaf", false },         /* overlong, 4 bytes */
		{ "\xed\xa0\x80", false },             /* U+D800 surrogate */
		{ "\xf4\x90\x80\x80", false },         /* above U+10FFFF */
		{ "\xe2\x82", false },                 /* truncated */
		{ "\x80", false },                     /* lone continuation */
		{ "\xff", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bool got = lc_utf8_valid(cases[i].s, strlen(cases[i].s));
		CU_ASSERT_EQUAL(got, cases[i].valid);
	}
	CU_ASSERT_EQUAL(lc_utf8_len("h\xc3\xa9\xf0\x9f\x98\x80", 7), 3);
}

int init_validate_tests(void)
{
	CU_pSuite s = CU_add_suite("validate", NULL, NULL);
	if (s == NULL)
		return 1;
	CU_add_test(s, "valid_object_passes_with_empty_failure_list", test_valid_object_passes_with_empty_failure_list);
	CU_add_test(s, "missing_required_field_is_required", test_missing_required_field_is_required);
	CU_add_test(s, "wrong_types_are_named", test_wrong_types_are_named);
	CU_add_test(s, "string_length_counts_utf8_characters", test_string_length_counts_utf8_characters);
	CU_add_test(s, "string_minimum_above_one_is_reported_in_characters", test_string_minimum_above_one_is_reported_in_characters);
	CU_add_test(s, "pattern_is_anchored_to_the_whole_value", test_pattern_is_anchored_to_the_whole_value);
	CU_add_test(s, "pattern_reason_is_in_words_not_the_regex", test_pattern_reason_is_in_words_not_the_regex);
	CU_add_test(s, "one_of_lists_the_allowed_values", test_one_of_lists_the_allowed_values);
	CU_add_test(s, "int_bounds_are_inclusive", test_int_bounds_are_inclusive);
	CU_add_test(s, "string_array_checks_count_and_each_item", test_string_array_checks_count_and_each_item);
	CU_add_test(s, "every_failing_field_is_reported", test_every_failing_field_is_reported);
	CU_add_test(s, "unknown_field_is_reported_only_when_rejected", test_unknown_field_is_reported_only_when_rejected);
	CU_add_test(s, "non_object_fails_with_empty_field", test_non_object_fails_with_empty_field);
	CU_add_test(s, "invalid_utf8_and_nul_are_rejected", test_invalid_utf8_and_nul_are_rejected);
	CU_add_test(s, "utf8_decoder_rejects_overlongs_surrogates_and_truncation", test_utf8_decoder_rejects_overlongs_surrogates_and_truncation);
	return CU_get_error() == CUE_SUCCESS ? 0 : 1;
}
