/* SPDX-License-Identifier: MIT */
/* CUnit tests of shared/lc_message.c: the sender names and the typed view of a stored message
 * (the shape lc_store returns: docs/store.md). Pure logic: no servers. */
#include "config.h"
#include "unit_tests.h"
#include "lc_message.h"

#include <CUnit/Basic.h>

static void test_sender_names_round_trip(void)
{
	lc_sender_t all[] = { LC_SENDER_CUSTOMER, LC_SENDER_AGENT, LC_SENDER_SYSTEM };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		CU_ASSERT_EQUAL(lc_sender_parse(lc_sender_name(all[i])), all[i]);
	CU_ASSERT_STRING_EQUAL(lc_sender_name(LC_SENDER_CUSTOMER), "customer");
	CU_ASSERT_STRING_EQUAL(lc_sender_name(LC_SENDER_AGENT), "agent");
	CU_ASSERT_STRING_EQUAL(lc_sender_name(LC_SENDER_SYSTEM), "system");
	CU_ASSERT_STRING_EQUAL(lc_sender_names[3 - 1], "system");
	CU_ASSERT_PTR_NULL(lc_sender_names[3]);
}

static void test_unknown_sender_has_no_name(void)
{
	CU_ASSERT_PTR_NULL(lc_sender_name(LC_SENDER_UNKNOWN));
	CU_ASSERT_PTR_NULL(lc_sender_name((lc_sender_t)99));
	CU_ASSERT_EQUAL(lc_sender_parse("Agent"), LC_SENDER_UNKNOWN);
	CU_ASSERT_EQUAL(lc_sender_parse(""), LC_SENDER_UNKNOWN);
	CU_ASSERT_EQUAL(lc_sender_parse(NULL), LC_SENDER_UNKNOWN);
}

static void test_view_reads_every_field_of_a_stored_message(void)
{
	json_object *o = json_tokener_parse(
		"{\"id\":\"m1\",\"room_id\":\"r1\",\"channel\":\"widget\",\"customer_id\":\"c1\","
		"\"seq\":7,\"sender\":\"agent\",\"author\":\"Ann\",\"text\":\"hello\","
		"\"ts\":1700000000123}");
	lc_message_t m;
	lc_message_view(&m, o);
	CU_ASSERT_STRING_EQUAL(m.id, "m1");
	CU_ASSERT_STRING_EQUAL(m.room_id, "r1");
	CU_ASSERT_STRING_EQUAL(m.channel, "widget");
	CU_ASSERT_STRING_EQUAL(m.customer_id, "c1");
	CU_ASSERT_EQUAL(m.seq, 7);
	CU_ASSERT_EQUAL(m.sender, LC_SENDER_AGENT);
	CU_ASSERT_STRING_EQUAL(m.author, "Ann");
	CU_ASSERT_STRING_EQUAL(m.text, "hello");
	CU_ASSERT_EQUAL(m.ts_ms, 1700000000123LL);
	/* Borrowed, not copied: the view points into the stored object. */
	json_object *text = NULL;
	json_object_object_get_ex(o, "text", &text);
	CU_ASSERT_PTR_EQUAL(m.text, json_object_get_string(text));
	json_object_put(o);
}

static void test_view_of_a_system_message_with_null_author(void)
{
	json_object *o = json_tokener_parse(
		"{\"id\":\"r1-waiting\",\"seq\":1,\"sender\":\"system\",\"author\":null,\"text\":\"wait\"}");
	lc_message_t m;
	lc_message_view(&m, o);
	CU_ASSERT_EQUAL(m.sender, LC_SENDER_SYSTEM);
	CU_ASSERT_PTR_NULL(m.author);
	CU_ASSERT_STRING_EQUAL(m.room_id, "");
	json_object_put(o);
}

static void test_view_of_nothing_or_wrong_types_is_empty(void)
{
	lc_message_t m;
	lc_message_view(&m, NULL);
	CU_ASSERT_STRING_EQUAL(m.id, "");
	CU_ASSERT_STRING_EQUAL(m.room_id, "");
	CU_ASSERT_STRING_EQUAL(m.channel, "");
	CU_ASSERT_STRING_EQUAL(m.customer_id, "");
	CU_ASSERT_STRING_EQUAL(m.text, "");
	CU_ASSERT_PTR_NULL(m.author);
	CU_ASSERT_EQUAL(m.seq, 0);
	CU_ASSERT_EQUAL(m.ts_ms, 0);
	CU_ASSERT_EQUAL(m.sender, LC_SENDER_UNKNOWN);

	json_object *o = json_tokener_parse(
		"{\"id\":5,\"seq\":\"7\",\"sender\":\"robot\",\"text\":[],\"ts\":\"yesterday\"}");
	lc_message_view(&m, o);
	CU_ASSERT_STRING_EQUAL(m.id, "");
	CU_ASSERT_EQUAL(m.seq, 0);
	CU_ASSERT_EQUAL(m.sender, LC_SENDER_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(m.text, "");
	CU_ASSERT_EQUAL(m.ts_ms, 0);
	json_object_put(o);
}

int init_message_tests(void)
{
	CU_pSuite s = CU_add_suite("lc_message", NULL, NULL);
	if (s == NULL)
		return -1;
	if (!CU_add_test(s, "sender names round trip", test_sender_names_round_trip) ||
	    !CU_add_test(s, "unknown sender has no name", test_unknown_sender_has_no_name) ||
	    !CU_add_test(s, "view reads every field of a stored message",
			 test_view_reads_every_field_of_a_stored_message) ||
	    !CU_add_test(s, "view of a system message with null author",
			 test_view_of_a_system_message_with_null_author) ||
	    !CU_add_test(s, "view of nothing or wrong types is empty",
			 test_view_of_nothing_or_wrong_types_is_empty))
		return -1;
	return 0;
}
