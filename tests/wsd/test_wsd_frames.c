/* SPDX-License-Identifier: MIT */
/* CUnit tests of wsd/frames.c, the checks every websocket frame goes through before its row's
 * handler (ready, known type, rate, permission, rules, job cap) and the errors they answer.
 * Pure logic: no servers, no libwebsockets loop; the module is linked from libwsd.a and
 * driven with a table of its own and a gate that counts what it was asked. */
#include "config.h"
#include "frames.h"
#include "wsd_unit_tests.h"
#include "lc_json.h"

#include <CUnit/Basic.h>

static void handler(wsd_conn_t *c, json_object *frame, json_object *ref)
{
}

static const lc_vrule_t room_rules[] = {
	{ "room_id", LC_V_STRING, true, 1, 64, &lc_vpattern_id, NULL }, LC_VRULE_END
};
static const lc_vrule_t message_rules[] = {
	{ "room_id", LC_V_STRING, true, 1, 64, &lc_vpattern_id, NULL },
	{ "id", LC_V_STRING, true, 1, 64, &lc_vpattern_id, NULL },
	{ "text", LC_V_STRING, true, 1, 10, NULL, NULL },
	LC_VRULE_END
};

static const wsd_frame_row_t rows[] = {
	{ .type = "hello", .flags = WSD_FRAME_EARLY, .handler = handler },
	{ .type = "accept", .perm = WSD_P_ACCEPT, .rules = room_rules, .flags = WSD_FRAME_JOB,
	  .handler = handler },
	{ .type = "message", .rules = message_rules, .flags = WSD_FRAME_NAMES_ID, .handler = handler },
	{ .type = "typing", .rules = room_rules, .flags = WSD_FRAME_RATE, .handler = handler },
	{ .type = "send", .rules = message_rules, .flags = WSD_FRAME_NAMES_ID | WSD_FRAME_PUBLISHES,
	  .handler = handler },
	{ .type = NULL }
};

static const wsd_frame_table_t table = {
	.rows = rows, .names_room = true, .not_ready = "wait for hello",
	.rate_limited = "slow down",
};

/* The connection as the decision sees it: answers and how often each budget was asked. */
typedef struct gate_state {
	bool rate_ok, job_ok;
	int rate_asked, job_asked;
} gate_state_t;

static bool rate_take(void *ctx)
{
	gate_state_t *g = ctx;
	g->rate_asked++;
	return g->rate_ok;
}

static bool job_room(void *ctx)
{
	gate_state_t *g = ctx;
	g->job_asked++;
	return g->job_ok;
}

static gate_state_t state;
static wsd_frame_gate_t gate;

static int setup(void)
{
	state = (gate_state_t){ .rate_ok = true, .job_ok = true };
	gate = (wsd_frame_gate_t){ .ready = true, .perms = WSD_P_ACCEPT | WSD_P_MONITOR,
				   .rate_take = rate_take, .job_room = job_room, .ctx = &state };
	return 0;
}

/* Decide on the frame given as JSON text; *no is cleared by the caller. */
static const wsd_frame_row_t *decide(const char *json, wsd_frame_refusal_t *no, json_object **frame)
{
	*frame = json_tokener_parse(json);
	CU_ASSERT_PTR_NOT_NULL_FATAL(*frame);
	return wsd_frames_decide(&table, lc_json_get_str(*frame, "type", NULL), *frame, &gate, no);
}

static void test_a_known_type_gets_its_row(void)
{
	setup();
	wsd_frame_refusal_t no;
	json_object *f;
	const wsd_frame_row_t *row = decide("{\"type\":\"accept\",\"room_id\":\"r1\"}", &no, &f);
	CU_ASSERT_PTR_EQUAL(row, &rows[1]);
	CU_ASSERT_PTR_NULL(no.code);
	CU_ASSERT_EQUAL(state.job_asked, 1);
	CU_ASSERT_EQUAL(state.rate_asked, 0);
	CU_ASSERT_PTR_EQUAL(wsd_frames_find(&table, "typing"), &rows[3]);
	CU_ASSERT_PTR_NULL(wsd_frames_find(&table, NULL));
	wsd_frame_refusal_clear(&no);
	json_object_put(f);
}

static void test_an_unknown_type_is_refused_unknown_type_naming_nothing(void)
{
	setup();
	wsd_frame_refusal_t no;
	json_object *f;
	CU_ASSERT_PTR_NULL(decide("{\"type\":\"acept\",\"room_id\":\"r1\"}", &no, &f));
	CU_ASSERT_STRING_EQUAL(no.code, "unknown_type");
	CU_ASSERT_STRING_EQUAL(no.message, "unknown frame type");
	CU_ASSERT_PTR_NULL(no.room_id);
	CU_ASSERT_PTR_NULL(no.id);
	wsd_frame_refusal_clear(&no);
	json_object_put(f);
}

