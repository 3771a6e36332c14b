/* SPDX-License-Identifier: MIT */
/* Store tests of the message path without queries (issue 8): operation counters, batched inserts
 * of many rooms with per-message results, seq blocks reserved with one write, message ids scoped
 * by room (issue 11 item 7), the open room of a customer found through its keyed pointer, and
 * the customer's recent messages kept in pieces across their rooms. */
#include "config.h"
#include "store_tests.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_time.h"

#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <CUnit/CUnit.h>

#define BATCH_ROOMS 3
#define BATCH_PER_ROOM 20

static uint64_t ops(lc_store_op_t kind)
{
	lc_store_stats_t st;
	lc_store_stats(test_store, &st);
	return kind == LC_STORE_OP_KINDS ? st.ops_total : st.ops[kind];
}

static void test_store_counts_each_operation_by_kind(void)
{
	lc_err_t err = { 0 };
	lc_store_stats_t before, after;
	json_object *room = NULL;
	char *cust = tuniq("count");
	char *id = topen_room(cust);
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);

	lc_store_stats(test_store, &before);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, id, &room, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_ping(test_store, &err), LC_OK);
	lc_store_stats(test_store, &after);
	/* The room and its counter (last_seq): two finds; the ping: one command. */
	CU_ASSERT_EQUAL(after.ops[LC_STORE_OP_FIND] - before.ops[LC_STORE_OP_FIND], 2);
	CU_ASSERT_EQUAL(after.ops[LC_STORE_OP_COMMAND] - before.ops[LC_STORE_OP_COMMAND], 1);
	CU_ASSERT_EQUAL(after.ops_total - before.ops_total, 3);
	CU_ASSERT_EQUAL(after.messages_stored, before.messages_stored);
	CU_ASSERT_STRING_EQUAL(lc_store_op_name(LC_STORE_OP_INSERT_MANY), "insert_many");
	json_object_put(room);
	free(id);
	free(cust);
}

static void test_batch_of_many_rooms_is_one_insert_many_with_a_result_each(void)
{
	lc_err_t err = { 0 };
	char *rooms[BATCH_ROOMS], *custs[BATCH_ROOMS];
	char ids[BATCH_ROOMS * BATCH_PER_ROOM][32];
	lc_store_msg_t m[BATCH_ROOMS * BATCH_PER_ROOM + 2];
	size_t n = 0;
	json_object *items = NULL, *stored = NULL;
	bool dup;

	memset(m, 0, sizeof m);
	for (int r = 0; r < BATCH_ROOMS; r++) {
		custs[r] = tuniq("batch");
		rooms[r] = topen_room(custs[r]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(rooms[r]);
	}
	/* Room 0 already has "m-0" (seq 1) from the one-by-one path. */
	CU_ASSERT_EQUAL_FATAL(lc_store_message_append(test_store, "m-0", rooms[0], "customer", "C",
						      "first", 0, &stored, &dup, &err), LC_OK);
	json_object_put(stored);
	for (int r = 0; r < BATCH_ROOMS; r++) {
		int64_t first = 0;
		CU_ASSERT_EQUAL_FATAL(lc_store_seq_reserve(test_store, rooms[r], BATCH_PER_ROOM,
							   &first, NULL, &err), LC_OK);
		CU_ASSERT_EQUAL(first, r == 0 ? 2 : 1);
		for (int i = 0; i < BATCH_PER_ROOM; i++, n++) {
			snprintf(ids[n], sizeof ids[n], "m-%d", i + 1);
			m[n] = (lc_store_msg_t){ .msg_id = ids[n], .room_id = rooms[r],
						 .channel = "widget", .customer_id = custs[r],
						 .sender = i % 2 ? "agent" : "customer", .author = "A",
						 .text = ids[n], .seq = first + i, .ts_ms = 0 };
		}
	}
	/* A redelivery of "m-0" (its seq is the one a new writer would give it) and a message
	 * whose seq is taken already. */
	m[n++] = (lc_store_msg_t){ .msg_id = "m-0", .room_id = rooms[0], .channel = "widget",
				   .customer_id = custs[0], .sender = "customer", .text = "first",
				   .seq = 900 };
	m[n++] = (lc_store_msg_t){ .msg_id = "other", .room_id = rooms[1], .channel = "widget",
				   .customer_id = custs[1], .sender = "customer", .text = "x",
				   .seq = 1 };

	uint64_t many0 = ops(LC_STORE_OP_INSERT_MANY), find0 = ops(LC_STORE_OP_FIND);
	uint64_t ins0 = ops(LC_STORE_OP_INSERT), up0 = ops(LC_STORE_OP_UPDATE);
	CU_ASSERT_EQUAL_FATAL(lc_store_message_insert_batch(test_store, m, n, &err), LC_OK);
	/* The messages in one insertMany up to the redelivery, one more for the message behind it;
	 * the pieces of the customers' recent: one; the rooms' last_seq marks and recent counts:
	 * one bulk write for all three rooms. */
	CU_ASSERT_EQUAL(ops(LC_STORE_OP_INSERT_MANY) - many0, 3);
	CU_ASSERT_EQUAL(ops(LC_STORE_OP_UPDATE) - up0, 1);
	CU_ASSERT_EQUAL(ops(LC_STORE_OP_INSERT), ins0);
	/* One _id lookup per refused message, to tell a redelivery from a taken seq, and one per
	 * room, its counter: how far its customer's recent goes (a batch stored without a room
	 * writer, who would know it). */
	CU_ASSERT_EQUAL(ops(LC_STORE_OP_FIND) - find0, 2 + BATCH_ROOMS);

	for (size_t i = 0; i < n - 2; i++) {
		CU_ASSERT_EQUAL(m[i].result, LC_STORE_MSG_STORED);
		CU_ASSERT_STRING_EQUAL(tstr(m[i].stored, "id"), m[i].msg_id);
		CU_ASSERT_EQUAL(tint(m[i].stored, "seq"), m[i].seq);
	}
	CU_ASSERT_EQUAL(m[n - 2].result, LC_STORE_MSG_DUPLICATE);
	CU_ASSERT_EQUAL(tint(m[n - 2].stored, "seq"), 1);
	CU_ASSERT_STRING_EQUAL(tstr(m[n - 2].stored, "id"), "m-0");
	CU_ASSERT_EQUAL(m[n - 1].result, LC_STORE_MSG_FAILED);
	CU_ASSERT_EQUAL(m[n - 1].err.code, LC_ERR_CONFLICT);
	CU_ASSERT_PTR_NULL(m[n - 1].stored);
	for (size_t i = 0; i < n; i++)
		json_object_put(m[i].stored);

	for (int r = 0; r < BATCH_ROOMS; r++) {
		json_object *doc = NULL;
		CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, rooms[r], &doc, &err), LC_OK);
		CU_ASSERT_EQUAL(tint(doc, "last_seq"), BATCH_PER_ROOM + (r == 0));
		json_object_put(doc);
		CU_ASSERT_EQUAL_FATAL(lc_store_message_list_after(test_store, rooms[r], -1, 0, &items,
								  &err), LC_OK);
		CU_ASSERT_EQUAL(json_object_array_length(items), BATCH_PER_ROOM + (r == 0));
		for (size_t i = 1; i < json_object_array_length(items); i++)
			CU_ASSERT_EQUAL(tint(json_object_array_get_idx(items, i), "seq"),
					tint(json_object_array_get_idx(items, i - 1), "seq") + 1);
		CU_ASSERT_STRING_EQUAL(tstr(json_object_array_get_idx(items, 1), "id"),
				       r == 0 ? "m-1" : "m-2");
		json_object_put(items);
		free(rooms[r]);
		free(custs[r]);
	}
}

