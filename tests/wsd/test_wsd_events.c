/* SPDX-License-Identifier: MIT */
/* CUnit tests of wsd/events.c, the one builder of each room event (session_ended, ended,
 * withdrawn, the outbound messages and the widget frames they become, the event of a stored
 * message), of the room status names (shared/lc_room_status.c) and of the customer_left_message
 * setting. Pure logic: no servers. Linked from libwsd.a. */
#include "config.h"
#include "events.h"
#include "wsd_unit_tests.h"
#include "lc_json.h"
#include "lc_settings.h"

#include <CUnit/Basic.h>
#include <stdlib.h>

static const char *const engaged_room =
	"{\"id\":\"r1\",\"channel\":\"telegram\",\"customer_id\":\"c9\",\"customer_name\":\"Alice\","
	"\"status\":\"engaged\",\"agent_id\":\"u7\",\"agent_name\":\"Bob\"}";
static const char *const unclaimed_room =
	"{\"id\":\"r2\",\"channel\":\"widget\",\"customer_id\":\"c8\",\"customer_name\":\"Carol\","
	"\"status\":\"closed\",\"agent_id\":\"-\",\"close_reason\":\"no_agent\"}";

/* The JSON text of o (plain, key order as built), then o put. Returned string is static. */
static const char *text_of(json_object *o)
{
	static char buf[1024];
	snprintf(buf, sizeof buf, "%s", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return buf;
}

static void test_room_view_reads_every_field_once(void)
{
	json_object *room = json_tokener_parse(engaged_room);
	wsd_room_view_t v;
	wsd_room_view(&v, room);
	CU_ASSERT_STRING_EQUAL(v.id, "r1");
	CU_ASSERT_STRING_EQUAL(v.channel, "telegram");
	CU_ASSERT_STRING_EQUAL(v.customer_id, "c9");
	CU_ASSERT_STRING_EQUAL(v.customer_name, "Alice");
	CU_ASSERT_EQUAL(v.status, LC_ROOM_ENGAGED);
	CU_ASSERT_STRING_EQUAL(v.agent_id, "u7");
	CU_ASSERT_STRING_EQUAL(v.agent_name, "Bob");
	CU_ASSERT_PTR_NULL(v.close_reason);
	json_object_put(room);
}

static void test_room_view_of_the_no_agent_marker_has_no_agent(void)
{
	json_object *room = json_tokener_parse(unclaimed_room);
	wsd_room_view_t v;
	wsd_room_view(&v, room);
	CU_ASSERT_PTR_NULL(v.agent_id);
	CU_ASSERT_EQUAL(v.status, LC_ROOM_CLOSED);
	CU_ASSERT_STRING_EQUAL(v.close_reason, "no_agent");
	json_object_put(room);
	wsd_room_view(&v, NULL);
	CU_ASSERT_STRING_EQUAL(v.id, "");
	CU_ASSERT_STRING_EQUAL(v.customer_name, "");
	CU_ASSERT_EQUAL(v.status, LC_ROOM_UNKNOWN);
	CU_ASSERT_PTR_NULL(v.agent_id);
}

static void test_session_ended_carries_message_reason_and_text(void)
{
	json_object *room = json_tokener_parse(engaged_room);
	wsd_room_view_t v;
	wsd_room_view(&v, room);
	wsd_event_t e = { .room = &v, .id = "r1-end", .ts = 1000, .has_seq = true, .seq = 5,
			  .reason = "agent_ended", .text = "Bob has ended the chat." };
	CU_ASSERT_STRING_EQUAL(text_of(wsd_event_session_ended(&e)),
		"{\"type\":\"session_ended\",\"id\":\"r1-end\",\"channel\":\"telegram\","
		"\"customer_id\":\"c9\",\"ts\":1000,\"room_id\":\"r1\",\"seq\":5,"
		"\"reason\":\"agent_ended\",\"text\":\"Bob has ended the chat.\"}");
	json_object_put(room);
}

static void test_session_ended_without_message_uses_the_given_id_and_empty_text(void)
{
	json_object *room = json_tokener_parse(unclaimed_room);
	wsd_room_view_t v;
	wsd_room_view(&v, room);
	wsd_event_t e = { .room = &v, .id = "r2-left", .ts = 7, .reason = "customer_left" };
	CU_ASSERT_STRING_EQUAL(text_of(wsd_event_session_ended(&e)),
		"{\"type\":\"session_ended\",\"id\":\"r2-left\",\"channel\":\"widget\","
		"\"customer_id\":\"c8\",\"ts\":7,\"room_id\":\"r2\",\"reason\":\"customer_left\","
		"\"text\":\"\"}");
	e.id = NULL;   /* no id: the room's */
	json_object *o = wsd_event_session_ended(&e);
	CU_ASSERT_STRING_EQUAL(lc_json_get_str(o, "id", ""), "r2");
	json_object_put(o);
	json_object_put(room);
}

static void test_event_of_a_stored_message_carries_its_id_seq_ts_and_text(void)
{
	json_object *room = json_tokener_parse(engaged_room);
	json_object *stored = json_tokener_parse(
		"{\"id\":\"r1-join\",\"room_id\":\"r1\",\"seq\":3,\"sender\":\"system\","
		"\"author\":null,\"text\":\"Bob joined.\",\"ts\":1234}");
	wsd_room_view_t v;
	wsd_room_view(&v, room);
	lc_message_t m;
	lc_message_view(&m, stored);
	wsd_event_t e;
	wsd_event_message(&e, &v, &m);
	e.agent_id = v.agent_id;
	e.agent_name = v.agent_name;
	CU_ASSERT_STRING_EQUAL(text_of(wsd_event_outbound("agent_joined", &e)),
		"{\"type\":\"agent_joined\",\"id\":\"r1-join\",\"channel\":\"telegram\","
		"\"customer_id\":\"c9\",\"ts\":1234,\"room_id\":\"r1\",\"seq\":3,"
		"\"agent\":{\"id\":\"u7\",\"name\":\"Bob\"},\"text\":\"Bob joined.\"}");
	json_object_put(stored);
	/* No message: the room's id, no seq, no text. */
	lc_message_view(&m, NULL);
	wsd_event_message(&e, &v, &m);
	CU_ASSERT_STRING_EQUAL(text_of(wsd_event_outbound("request_waiting", &e)),
		"{\"type\":\"request_waiting\",\"id\":\"r1\",\"channel\":\"telegram\","
		"\"customer_id\":\"c9\",\"ts\":0,\"room_id\":\"r1\",\"text\":\"\"}");
	json_object_put(room);
}

static void test_ended_names_the_agent_only_when_there_is_one(void)
{
	json_object *room = json_tokener_parse(engaged_room);
	wsd_room_view_t v;
	wsd_room_view(&v, room);
	wsd_event_t e = { .room = &v, .reason = "customer_left", .text = "Alice has left the chat.",
			  .agent_id = v.agent_id };
	CU_ASSERT_STRING_EQUAL(text_of(wsd_event_ended(&e)),
		"{\"type\":\"ended\",\"room_id\":\"r1\",\"reason\":\"customer_left\","
		"\"text\":\"Alice has left the chat.\",\"agent_id\":\"u7\"}");
	e.agent_id = NULL;
	e.text = NULL;
	CU_ASSERT_STRING_EQUAL(text_of(wsd_event_ended(&e)),
		"{\"type\":\"ended\",\"room_id\":\"r1\",\"reason\":\"customer_left\",\"text\":\"\"}");
	json_object_put(room);
}

static void test_withdrawn_is_room_and_reason(void)
{
	json_object *room = json_tokener_parse(unclaimed_room);
	wsd_room_view_t v;
	wsd_room_view(&v, room);
	wsd_event_t e = { .room = &v, .reason = "no_agent", .text = "ignored" };
	CU_ASSERT_STRING_EQUAL(text_of(wsd_event_withdrawn(&e)),
		"{\"type\":\"withdrawn\",\"room_id\":\"r2\",\"reason\":\"no_agent\"}");
	json_object_put(room);
}

static void test_request_withdrawn_and_taken_name_the_room(void)
{
	wsd_room_view_t v = { .id = "r3" };
	wsd_event_t e = { .room = &v, .reason = "declined", .agent_id = "u1" };
	CU_ASSERT_STRING_EQUAL(text_of(wsd_event_request_withdrawn(&e)),
		"{\"type\":\"request_withdrawn\",\"room_id\":\"r3\",\"reason\":\"declined\"}");
	CU_ASSERT_STRING_EQUAL(text_of(wsd_event_taken(&e)),
		"{\"type\":\"taken\",\"room_id\":\"r3\",\"agent_id\":\"u1\"}");
}

static void test_declined_names_the_room_and_the_agent_who_declined(void)
{
	wsd_room_view_t v = { .id = "r4" };
	wsd_event_t e = { .room = &v, .reason = "ignored", .agent_id = "u2" };
	CU_ASSERT_STRING_EQUAL(text_of(wsd_event_declined(&e)),
		"{\"type\":\"declined\",\"room_id\":\"r4\",\"user_id\":\"u2\"}");
}

static void test_agent_joined_carries_the_agent_and_no_reason(void)
{
	json_object *room = json_tokener_parse(engaged_room);
	wsd_room_view_t v;
	wsd_room_view(&v, room);
	wsd_event_t e = { .room = &v, .id = "r1-join", .ts = 3, .has_seq = true, .seq = 2,
			  .reason = "ignored", .text = "Bob has entered the chat",
			  .agent_id = "u7", .agent_name = "Bob" };
	CU_ASSERT_STRING_EQUAL(text_of(wsd_event_outbound("agent_joined", &e)),
		"{\"type\":\"agent_joined\",\"id\":\"r1-join\",\"channel\":\"telegram\","
		"\"customer_id\":\"c9\",\"ts\":3,\"room_id\":\"r1\",\"seq\":2,"
		"\"agent\":{\"id\":\"u7\",\"name\":\"Bob\"},\"text\":\"Bob has entered the chat\"}");
	json_object_put(room);
}

/* The widget frame of an outbound message given as JSON text. */
static const char *widget_of(const char *outbound)
{
	json_object *o = json_tokener_parse(outbound);
	json_object *f = wsd_event_widget_frame(o);
	json_object_put(o);
	return f ? text_of(f) : "NULL";
}

static void test_outbound_messages_become_the_documented_widget_frames(void)
{
	CU_ASSERT_STRING_EQUAL(widget_of(
		"{\"type\":\"request_waiting\",\"id\":\"r-waiting\",\"room_id\":\"r\",\"seq\":1,"
		"\"text\":\"Please wait\"}"),
		"{\"type\":\"waiting\",\"room_id\":\"r\",\"seq\":1,\"text\":\"Please wait\"}");
	CU_ASSERT_STRING_EQUAL(widget_of(
		"{\"type\":\"agent_joined\",\"room_id\":\"r\",\"seq\":2,"
		"\"agent\":{\"id\":\"u\",\"name\":\"Bob\"},\"text\":\"Bob is here\"}"),
		"{\"type\":\"joined\",\"room_id\":\"r\",\"seq\":2,\"agent_name\":\"Bob\","
		"\"text\":\"Bob is here\"}");
	CU_ASSERT_STRING_EQUAL(widget_of(
		"{\"type\":\"session_ended\",\"room_id\":\"r\",\"seq\":3,\"reason\":\"agent_ended\","
		"\"text\":\"Bye\"}"),
		"{\"type\":\"ended\",\"room_id\":\"r\",\"seq\":3,\"reason\":\"agent_ended\","
		"\"text\":\"Bye\"}");
	CU_ASSERT_STRING_EQUAL(widget_of(
		"{\"type\":\"agent_message\",\"id\":\"m1\",\"room_id\":\"r\",\"seq\":4,\"ts\":9,"
		"\"agent\":{\"id\":\"u\",\"name\":\"Bob\"},\"text\":\"Hi\"}"),
		"{\"type\":\"message\",\"room_id\":\"r\",\"message\":{\"id\":\"m1\",\"room_id\":\"r\","
		"\"seq\":4,\"sender\":\"agent\",\"author\":\"Bob\",\"text\":\"Hi\",\"ts\":9}}");
	CU_ASSERT_STRING_EQUAL(widget_of(
		"{\"type\":\"agent_typing\",\"room_id\":\"r\",\"state\":false}"),
		"{\"type\":\"typing\",\"room_id\":\"r\",\"state\":false}");
	CU_ASSERT_STRING_EQUAL(widget_of("{\"type\":\"offer\",\"room_id\":\"r\"}"), "NULL");
}

static void test_ended_text_comes_from_the_setting_of_its_reason(void)
{
	CU_ASSERT_STRING_EQUAL(wsd_event_ended_setting("agent_ended"), "end_message_agent");
	CU_ASSERT_STRING_EQUAL(wsd_event_ended_setting("customer_left"), "customer_left_message");
	CU_ASSERT_PTR_NULL(wsd_event_ended_setting("no_agent"));
	CU_ASSERT_PTR_NULL(wsd_event_ended_setting("agent_disconnected"));
	CU_ASSERT_PTR_NULL(wsd_event_ended_setting(NULL));
}

static void test_customer_left_default_renders_the_old_fixed_text(void)
{
	json_object *d = lc_settings_defaults();
	char *t = lc_settings_render(lc_json_get_str(d, "customer_left_message", NULL), "Bob",
				     "Alice");
	CU_ASSERT_STRING_EQUAL(t, "Alice has left the chat.");
	free(t);
	t = lc_settings_render("{customer} left {agent}'s chat", "Bob", "Alice");
	CU_ASSERT_STRING_EQUAL(t, "Alice left Bob's chat");
	free(t);
	json_object_put(d);
}

static void test_room_status_names_round_trip(void)
{
	lc_room_status_t all[] = { LC_ROOM_WAITING, LC_ROOM_ENGAGED, LC_ROOM_CLOSED };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		CU_ASSERT_EQUAL(lc_room_status_parse(lc_room_status_name(all[i])), all[i]);
	CU_ASSERT_STRING_EQUAL(lc_room_status_name(LC_ROOM_ENGAGED), "engaged");
	CU_ASSERT_PTR_NULL(lc_room_status_name(LC_ROOM_UNKNOWN));
	CU_ASSERT_PTR_NULL(lc_room_status_name((lc_room_status_t)99));
	CU_ASSERT_EQUAL(lc_room_status_parse("Engaged"), LC_ROOM_UNKNOWN);
	CU_ASSERT_EQUAL(lc_room_status_parse(""), LC_ROOM_UNKNOWN);
	CU_ASSERT_EQUAL(lc_room_status_parse(NULL), LC_ROOM_UNKNOWN);
	json_object *room = json_tokener_parse(engaged_room);
	CU_ASSERT_EQUAL(wsd_room_status(room), LC_ROOM_ENGAGED);
	json_object_put(room);
	CU_ASSERT_EQUAL(wsd_room_status(NULL), LC_ROOM_UNKNOWN);
}

int init_wsd_events_tests(void)
{
	CU_pSuite s = CU_add_suite("wsd_events", NULL, NULL);
	if (s == NULL)
		return -1;
	CU_ADD_TEST(s, test_room_view_reads_every_field_once);
	CU_ADD_TEST(s, test_room_view_of_the_no_agent_marker_has_no_agent);
	CU_ADD_TEST(s, test_session_ended_carries_message_reason_and_text);
	CU_ADD_TEST(s, test_session_ended_without_message_uses_the_given_id_and_empty_text);
	CU_ADD_TEST(s, test_event_of_a_stored_message_carries_its_id_seq_ts_and_text);
	CU_ADD_TEST(s, test_ended_names_the_agent_only_when_there_is_one);
	CU_ADD_TEST(s, test_withdrawn_is_room_and_reason);
	CU_ADD_TEST(s, test_request_withdrawn_and_taken_name_the_room);
	CU_ADD_TEST(s, test_declined_names_the_room_and_the_agent_who_declined);
	CU_ADD_TEST(s, test_agent_joined_carries_the_agent_and_no_reason);
	CU_ADD_TEST(s, test_outbound_messages_become_the_documented_widget_frames);
	CU_ADD_TEST(s, test_ended_text_comes_from_the_setting_of_its_reason);
	CU_ADD_TEST(s, test_customer_left_default_renders_the_old_fixed_text);
	CU_ADD_TEST(s, test_room_status_names_round_trip);
	return 0;
}