static void test_before_ready_only_early_rows_run(void)
{
	setup();
	gate.ready = false;
	wsd_frame_refusal_t no;
	json_object *f;
	CU_ASSERT_PTR_NULL(decide("{\"type\":\"message\",\"room_id\":\"r1\",\"id\":\"m1\"}", &no, &f));
	CU_ASSERT_STRING_EQUAL(no.code, "not_ready");
	CU_ASSERT_STRING_EQUAL(no.message, "wait for hello");
	CU_ASSERT_STRING_EQUAL(no.room_id, "r1");
	CU_ASSERT_STRING_EQUAL(no.id, "m1");
	wsd_frame_refusal_clear(&no);
	json_object_put(f);
	/* Before hello an unknown type is not_ready too: nothing is answered but that. */
	CU_ASSERT_PTR_NULL(decide("{\"type\":\"nope\"}", &no, &f));
	CU_ASSERT_STRING_EQUAL(no.code, "not_ready");
	wsd_frame_refusal_clear(&no);
	json_object_put(f);
	CU_ASSERT_PTR_EQUAL(decide("{\"type\":\"hello\"}", &no, &f), &rows[0]);
	wsd_frame_refusal_clear(&no);
	json_object_put(f);
}

static void test_a_missing_permission_is_refused_forbidden_naming_it(void)
{
	setup();
	gate.perms = WSD_P_MONITOR;
	wsd_frame_refusal_t no;
	json_object *f;
	CU_ASSERT_PTR_NULL(decide("{\"type\":\"accept\",\"room_id\":\"r1\"}", &no, &f));
	CU_ASSERT_STRING_EQUAL(no.code, "forbidden");
	CU_ASSERT_STRING_EQUAL(no.message, "permission chats.accept required");
	CU_ASSERT_PTR_NULL(no.room_id);
	CU_ASSERT_EQUAL(state.job_asked, 0);   /* refused before it could count as a job */
	wsd_frame_refusal_clear(&no);
	json_object_put(f);
}

static void test_a_frame_failing_its_rules_is_refused_naming_the_field(void)
{
	setup();
	wsd_frame_refusal_t no;
	json_object *f;
	CU_ASSERT_PTR_NULL(decide("{\"type\":\"message\",\"room_id\":\"r1\",\"id\":\"m1\","
				  "\"text\":\"far too long a text\"}", &no, &f));
	CU_ASSERT_STRING_EQUAL(no.code, "validation_failed");
	CU_ASSERT_NSTRING_EQUAL(no.message, "text: ", 6);
	CU_ASSERT_STRING_EQUAL(no.room_id, "r1");   /* well-formed: the client learns which */
	CU_ASSERT_STRING_EQUAL(no.id, "m1");
	wsd_frame_refusal_clear(&no);
	json_object_put(f);
	CU_ASSERT_PTR_NULL(decide("{\"type\":\"accept\"}", &no, &f));
	CU_ASSERT_STRING_EQUAL(no.message, "room_id: is required");
	wsd_frame_refusal_clear(&no);
	json_object_put(f);
}

static void test_a_malformed_room_id_is_not_echoed(void)
{
	setup();
	wsd_frame_refusal_t no;
	json_object *f;
	CU_ASSERT_PTR_NULL(decide("{\"type\":\"accept\",\"room_id\":\"<script>\"}", &no, &f));
	CU_ASSERT_STRING_EQUAL(no.code, "validation_failed");
	CU_ASSERT_PTR_NULL(no.room_id);
	wsd_frame_refusal_clear(&no);
	json_object_put(f);
}

static void test_only_rate_rows_spend_the_bucket_before_their_rules(void)
{
	setup();
	state.rate_ok = false;
	wsd_frame_refusal_t no;
	json_object *f;
	/* Malformed and over the rate: rate_limited, as the bucket is checked first. */
	CU_ASSERT_PTR_NULL(decide("{\"type\":\"typing\"}", &no, &f));
	CU_ASSERT_STRING_EQUAL(no.code, "rate_limited");
	CU_ASSERT_STRING_EQUAL(no.message, "slow down");
	CU_ASSERT_EQUAL(state.rate_asked, 1);
	wsd_frame_refusal_clear(&no);
	json_object_put(f);
	CU_ASSERT_PTR_EQUAL(decide("{\"type\":\"accept\",\"room_id\":\"r1\"}", &no, &f), &rows[1]);
	CU_ASSERT_EQUAL(state.rate_asked, 1);
	wsd_frame_refusal_clear(&no);
	json_object_put(f);
}