static void test_batch_reports_each_invalid_message_and_stores_the_rest(void)
{
	lc_err_t err = { 0 };
	char *cust = tuniq("batchbad");
	char *room = topen_room(cust);
	CU_ASSERT_PTR_NOT_NULL_FATAL(room);
	lc_store_msg_t m[3] = {
		{ .msg_id = "ok", .room_id = room, .sender = "agent", .text = "t", .seq = 5 },
		{ .msg_id = "robot", .room_id = room, .sender = "robot", .text = "t", .seq = 6 },
		{ .msg_id = "noroom", .room_id = "nope", .sender = "agent", .text = "t", .seq = 7 },
	};
	CU_ASSERT_EQUAL_FATAL(lc_store_message_insert_batch(test_store, m, 3, &err), LC_OK);
	CU_ASSERT_EQUAL(m[0].result, LC_STORE_MSG_STORED);
	CU_ASSERT_EQUAL(m[1].result, LC_STORE_MSG_FAILED);
	CU_ASSERT_EQUAL(m[1].err.code, LC_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(m[1].err.field, "sender");
	CU_ASSERT_EQUAL(m[2].result, LC_STORE_MSG_FAILED);
	CU_ASSERT_EQUAL(m[2].err.code, LC_ERR_NOT_FOUND);
	for (int i = 0; i < 3; i++)
		json_object_put(m[i].stored);
	free(room);
	free(cust);
}

static void test_batch_against_a_server_that_is_down_is_unavailable_and_stores_nothing(void)
{
	lc_err_t err = { 0 };
	/* A port nobody listens on: the driver reports it after its server selection timeout. */
	lc_store_t *down = lc_store_new("mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300",
					"lc_test_down", &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(down);
	lc_store_msg_t m = { .msg_id = "x", .room_id = "0123456789abcdef01234567",
			     .sender = "agent", .text = "t", .seq = 1 };
	CU_ASSERT_EQUAL(lc_store_message_insert_batch(down, &m, 1, &err), LC_ERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(m.result, LC_STORE_MSG_FAILED);
	CU_ASSERT_EQUAL(m.err.code, LC_ERR_UNAVAILABLE);
	CU_ASSERT_PTR_NULL(m.stored);
	lc_store_free(&down);
}

static void test_seq_blocks_start_above_every_seq_handed_out(void)
{
	lc_err_t err = { 0 };
	json_object *msg = NULL;
	bool dup;
	int64_t first = 0, before = -1;
	char *cust = tuniq("blocks");
	char *room = topen_room(cust);
	CU_ASSERT_PTR_NOT_NULL_FATAL(room);

	CU_ASSERT_EQUAL(lc_store_message_append(test_store, "a", room, "customer", "C", "a", 0, NULL,
						&dup, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_message_append(test_store, "b", room, "customer", "C", "b", 0, NULL,
						&dup, &err), LC_OK);
	uint64_t fm0 = ops(LC_STORE_OP_FIND_MODIFY), all0 = ops(LC_STORE_OP_KINDS);
	CU_ASSERT_EQUAL_FATAL(lc_store_seq_reserve(test_store, room, 1000, &first, &before, &err),
			      LC_OK);
	/* Read both marks, then one write: once per room and writer, not per message. */
	CU_ASSERT_EQUAL(ops(LC_STORE_OP_FIND_MODIFY) - fm0, 1);
	CU_ASSERT_EQUAL(ops(LC_STORE_OP_KINDS) - all0, 2);
	CU_ASSERT_EQUAL(first, 3);
	CU_ASSERT_EQUAL(before, 2);
	/* A writer taking over (after a failover) starts above the old one's whole block. */
	CU_ASSERT_EQUAL_FATAL(lc_store_seq_reserve(test_store, room, 1000, &first, &before, &err),
			      LC_OK);
	CU_ASSERT_EQUAL(first, 1003);
	CU_ASSERT_EQUAL(before, 2);
	lc_store_msg_t m[2] = {
		{ .msg_id = "c", .room_id = room, .sender = "agent", .text = "c", .seq = first },
		{ .msg_id = "late", .room_id = room, .sender = "agent", .text = "z", .seq = 5 },
	};
	uint64_t up0 = ops(LC_STORE_OP_UPDATE);
	CU_ASSERT_EQUAL_FATAL(lc_store_message_insert_batch(test_store, m, 2, &err), LC_OK);
	CU_ASSERT_EQUAL(ops(LC_STORE_OP_UPDATE) - up0, 1);
	CU_ASSERT_EQUAL(m[0].result, LC_STORE_MSG_STORED);
	CU_ASSERT_EQUAL(m[1].result, LC_STORE_MSG_STORED);
	json_object_put(m[0].stored);
	json_object_put(m[1].stored);
	/* last_seq is the highest stored seq, never the reservation, and never goes down. */
	CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, room, &msg, &err), LC_OK);
	CU_ASSERT_EQUAL(tint(msg, "last_seq"), 1003);
	json_object_put(msg);
	CU_ASSERT_EQUAL_FATAL(lc_store_seq_reserve(test_store, room, 10, &first, &before, &err),
			      LC_OK);
	CU_ASSERT_EQUAL(first, 2003);
	CU_ASSERT_EQUAL(before, 1003);
	CU_ASSERT_EQUAL(lc_store_seq_reserve(test_store, room, 0, &first, NULL, &err), LC_ERR_INVALID);
	CU_ASSERT_EQUAL(lc_store_seq_reserve(test_store, "junk", 5, &first, NULL, &err),
			LC_ERR_NOT_FOUND);
	free(room);
	free(cust);
}

static void test_insert_many_leaves_last_seq_to_one_raise_of_many_rooms(void)
{
	lc_err_t err = { 0 };
	json_object *doc = NULL;
	char *c1 = tuniq("marks"), *c2 = tuniq("marks");
	char *r1 = topen_room(c1), *r2 = topen_room(c2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r2);
	lc_store_msg_t m[2] = {
		{ .msg_id = "x", .room_id = r1, .sender = "agent", .text = "x", .seq = 7 },
		{ .msg_id = "y", .room_id = r2, .sender = "agent", .text = "y", .seq = 9 },
	};
	uint64_t up0 = ops(LC_STORE_OP_UPDATE);
	CU_ASSERT_EQUAL_FATAL(lc_store_message_insert_many(test_store, m, 2, &err), LC_OK);
	CU_ASSERT_EQUAL(ops(LC_STORE_OP_UPDATE), up0);
	CU_ASSERT_EQUAL(m[0].result, LC_STORE_MSG_STORED);
	json_object_put(m[0].stored);
	json_object_put(m[1].stored);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, r1, &doc, &err), LC_OK);
	CU_ASSERT_EQUAL(tint(doc, "last_seq"), 0);
	json_object_put(doc);

	lc_store_mark_t marks[2] = { { .room_id = r1, .seq = 7, .recent = -1 },
				     { .room_id = r2, .seq = 9, .recent = -1 } };
	CU_ASSERT_EQUAL_FATAL(lc_store_marks_write(test_store, marks, 2, NULL, 0, &err), LC_OK);
	CU_ASSERT_EQUAL(ops(LC_STORE_OP_UPDATE) - up0, 1);
	lc_store_mark_t lower[2] = { { .room_id = r1, .seq = 3, .recent = -1 },
				     { .room_id = r2, .seq = 4, .recent = -1 } };
	CU_ASSERT_EQUAL_FATAL(lc_store_marks_write(test_store, lower, 2, NULL, 0, &err), LC_OK);
	int64_t last = 0, reserved = -1;
	CU_ASSERT_EQUAL_FATAL(lc_store_seq_marks(test_store, r2, &last, &reserved, &err), LC_OK);
	CU_ASSERT_EQUAL(last, 9);
	CU_ASSERT_EQUAL(reserved, 0);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, r1, &doc, &err), LC_OK);
	CU_ASSERT_EQUAL(tint(doc, "last_seq"), 7);
	json_object_put(doc);
	free(r1);
	free(r2);
	free(c1);
	free(c2);
}

