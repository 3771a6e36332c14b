/* SPDX-License-Identifier: MIT */
/* Tests of lc_json: strict parsing (one value, depth limit, trailing garbage, UTF-8), tolerant
 * getters and the shared error body shape. */
#include "config.h"
#include "unit_tests.h"
#include "lc_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>

static json_object *parse(const char *s, lc_err_t *err)
{
	lc_err_clear(err);
	return lc_json_parse(s, strlen(s), err);
}

static void test_valid_input_parses(void)
{
	lc_err_t err;
	json_object *o = parse(" {\"a\":1,\"b\":[true,null,\"x\"],\"c\":{\"d\":-2.5}}\r\n", &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(lc_json_get_int(o, "a", 0), 1);
	CU_ASSERT_STRING_EQUAL(lc_json_str(o), "{\"a\":1,\"b\":[true,null,\"x\"],\"c\":{\"d\":-2.5}}");
	json_object_put(o);

	o = parse("42", &err);      /* a bare number needs no delimiter after it */
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(json_object_get_int64(o), 42);
	json_object_put(o);
}

static void test_parse_uses_only_len_bytes(void)
{
	lc_err_t err = { 0 };
	const char buf[] = "{\"a\":1}GARBAGE";
	json_object *o = lc_json_parse(buf, 7, &err);
	CU_ASSERT_PTR_NOT_NULL(o);
	json_object_put(o);
}

static void test_trailing_garbage_is_rejected_with_offset(void)
{
	lc_err_t err;
	CU_ASSERT_PTR_NULL(parse("{\"a\":1}x", &err));
	CU_ASSERT_EQUAL(err.code, LC_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "invalid JSON at offset 7"));
	CU_ASSERT_PTR_NULL(parse("{\"a\":1} {\"b\":2}", &err));
	CU_ASSERT_EQUAL(err.code, LC_ERR_INVALID);
	CU_ASSERT_PTR_NULL(parse("[1]]", &err));
	CU_ASSERT_EQUAL(err.code, LC_ERR_INVALID);
}

static void test_malformed_input_is_rejected(void)
{
	static const char *const bad[] = {
		"", "   ", "{", "[1,2", "\"abc", "{\"a\":1,}", "[1,]", "{'a':1}", "nul", "tru",
		"NaN", "[Infinity]", "{\"a\":-Infinity}", "\"a\x01\"", "{\"a\" 1}", "01x",
		"\"\xc3\"", "\"\xed\xa0\x80\"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		lc_err_t err;
		json_object *o = parse(bad[i], &err);
		CU_ASSERT_PTR_NULL(o);
		CU_ASSERT_EQUAL(err.code, LC_ERR_INVALID);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "invalid JSON"));
		if (o != NULL)
			fprintf(stderr, "\n  accepted: %s\n", bad[i]);
		json_object_put(o);
	}
	lc_err_t err = { 0 };
	CU_ASSERT_PTR_NULL(lc_json_parse("{\"a\":\"x\0y\"}", 11, &err));   /* embedded NUL */
	CU_ASSERT_EQUAL(err.code, LC_ERR_INVALID);
}

static void test_nesting_deeper_than_32_is_rejected(void)
{
	char buf[200];
	lc_err_t err;
	for (int depth = 31; depth <= 33; depth++) {
		memset(buf, '[', (size_t)depth);
		memset(buf + depth, ']', (size_t)depth);
		buf[2 * depth] = '\0';
		json_object *o = parse(buf, &err);
		if (depth <= 32) {
			CU_ASSERT_PTR_NOT_NULL(o);
		} else {
			CU_ASSERT_PTR_NULL(o);
			CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "nesting deeper than 32"));
		}
		json_object_put(o);
	}
	/* A huge nesting attempt fails quickly with the same error instead of recursing. */
	size_t n = 100000;
	char *deep = malloc(n + 1);
	memset(deep, '{', n);
	deep[n] = '\0';
	CU_ASSERT_PTR_NULL(parse(deep, &err));
	CU_ASSERT_EQUAL(err.code, LC_ERR_INVALID);
	free(deep);
}