static void test_a_job_row_past_the_cap_is_refused_busy_naming_the_room(void)
{
	setup();
	state.job_ok = false;
	wsd_frame_refusal_t no;
	json_object *f;
	CU_ASSERT_PTR_NULL(decide("{\"type\":\"accept\",\"room_id\":\"r1\"}", &no, &f));
	CU_ASSERT_STRING_EQUAL(no.code, "busy");
	CU_ASSERT_STRING_EQUAL(no.message, WSD_FRAME_BUSY);
	CU_ASSERT_STRING_EQUAL(no.room_id, "r1");
	wsd_frame_refusal_clear(&no);
	json_object_put(f);
	/* Rows without the flag never ask. */
	CU_ASSERT_PTR_EQUAL(decide("{\"type\":\"message\",\"room_id\":\"r1\",\"id\":\"m1\","
				   "\"text\":\"hi\"}", &no, &f), &rows[2]);
	CU_ASSERT_EQUAL(state.job_asked, 1);
	wsd_frame_refusal_clear(&no);
	json_object_put(f);
}

static void test_a_publishing_row_while_the_bus_is_full_is_refused_unavailable_naming_it(void)
{
	setup();
	gate.bus_full = true;
	wsd_frame_refusal_t no;
	json_object *f;
	CU_ASSERT_PTR_NULL(decide("{\"type\":\"send\",\"room_id\":\"r1\",\"id\":\"m1\","
				  "\"text\":\"hi\"}", &no, &f));
	CU_ASSERT_STRING_EQUAL(no.code, "unavailable");
	CU_ASSERT_STRING_EQUAL(no.message, WSD_FRAME_BUS_FULL);
	CU_ASSERT_STRING_EQUAL(no.room_id, "r1");
	CU_ASSERT_STRING_EQUAL(no.id, "m1");
	wsd_frame_refusal_clear(&no);
	json_object_put(f);
	/* Rows without the flag run; with the bus back the row runs. */
	CU_ASSERT_PTR_EQUAL(decide("{\"type\":\"message\",\"room_id\":\"r1\",\"id\":\"m1\","
				   "\"text\":\"hi\"}", &no, &f), &rows[2]);
	wsd_frame_refusal_clear(&no);
	json_object_put(f);
	gate.bus_full = false;
	CU_ASSERT_PTR_EQUAL(decide("{\"type\":\"send\",\"room_id\":\"r1\",\"id\":\"m1\","
				   "\"text\":\"hi\"}", &no, &f), &rows[4]);
	wsd_frame_refusal_clear(&no);
	json_object_put(f);
}

static void test_permission_bits_follow_the_names(void)
{
	json_object *perms = json_tokener_parse("[\"chats.monitor\",\"canned.all\",\"other\"]");
	CU_ASSERT_EQUAL(wsd_frames_perm_bits(perms), WSD_P_MONITOR | WSD_P_CANNED_ALL);
	CU_ASSERT_STRING_EQUAL(wsd_frames_perm_name(WSD_P_END_ANY), "chats.end_any");
	CU_ASSERT_PTR_NULL(wsd_frames_perm_name(0x8000u));
	json_object_put(perms);
}

int init_wsd_frames_tests(void)
{
	CU_pSuite s = CU_add_suite("wsd_frames", NULL, NULL);
	if (s == NULL)
		return -1;
	if (!CU_add_test(s, "a known type gets its row", test_a_known_type_gets_its_row) ||
	    !CU_add_test(s, "an unknown type is refused unknown_type naming nothing",
			 test_an_unknown_type_is_refused_unknown_type_naming_nothing) ||
	    !CU_add_test(s, "before ready only early rows run", test_before_ready_only_early_rows_run) ||
	    !CU_add_test(s, "a missing permission is refused forbidden naming it",
			 test_a_missing_permission_is_refused_forbidden_naming_it) ||
	    !CU_add_test(s, "a frame failing its rules is refused naming the field",
			 test_a_frame_failing_its_rules_is_refused_naming_the_field) ||
	    !CU_add_test(s, "a malformed room_id is not echoed", test_a_malformed_room_id_is_not_echoed) ||
	    !CU_add_test(s, "only rate rows spend the bucket, before their rules",
			 test_only_rate_rows_spend_the_bucket_before_their_rules) ||
	    !CU_add_test(s, "a job row past the cap is refused busy naming the room",
			 test_a_job_row_past_the_cap_is_refused_busy_naming_the_room) ||
	    !CU_add_test(s, "a publishing row while the bus is full is refused unavailable naming it",
			 test_a_publishing_row_while_the_bus_is_full_is_refused_unavailable_naming_it) ||
	    !CU_add_test(s, "permission bits follow the names", test_permission_bits_follow_the_names))
		return -1;
	return 0;
}