static void test_same_message_id_in_two_rooms_is_two_messages(void)
{
	lc_err_t err = { 0 };
	json_object *a = NULL, *b = NULL, *got = NULL;
	bool dup = true;
	char *c1 = tuniq("scope"), *c2 = tuniq("scope");
	char *r1 = topen_room(c1), *r2 = topen_room(c2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r2);

	CU_ASSERT_EQUAL_FATAL(lc_store_message_append(test_store, "gw-1", r1, "customer", "C", "one",
						      0, &a, &dup, &err), LC_OK);
	CU_ASSERT_FALSE(dup);
	CU_ASSERT_EQUAL_FATAL(lc_store_message_append(test_store, "gw-1", r2, "customer", "C", "two",
						      0, &b, &dup, &err), LC_OK);
	CU_ASSERT_FALSE(dup);
	CU_ASSERT_STRING_EQUAL(tstr(b, "text"), "two");
	CU_ASSERT_STRING_EQUAL(tstr(b, "room_id"), r2);
	CU_ASSERT_STRING_EQUAL(tstr(b, "id"), "gw-1");
	CU_ASSERT_EQUAL_FATAL(lc_store_message_get(test_store, r1, "gw-1", &got, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(got, "text"), "one");
	CU_ASSERT_PTR_NULL(tstr(got, "msg_id"));
	json_object_put(got);
	CU_ASSERT_EQUAL(lc_store_message_get(test_store, r1, "gw-2", &got, &err), LC_ERR_NOT_FOUND);
	json_object_put(a);
	json_object_put(b);
	free(r1);
	free(r2);
	free(c1);
	free(c2);
}


/* Changes a customer's open_rooms pointer behind the store's back: deleted (room_hex NULL: a
 * writer that died between the room insert and the pointer's), or pointed at room_hex (one that
 * died between a new customer's pointer and their room's insert, when room_hex names none). */
static void set_pointer(const char *cust, const char *room_hex)
{
	char db[64], key[160];
	bson_error_t e;
	snprintf(db, sizeof db, "lc_test_store_%ld", (long)getpid());
	snprintf(key, sizeof key, "widget:%s", cust);
	mongoc_client_t *c = mongoc_client_new(test_mongo_uri);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	mongoc_collection_t *coll = mongoc_client_get_collection(c, db, "open_rooms");
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(key));
	if (room_hex == NULL) {
		CU_ASSERT_TRUE(mongoc_collection_delete_one(coll, filter, NULL, NULL, &e));
	} else {
		bson_t *update = BCON_NEW("$set", "{", "room_id", BCON_UTF8(room_hex), "}");
		bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
		CU_ASSERT_TRUE(mongoc_collection_update_one(coll, filter, update, opts, NULL, &e));
		bson_destroy(opts);
		bson_destroy(update);
	}
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(c);
}

/* A customer's first room costs three inserts (their pointer, the room, its counter) and no
 * read: on FerretDB 1.24 the read of a pointer that is not there scans every customer's. */