static void test_getters_return_default_when_missing_or_mistyped(void)
{
	lc_err_t err;
	json_object *o = parse("{\"s\":\"v\",\"i\":7,\"b\":true,\"n\":null,\"d\":1.5}", &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_STRING_EQUAL(lc_json_get_str(o, "s", "def"), "v");
	CU_ASSERT_STRING_EQUAL(lc_json_get_str(o, "i", "def"), "def");
	CU_ASSERT_STRING_EQUAL(lc_json_get_str(o, "missing", "def"), "def");
	CU_ASSERT_PTR_NULL(lc_json_get_str(o, "n", NULL));
	CU_ASSERT_EQUAL(lc_json_get_int(o, "i", -1), 7);
	CU_ASSERT_EQUAL(lc_json_get_int(o, "s", -1), -1);
	CU_ASSERT_EQUAL(lc_json_get_int(o, "d", -1), -1);
	CU_ASSERT_TRUE(lc_json_get_bool(o, "b", false));
	CU_ASSERT_TRUE(lc_json_get_bool(o, "i", true));
	CU_ASSERT_FALSE(lc_json_get_bool(o, "missing", false));
	CU_ASSERT_STRING_EQUAL(lc_json_get_str(NULL, "s", "def"), "def");
	json_object_put(o);
}

static void test_error_body_has_team_shape(void)
{
	json_object *fields = json_object_new_array();
	json_object *f = json_object_new_object();
	json_object_object_add(f, "field", json_object_new_string("username"));
	json_object_object_add(f, "reason", json_object_new_string("is required"));
	json_object_array_add(fields, f);
	json_object *e = lc_json_error("validation_failed", "invalid body", fields);
	CU_ASSERT_STRING_EQUAL(lc_json_str(e),
		"{\"error\":{\"code\":\"validation_failed\",\"message\":\"invalid body\","
		"\"fields\":[{\"field\":\"username\",\"reason\":\"is required\"}]}}");
	json_object_put(e);
	e = lc_json_error("not_found", "no such room", NULL);
	CU_ASSERT_STRING_EQUAL(lc_json_str(e), "{\"error\":{\"code\":\"not_found\",\"message\":\"no such room\"}}");
	json_object_put(e);
}

/* Issue 11, defect 13: the key "a\u0000b" became "a" silently. */
static void test_key_with_escaped_nul_is_refused_naming_it(void)
{
	lc_err_t err;
	CU_ASSERT_PTR_NULL(parse("{\"ok\":1,\"a\\u0000b\" : 2}", &err));
	CU_ASSERT_EQUAL(err.code, LC_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(err.field, "a\\u0000b");
	CU_ASSERT_PTR_NULL(parse("[{\"x\":{\"\\u0000\":true}}]", &err));
	CU_ASSERT_STRING_EQUAL(err.field, "\\u0000");
	/* Found by fuzz_rest: with bytes that are not UTF-8 the key was named as it was, and the
	 * answer was no longer UTF-8. Invalid UTF-8 is reported first now. */
	CU_ASSERT_PTR_NULL(parse("{\"a\xad\\u0000\":1}", &err));
	CU_ASSERT_STRING_EQUAL(err.field, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "not valid UTF-8"));
	/* A long key is cut between characters (62 ASCII bytes, then a 2-byte character). */
	char buf[200];
	snprintf(buf, sizeof buf, "{\"%s\xc3\xa9\\u0000\":1}",
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	CU_ASSERT_PTR_NULL(parse(buf, &err));
	CU_ASSERT_EQUAL(strlen(err.field), 62);
	/* In a value it is left to validation (which names the field); an escaped backslash
	 * followed by u0000 is no NUL at all. */
	json_object *o = parse("{\"a\":\"x\\u0000y\",\"b\\\\u0000\":1}", &err);
	CU_ASSERT_PTR_NOT_NULL(o);
	CU_ASSERT_EQUAL(json_object_get_string_len(json_object_object_get(o, "a")), 3);
	CU_ASSERT_EQUAL(lc_json_get_int(o, "b\\u0000", 0), 1);
	json_object_put(o);
}

/* The tokenizer is handed exactly len bytes: a number at the very end of the buffer completes
 * without a terminating NUL after it. */
static void test_parse_reads_no_byte_past_len(void)
{
	lc_err_t err = { 0 };
	char *buf = malloc(2);
	memcpy(buf, "17", 2);    /* no NUL: reading buf[2] is a heap overflow under ASan */
	json_object *o = lc_json_parse(buf, 2, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(json_object_get_int64(o), 17);
	json_object_put(o);
	memcpy(buf, "[1", 2);
	CU_ASSERT_PTR_NULL(lc_json_parse(buf, 2, &err));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "unexpected end of input"));
	free(buf);
}

/* A copy shares no object with the original: each can be changed and freed on its own (how a
 * value crosses threads: json-c's reference counts are not atomic). */
static void test_copy_shares_nothing(void)
{
	CU_ASSERT_PTR_NULL(lc_json_copy(NULL));
	lc_err_t err = { 0 };
	const char *text = "{\"a\":{\"b\":[1,\"x\"]},\"c\":\"d\"}";
	json_object *o = lc_json_parse(text, strlen(text), &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	json_object *inner = json_object_object_get(o, "a");
	json_object *c = lc_json_copy(o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NOT_EQUAL(c, o);
	CU_ASSERT_PTR_NOT_EQUAL(json_object_object_get(c, "a"), inner);
	CU_ASSERT_STRING_EQUAL(lc_json_str(c), lc_json_str(o));
	/* Changed and freed apart. */
	json_object_array_add(json_object_object_get(json_object_object_get(c, "a"), "b"),
			      json_object_new_int(2));
	json_object_put(o);
	CU_ASSERT_STRING_EQUAL(lc_json_str(c), "{\"a\":{\"b\":[1,\"x\",2]},\"c\":\"d\"}");
	json_object_put(c);
}

int init_json_tests(void)
{
	CU_pSuite s = CU_add_suite("json", NULL, NULL);
	if (s == NULL)
		return 1;
	CU_add_test(s, "valid_input_parses", test_valid_input_parses);
	CU_add_test(s, "parse_uses_only_len_bytes", test_parse_uses_only_len_bytes);
	CU_add_test(s, "trailing_garbage_is_rejected_with_offset", test_trailing_garbage_is_rejected_with_offset);
	CU_add_test(s, "malformed_input_is_rejected", test_malformed_input_is_rejected);
	CU_add_test(s, "nesting_deeper_than_32_is_rejected", test_nesting_deeper_than_32_is_rejected);
	CU_add_test(s, "getters_return_default_when_missing_or_mistyped", test_getters_return_default_when_missing_or_mistyped);
	CU_add_test(s, "error_body_has_team_shape", test_error_body_has_team_shape);
	CU_add_test(s, "key_with_escaped_nul_is_refused_naming_it", test_key_with_escaped_nul_is_refused_naming_it);
	CU_add_test(s, "parse_reads_no_byte_past_len", test_parse_reads_no_byte_past_len);
	CU_add_test(s, "copy_shares_nothing", test_copy_shares_nothing);
	return CU_get_error() == CUE_SUCCESS ? 0 : 1;
}