static void test_a_new_customers_room_opens_with_inserts_only(void)
{
	lc_err_t err = { 0 };
	json_object *room = NULL;
	bool created = false;
	char *cust = tuniq("newcomer");
	uint64_t ins0 = ops(LC_STORE_OP_INSERT), all0 = ops(LC_STORE_OP_KINDS);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_open(test_store, "widget", cust, "N", &room, &created,
						 &err), LC_OK);
	CU_ASSERT_TRUE(created);
	CU_ASSERT_EQUAL(ops(LC_STORE_OP_INSERT) - ins0, 3);
	CU_ASSERT_EQUAL(ops(LC_STORE_OP_KINDS) - all0, 3);
	char *id = strdup(tstr(room, "id"));
	json_object_put(room);
	room = NULL;
	CU_ASSERT_EQUAL_FATAL(lc_store_room_find_open(test_store, "widget", cust, &room, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(room, "id"), id);
	json_object_put(room);
	room = NULL;

	/* Opening again finds it (the pointer exists: its insert conflicts, then the reads). */
	CU_ASSERT_EQUAL_FATAL(lc_store_room_open(test_store, "widget", cust, "N", &room, &created,
						 &err), LC_OK);
	CU_ASSERT_FALSE(created);
	CU_ASSERT_STRING_EQUAL(tstr(room, "id"), id);
	json_object_put(room);
	free(id);
	free(cust);

	/* A pointer whose room never came reads as no open room; the next open makes one and
	 * points the pointer at it. */
	cust = tuniq("dangling");
	set_pointer(cust, "0123456789abcdef01234567");
	CU_ASSERT_EQUAL(lc_store_room_find_open(test_store, "widget", cust, &room, &err),
			LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_open(test_store, "widget", cust, "D", &room, &created,
						 &err), LC_OK);
	CU_ASSERT_TRUE(created);
	id = strdup(tstr(room, "id"));
	json_object_put(room);
	room = NULL;
	CU_ASSERT_STRING_NOT_EQUAL(id, "0123456789abcdef01234567");
	CU_ASSERT_EQUAL_FATAL(lc_store_room_find_open(test_store, "widget", cust, &room, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(room, "id"), id);
	json_object_put(room);
	free(id);
	free(cust);
}

static void test_open_room_is_found_by_id_lookups_and_its_pointer_repaired(void)
{
	lc_err_t err = { 0 };
	json_object *room = NULL;
	bool created = true;
	char *cust = tuniq("pointer");
	char *id = topen_room(cust);
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);

	uint64_t find0 = ops(LC_STORE_OP_FIND), all0 = ops(LC_STORE_OP_KINDS);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_find_open(test_store, "widget", cust, &room, &err), LC_OK);
	/* Pointer, room, counter: three lookups by _id, nothing else. */
	CU_ASSERT_EQUAL(ops(LC_STORE_OP_FIND) - find0, 3);
	CU_ASSERT_EQUAL(ops(LC_STORE_OP_KINDS) - all0, 3);
	CU_ASSERT_STRING_EQUAL(tstr(room, "id"), id);
	json_object_put(room);

	set_pointer(cust, NULL);
	CU_ASSERT_EQUAL(lc_store_room_find_open(test_store, "widget", cust, &room, &err),
			LC_ERR_NOT_FOUND);
	/* Opening again meets the open room on its unique key and writes the pointer back. */
	CU_ASSERT_EQUAL_FATAL(lc_store_room_open(test_store, "widget", cust, "B", &room, &created,
						 &err), LC_OK);
	CU_ASSERT_FALSE(created);
	CU_ASSERT_STRING_EQUAL(tstr(room, "id"), id);
	json_object_put(room);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_find_open(test_store, "widget", cust, &room, &err), LC_OK);
	json_object_put(room);

	/* lc_store_init gives pointers to open rooms that have none (an upgraded database). */
	set_pointer(cust, NULL);
	CU_ASSERT_EQUAL_FATAL(lc_store_init(test_store, &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_find_open(test_store, "widget", cust, &room, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(room, "id"), id);
	json_object_put(room);

	/* Closed: the pointer stays (to a closed room: no open room), and a new room gets its own. */
	CU_ASSERT_EQUAL_FATAL(lc_store_room_close(test_store, id, "customer_left", NULL, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_room_find_open(test_store, "widget", cust, &room, &err),
			LC_ERR_NOT_FOUND);
	char *next = topen_room(cust);
	CU_ASSERT_PTR_NOT_NULL_FATAL(next);
	CU_ASSERT_STRING_NOT_EQUAL(next, id);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_find_open(test_store, "widget", cust, &room, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(room, "id"), next);
	json_object_put(room);
	free(next);
	free(id);
	free(cust);
}

/* Store n messages "<tag> i" in room id without a room writer (what a node without RabbitMQ
 * does: one seq reserved, one insert, the marks and recent raised). */
static void store_direct(const char *id, const char *cust, const char *tag, int n)
{
	lc_err_t err = { 0 };
	for (int i = 0; i < n; i++) {
		int64_t seq = 0;
		char mid[64], text[64];
		snprintf(mid, sizeof mid, "%s-%d", tag, i);
		snprintf(text, sizeof text, "%s %d", tag, i);
		CU_ASSERT_EQUAL_FATAL(lc_store_seq_reserve(test_store, id, 1, &seq, NULL, &err), LC_OK);
		lc_store_msg_t m = { .msg_id = mid, .room_id = id, .channel = "widget",
				     .customer_id = cust, .sender = "customer", .text = text,
				     .seq = seq };
		CU_ASSERT_EQUAL_FATAL(lc_store_message_insert_batch(test_store, &m, 1, &err), LC_OK);
		CU_ASSERT_EQUAL(m.result, LC_STORE_MSG_STORED);
		json_object_put(m.stored);
	}
}

/* Whether collection coll of the test database holds a document with _id id (as an ObjectId
 * when oid). */
static bool raw_has(const char *coll_name, const char *id, bool oid)
{
	char db[64];
	bson_error_t e;
	bson_oid_t o;
	snprintf(db, sizeof db, "lc_test_store_%ld", (long)getpid());
	mongoc_client_t *c = mongoc_client_new(test_mongo_uri);
	mongoc_collection_t *coll = mongoc_client_get_collection(c, db, coll_name);
	bson_t *filter = bson_new();
	if (oid) {
		bson_oid_init_from_string(&o, id);
		BSON_APPEND_OID(filter, "_id", &o);
	} else {
		BSON_APPEND_UTF8(filter, "_id", id);
	}
	int64_t n = mongoc_collection_count_documents(coll, filter, NULL, NULL, NULL, &e);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(c);
	return n > 0;
}

/* A closed chat of a new customer (*cust, tuniq(tag)) with n messages "<tag> i": its room id. */
static char *closed_chat(const char *tag, int n, char **cust)
{
	lc_err_t err = { 0 };
	*cust = tuniq(tag);
	char *id = topen_room(*cust);
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	store_direct(id, *cust, tag, n);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_close(test_store, id, "customer_left", NULL, &err),
			      LC_OK);
	return id;
}

/* A closed room's counter leaves counters (which every flush updates: a scan on FerretDB) for
 * counters_closed, and every read of it answers as before: last_seq, the seq marks, the recent
 * count the customer's next room goes on from, and a seq block reserved after (above). */
static void test_a_retired_counter_leaves_counters_and_reads_the_same(void)
{
	lc_err_t err = { 0 };
	json_object *doc = NULL;
	char *cust = NULL;
	char *first = closed_chat("retire", 13, &cust);
	CU_ASSERT_TRUE(raw_has("counters", first, false));
	CU_ASSERT_EQUAL_FATAL(lc_store_counter_retire(test_store, first, &err), LC_OK);
	CU_ASSERT_FALSE(raw_has("counters", first, false));
	CU_ASSERT_TRUE(raw_has("counters_closed", first, false));
	CU_ASSERT_EQUAL(lc_store_counter_retire(test_store, first, &err), LC_OK);   /* again: nothing */

	int64_t last = 0, reserved = 0, count = -1;
	CU_ASSERT_EQUAL(lc_store_seq_marks(test_store, first, &last, &reserved, &err), LC_OK);
	CU_ASSERT_EQUAL(last, 13);
	CU_ASSERT_EQUAL(lc_store_recent_count(test_store, first, &count, &err), LC_OK);
	CU_ASSERT_EQUAL(count, 13);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, first, &doc, &err), LC_OK);
	CU_ASSERT_EQUAL(tint(doc, "last_seq"), 13);
	json_object_put(doc);

	char *next = topen_room(cust);
	CU_ASSERT_PTR_NOT_NULL_FATAL(next);
	CU_ASSERT_EQUAL(lc_store_recent_count(test_store, next, &count, &err), LC_OK);
	CU_ASSERT_EQUAL(count, 13);   /* the chain goes on */

	/* A late message for the retired room: its block starts above everything reserved. */
	int64_t seq = 0;
	CU_ASSERT_EQUAL(lc_store_seq_reserve(test_store, first, 5, &seq, NULL, &err), LC_OK);
	CU_ASSERT_TRUE(seq > reserved && seq > 13);
	free(next);
	free(first);
	free(cust);
}

/* Whether every room of list is newest first (created_at, then id) and none comes twice. */
static bool list_in_order(json_object *items)
{
	for (size_t i = 1; i < json_object_array_length(items); i++) {
		json_object *a = json_object_array_get_idx(items, i - 1);
		json_object *b = json_object_array_get_idx(items, i);
		int64_t ta = tint(a, "created_at"), tb = tint(b, "created_at");
		if (ta < tb || (ta == tb && strcmp(tstr(a, "id"), tstr(b, "id")) <= 0))
			return false;
	}
	return true;
}

/* A closed room moved to rooms_closed (lc_store_room_retire) reads as before by id, refuses
 * claims and closes as a closed room does, and is in the lists (once, in order, the paging
 * across both collections seamless), the export and the purge. */
static void test_a_retired_room_leaves_rooms_and_reads_the_same(void)
{
	lc_err_t err = { 0 };
	json_object *doc = NULL, *items = NULL, *page = NULL;
	int64_t total = 0, total2 = 0;
	char *cust = NULL;
	char *first = closed_chat("retroom", 3, &cust);
	/* The close left its revision's gate (room_modify); the retirement takes it away. */
	char gate[64];
	snprintf(gate, sizeof gate, "%s:0", first);
	CU_ASSERT_TRUE(raw_has("room_gates", gate, false));
	CU_ASSERT_EQUAL(lc_store_room_retire(test_store, first, &err), LC_OK);
	CU_ASSERT_FALSE(raw_has("room_gates", gate, false));
	CU_ASSERT_EQUAL(lc_store_counter_retire(test_store, first, &err), LC_OK);
	CU_ASSERT_FALSE(raw_has("rooms", first, true));
	CU_ASSERT_TRUE(raw_has("rooms_closed", first, true));
	CU_ASSERT_EQUAL(lc_store_room_retire(test_store, first, &err), LC_OK);   /* again: nothing */

	CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, first, &doc, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(doc, "status"), "closed");
	CU_ASSERT_STRING_EQUAL(tstr(doc, "close_reason"), "customer_left");
	CU_ASSERT_EQUAL(tint(doc, "last_seq"), 3);
	CU_ASSERT_FALSE(json_object_object_get_ex(doc, "open_key", NULL));
	json_object_put(doc);
	CU_ASSERT_EQUAL(lc_store_room_claim(test_store, first, "agent-x", "X", NULL, &err),
			LC_ERR_CONFLICT);
	CU_ASSERT_EQUAL(lc_store_room_close(test_store, first, "agent_ended", NULL, &err),
			LC_ERR_CONFLICT);
	CU_ASSERT_EQUAL(lc_store_room_decline(test_store, first, "agent-x", &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_room_find_open(test_store, "widget", cust, &doc, &err),
			LC_ERR_NOT_FOUND);

	/* The customer comes back: a new open room, whose recent goes on. Four reads: the
	 * pointer, its room in rooms (gone: retired, so closed; rooms_closed is not read), and the
	 * previous room's recent count (counters, then counters_closed). */
	uint64_t finds0 = ops(LC_STORE_OP_FIND);
	char *next = topen_room(cust);
	CU_ASSERT_PTR_NOT_NULL_FATAL(next);
	CU_ASSERT_EQUAL(ops(LC_STORE_OP_FIND) - finds0, 4);
	CU_ASSERT_NOT_EQUAL(strcmp(next, first), 0);

	/* Lists: the closed list holds it once; all rooms page by page give the whole list. */
	CU_ASSERT_EQUAL_FATAL(lc_store_room_list(test_store, "closed", 0, 0, &items, &total, &err),
			      LC_OK);
	size_t seen = 0;
	for (size_t i = 0; i < json_object_array_length(items); i++)
		seen += strcmp(tstr(json_object_array_get_idx(items, i), "id"), first) == 0;
	CU_ASSERT_EQUAL(seen, 1);
	CU_ASSERT_EQUAL((size_t)total, json_object_array_length(items));
	CU_ASSERT_TRUE(list_in_order(items));
	json_object_put(items);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_list(test_store, NULL, 0, 0, &items, &total, &err),
			      LC_OK);
	CU_ASSERT_TRUE(list_in_order(items));
	json_object *joined = json_object_new_array();
	for (int64_t skip = 0; skip < total + 3; skip += 3) {
		CU_ASSERT_EQUAL_FATAL(lc_store_room_list(test_store, NULL, skip, 3, &page, &total2,
							 &err), LC_OK);
		CU_ASSERT_EQUAL(total2, total);
		for (size_t i = 0; i < json_object_array_length(page); i++)
			json_object_array_add(joined, json_object_get(json_object_array_get_idx(page, i)));
		json_object_put(page);
	}
	CU_ASSERT_EQUAL(json_object_array_length(joined), json_object_array_length(items));
	for (size_t i = 0; i < json_object_array_length(items) &&
			   i < json_object_array_length(joined); i++)
		CU_ASSERT_STRING_EQUAL(tstr(json_object_array_get_idx(joined, i), "id"),
				       tstr(json_object_array_get_idx(items, i), "id"));
	json_object_put(joined);
	json_object_put(items);

	/* The export has both of the customer's rooms, oldest first. */
	CU_ASSERT_EQUAL_FATAL(lc_store_customer_export(test_store, "widget", cust, &doc, &err), LC_OK);
	json_object *rooms = NULL;
	CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(doc, "rooms", &rooms));
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(rooms), 2);
	CU_ASSERT_STRING_EQUAL(tstr(json_object_array_get_idx(rooms, 0), "id"), first);
	CU_ASSERT_STRING_EQUAL(tstr(json_object_array_get_idx(rooms, 1), "id"), next);
	json_object_put(doc);
	free(next);
	free(first);
	free(cust);
}

/* The purge removes a retired room with its messages, in a database of its own (a purge takes
 * every closed room before its date). */
/* In database db's room_gates: puts gate id taken at at_ms (at_ms > 0), then says whether it is
 * there. */
static bool gate_at(const char *db, const char *id, int64_t at_ms)
{
	bson_error_t e;
	mongoc_client_t *c = mongoc_client_new(test_mongo_uri);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	mongoc_collection_t *coll = mongoc_client_get_collection(c, db, "room_gates");
	if (at_ms > 0) {
		bson_t *doc = BCON_NEW("_id", BCON_UTF8(id), "at", BCON_DATE_TIME(at_ms));
		CU_ASSERT_TRUE(mongoc_collection_insert_one(coll, doc, NULL, NULL, &e));
		bson_destroy(doc);
	}
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
	int64_t n = mongoc_collection_count_documents(coll, filter, NULL, NULL, NULL, &e);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(c);
	return n > 0;
}

static void test_the_purge_removes_retired_rooms(void)
{
	lc_err_t err = { 0 };
	char db[64];
	json_object *room = NULL;
	bool created = false;
	int64_t seq = 0, rooms = 0, messages = 0;
	snprintf(db, sizeof db, "lc_test_purge_%ld", (long)getpid());
	lc_store_t *s = lc_store_new(test_mongo_uri, db, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(lc_store_init(s, &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_open(s, "widget", "pc", "P", &room, &created, &err),
			      LC_OK);
	char *id = strdup(tstr(room, "id"));
	json_object_put(room);
	CU_ASSERT_EQUAL(lc_store_seq_reserve(s, id, 1, &seq, NULL, &err), LC_OK);
	lc_store_msg_t m = { .msg_id = "p-1", .room_id = id, .channel = "widget",
			     .customer_id = "pc", .sender = "customer", .text = "bye", .seq = seq };
	CU_ASSERT_EQUAL(lc_store_message_insert_batch(s, &m, 1, &err), LC_OK);
	json_object_put(m.stored);
	CU_ASSERT_EQUAL(lc_store_room_close(s, id, "customer_left", NULL, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_room_retire(s, id, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_counter_retire(s, id, &err), LC_OK);
	/* A gate left by a room that never retired (two minutes old) goes; a fresh one (a write
	 * in progress) stays. */
	CU_ASSERT_TRUE(gate_at(db, "0123456789abcdef01234567:3", lc_real_ms() - 120000));
	CU_ASSERT_TRUE(gate_at(db, "0123456789abcdef01234568:0", lc_real_ms()));
	CU_ASSERT_EQUAL(lc_store_purge_closed(s, lc_real_ms() + 60000, &rooms, &messages, &err),
			LC_OK);
	CU_ASSERT_FALSE(gate_at(db, "0123456789abcdef01234567:3", 0));
	CU_ASSERT_TRUE(gate_at(db, "0123456789abcdef01234568:0", 0));
	CU_ASSERT_EQUAL(rooms, 1);
	CU_ASSERT_EQUAL(messages, 1);
	CU_ASSERT_EQUAL(lc_store_room_get(s, id, &room, &err), LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(lc_store_drop_database(s, &err), LC_OK);
	lc_store_free(&s);
	free(id);
}

static void test_recent_holds_the_customers_last_messages_across_rooms_in_order(void)
{
	lc_err_t err = { 0 };
	json_object *items = NULL;
	char *cust = tuniq("recent");
	char *first = topen_room(cust);
	CU_ASSERT_PTR_NOT_NULL_FATAL(first);
	store_direct(first, cust, "a", 73);   /* blocks of 10, the last one open */
	CU_ASSERT_EQUAL_FATAL(lc_store_room_close(test_store, first, "customer_left", NULL, &err),
			      LC_OK);
	char *next = topen_room(cust);
	CU_ASSERT_PTR_NOT_NULL_FATAL(next);
	int64_t count = -1;
	CU_ASSERT_EQUAL(lc_store_recent_count(test_store, next, &count, &err), LC_OK);
	CU_ASSERT_EQUAL(count, 73);   /* the new room goes on from the previous one */
	store_direct(next, cust, "b", 5);

	CU_ASSERT_EQUAL_FATAL(lc_store_message_recent(test_store, next, "widget", cust, 8, &items,
						      &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(items), 8);
	static const char *const want[] = { "a 70", "a 71", "a 72", "b 0", "b 1", "b 2", "b 3",
					    "b 4" };
	for (size_t i = 0; i < 8; i++)
		CU_ASSERT_STRING_EQUAL(tstr(json_object_array_get_idx(items, i), "text"), want[i]);
	CU_ASSERT_STRING_EQUAL(tstr(json_object_array_get_idx(items, 0), "room_id"), first);
	CU_ASSERT_STRING_EQUAL(tstr(json_object_array_get_idx(items, 7), "room_id"), next);
	json_object_put(items);
	/* The same answer as the query over messages, for the whole history. */
	json_object *q = NULL;
	CU_ASSERT_EQUAL_FATAL(lc_store_message_recent(test_store, next, "widget", cust, 500, &items,
						      &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(lc_store_message_history(test_store, "widget", cust, 500, &q, &err),
			      LC_OK);
	CU_ASSERT_EQUAL(json_object_array_length(items), 78);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string(items), json_object_to_json_string(q));
	json_object_put(items);
	json_object_put(q);
	free(next);
	free(first);
	free(cust);
}

/* The test database's recent collection (and its client, in *c: the caller's to destroy). */
static mongoc_collection_t *recent_coll(mongoc_client_t **c)
{
	char db[64];
	snprintf(db, sizeof db, "lc_test_store_%ld", (long)getpid());
	*c = mongoc_client_new(test_mongo_uri);
	return mongoc_client_get_collection(*c, db, "recent");
}

/* The JSON text (`j`) of the piece filter names, as stored (NULL: none; never an array `m`). */
static char *piece_text(mongoc_collection_t *coll, const bson_t *filter)
{
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
	const bson_t *doc;
	bson_iter_t it;
	char *text = NULL;
	if (mongoc_cursor_next(cur, &doc)) {
		CU_ASSERT_FALSE(bson_iter_init_find(&it, doc, "m"));
		if (bson_iter_init_find(&it, doc, "j") && BSON_ITER_HOLDS_UTF8(&it))
			text = lc_strdup(bson_iter_utf8(&it, NULL));
	}
	mongoc_cursor_destroy(cur);
	return text;
}

/* A customer's piece as stored: written as one JSON text (`j`); turned back into the form of
 * earlier versions (`m`, an array of documents), it reads the same. */
static void test_recent_pieces_are_json_text_and_earlier_pieces_still_read(void)
{
	lc_err_t err = { 0 };
	bson_error_t e;
	char id[160];
	char *cust = tuniq("pieceform");
	char *room = topen_room(cust);
	CU_ASSERT_PTR_NOT_NULL_FATAL(room);
	store_direct(room, cust, "a", 13);   /* pieces 10 (a full block) and 13 */
	snprintf(id, sizeof id, "widget:%s:13", cust);
	mongoc_client_t *c = NULL;
	mongoc_collection_t *coll = recent_coll(&c);
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
	char *text = piece_text(coll, filter);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	char *wrapped = lc_asprintf("{\"m\": %s}", text);
	bson_t *legacy = bson_new_from_json((const uint8_t *)wrapped, -1, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(legacy);
	BSON_APPEND_UTF8(legacy, "_id", id);
	CU_ASSERT_TRUE(mongoc_collection_replace_one(coll, filter, legacy, NULL, NULL, &e));

	json_object *items = NULL;
	CU_ASSERT_EQUAL_FATAL(lc_store_message_recent(test_store, room, "widget", cust, 13, &items,
						      &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(items), 13);
	for (size_t i = 0; i < 13; i++) {
		char want[16];
		snprintf(want, sizeof want, "a %zu", i);
		CU_ASSERT_STRING_EQUAL(tstr(json_object_array_get_idx(items, i), "text"), want);
	}
	json_object_put(items);
	bson_destroy(legacy);
	free(wrapped);
	free(text);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(c);
	free(room);
	free(cust);
}

/* Piece n of cust in the form a writer that went on without its block's head writes it: its
 * first `skip` messages left out, `f` saying where it starts. */
static void piece_make_headless(const char *cust, int n, size_t skip, int64_t from)
{
	bson_error_t e;
	char id[160];
	lc_err_t perr;
	snprintf(id, sizeof id, "widget:%s:%d", cust, n);
	mongoc_client_t *c = NULL;
	mongoc_collection_t *coll = recent_coll(&c);
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
	char *text = piece_text(coll, filter);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	json_object *items = lc_json_parse(text, strlen(text), &perr);
	free(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(items);
	CU_ASSERT_FATAL(json_object_array_length(items) > skip);
	json_object_array_del_idx(items, 0, skip);
	bson_t *headless = BCON_NEW("_id", BCON_UTF8(id), "j",
				    BCON_UTF8(json_object_to_json_string(items)), "f",
				    BCON_INT64(from));
	CU_ASSERT_TRUE(mongoc_collection_replace_one(coll, filter, headless, NULL, NULL, &e));
	bson_destroy(headless);
	json_object_put(items);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(c);
}

/* A returning customer's writer does not wait for the head of their open block: the pieces it
 * writes meanwhile hold its messages only and say from where (`f`). Readers read the piece
 * before that too, and get the same history as the query over messages. */
static void test_headless_pieces_are_read_through_the_piece_before_them(void)
{
	lc_err_t err = { 0 };
	json_object *items = NULL, *q = NULL, *head = NULL;
	int64_t from = -1;
	char *cust = tuniq("headless");
	char *first = topen_room(cust);
	CU_ASSERT_PTR_NOT_NULL_FATAL(first);
	store_direct(first, cust, "a", 23);   /* pieces 10, 20 (full) and 23 */
	CU_ASSERT_EQUAL_FATAL(lc_store_room_close(test_store, first, "customer_left", NULL, &err),
			      LC_OK);
	char *next = topen_room(cust);
	CU_ASSERT_PTR_NOT_NULL_FATAL(next);
	store_direct(next, cust, "b", 5);     /* pieces 28 (24..28 after 21..23) */
	piece_make_headless(cust, 28, 3, 24);

	CU_ASSERT_EQUAL(lc_store_recent_head(test_store, "widget", cust, 28, &head, &from, &err),
			LC_OK);
	CU_ASSERT_EQUAL(from, 24);
	CU_ASSERT_EQUAL(json_object_array_length(head), 5);
	json_object_put(head);
	CU_ASSERT_EQUAL_FATAL(lc_store_message_recent(test_store, next, "widget", cust, 6, &items,
						      &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(items), 6);
	CU_ASSERT_STRING_EQUAL(tstr(json_object_array_get_idx(items, 0), "text"), "a 22");
	CU_ASSERT_STRING_EQUAL(tstr(json_object_array_get_idx(items, 5), "text"), "b 4");
	json_object_put(items);
	CU_ASSERT_EQUAL_FATAL(lc_store_message_recent(test_store, next, "widget", cust, 500, &items,
						      &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(lc_store_message_history(test_store, "widget", cust, 500, &q, &err),
			      LC_OK);
	CU_ASSERT_EQUAL(json_object_array_length(items), 28);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string(items), json_object_to_json_string(q));
	json_object_put(items);
	json_object_put(q);
	/* A writer going on from the headless piece keeps its start: the history stays whole. */
	store_direct(next, cust, "c", 1);
	CU_ASSERT_EQUAL(lc_store_recent_head(test_store, "widget", cust, 29, &head, &from, &err),
			LC_OK);
	CU_ASSERT_EQUAL(from, 24);
	json_object_put(head);
	CU_ASSERT_EQUAL_FATAL(lc_store_message_recent(test_store, next, "widget", cust, 500, &items,
						      &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(lc_store_message_history(test_store, "widget", cust, 500, &q, &err),
			      LC_OK);
	CU_ASSERT_EQUAL(json_object_array_length(items), 29);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string(items), json_object_to_json_string(q));
	json_object_put(items);
	json_object_put(q);

	/* A head that was never written (a writer killed first): nothing to join, and the next
	 * pieces say they start after it. */
	CU_ASSERT_EQUAL(lc_store_recent_head(test_store, "widget", cust, 33, &head, &from, &err),
			LC_OK);
	CU_ASSERT_EQUAL(json_object_array_length(head), 0);
	CU_ASSERT_EQUAL(from, 34);
	json_object_put(head);
	/* At a block's end there is nothing to read. */
	CU_ASSERT_EQUAL(lc_store_recent_head(test_store, "widget", cust, 20, &head, &from, &err),
			LC_OK);
	CU_ASSERT_EQUAL(json_object_array_length(head), 0);
	CU_ASSERT_EQUAL(from, 0);
	json_object_put(head);
	free(next);
	free(first);
	free(cust);
}

/* A writer opening a new customer's room takes its first seq block with the counter the open
 * writes anyway: no reservation read or write, and a writer taking over starts above it. */
static void test_a_new_room_comes_with_its_first_seq_block_reserved(void)
{
	lc_err_t err = { 0 };
	json_object *room = NULL;
	bool created = false;
	int64_t reserved = -1, first = 0, before = -1;
	char *cust = tuniq("reserving");
	uint64_t ins0 = ops(LC_STORE_OP_INSERT), all0 = ops(LC_STORE_OP_KINDS);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_open_new(test_store, "widget", cust, "R", 1000, &reserved,
						     &room, &created, &err), LC_OK);
	CU_ASSERT_TRUE(created);
	CU_ASSERT_EQUAL(reserved, 1000);
	CU_ASSERT_EQUAL(ops(LC_STORE_OP_INSERT) - ins0, 3);
	CU_ASSERT_EQUAL(ops(LC_STORE_OP_KINDS) - all0, 3);
	CU_ASSERT_EQUAL(tint(room, "last_seq"), 0);
	char *id = strdup(tstr(room, "id"));
	json_object_put(room);
	room = NULL;
	/* Seqs 1..1000 are the opener's: anyone else's block starts above them. */
	CU_ASSERT_EQUAL_FATAL(lc_store_seq_reserve(test_store, id, 10, &first, &before, &err), LC_OK);
	CU_ASSERT_EQUAL(first, 1001);
	CU_ASSERT_EQUAL(before, 0);
	/* A reservation is not a stored message: last_seq stays 0. */
	CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, id, &room, &err), LC_OK);
	CU_ASSERT_EQUAL(tint(room, "last_seq"), 0);
	json_object_put(room);
	room = NULL;
	/* A customer seen before is not opened here: nothing reserved. */
	CU_ASSERT_EQUAL(lc_store_room_open_new(test_store, "widget", cust, "R", 1000, &reserved,
					       &room, &created, &err), LC_ERR_NOT_FOUND);
	CU_ASSERT_FALSE(created);
	CU_ASSERT_EQUAL(reserved, 0);
	free(id);
	free(cust);

	/* Without a reservation the first block starts at 1, as before. */
	cust = tuniq("plain");
	CU_ASSERT_EQUAL_FATAL(lc_store_room_open_new(test_store, "widget", cust, "P", 0, &reserved,
						     &room, &created, &err), LC_OK);
	CU_ASSERT_EQUAL(reserved, 0);
	CU_ASSERT_EQUAL_FATAL(lc_store_seq_reserve(test_store, tstr(room, "id"), 10, &first, NULL,
						   &err), LC_OK);
	CU_ASSERT_EQUAL(first, 1);
	json_object_put(room);
	free(cust);
}

int init_store_batch_tests(void)
{
	CU_pSuite s = CU_add_suite("store_batch", NULL, NULL);
	if (s == NULL)
		return -1;
	CU_ADD_TEST(s, test_store_counts_each_operation_by_kind);
	CU_ADD_TEST(s, test_batch_of_many_rooms_is_one_insert_many_with_a_result_each);
	CU_ADD_TEST(s, test_batch_reports_each_invalid_message_and_stores_the_rest);
	CU_ADD_TEST(s, test_batch_against_a_server_that_is_down_is_unavailable_and_stores_nothing);
	CU_ADD_TEST(s, test_seq_blocks_start_above_every_seq_handed_out);
	CU_ADD_TEST(s, test_insert_many_leaves_last_seq_to_one_raise_of_many_rooms);
	CU_ADD_TEST(s, test_same_message_id_in_two_rooms_is_two_messages);
	CU_ADD_TEST(s, test_open_room_is_found_by_id_lookups_and_its_pointer_repaired);
	CU_ADD_TEST(s, test_a_new_customers_room_opens_with_inserts_only);
	CU_ADD_TEST(s, test_a_new_room_comes_with_its_first_seq_block_reserved);
	CU_ADD_TEST(s, test_recent_holds_the_customers_last_messages_across_rooms_in_order);
	CU_ADD_TEST(s, test_recent_pieces_are_json_text_and_earlier_pieces_still_read);
	CU_ADD_TEST(s, test_headless_pieces_are_read_through_the_piece_before_them);
	CU_ADD_TEST(s, test_a_retired_counter_leaves_counters_and_reads_the_same);
	CU_ADD_TEST(s, test_a_retired_room_leaves_rooms_and_reads_the_same);
	CU_ADD_TEST(s, test_the_purge_removes_retired_rooms);
	return 0;
}
