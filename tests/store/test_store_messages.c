/* SPDX-License-Identifier: MIT */
/* Store tests of messages: stored once per msg_id, distinct increasing seqs under concurrent
 * appends, paging forwards and backwards, a customer's history across rooms. */
#include "config.h"
#include "store_tests.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>

#define WRITERS 8
#define PER_WRITER 10

static void test_append_same_msg_id_twice_stores_once(void)
{
	lc_err_t err = { 0 };
	json_object *m1 = NULL, *m2 = NULL, *items = NULL;
	bool dup = true;
	char *cust = tuniq("dedup"), *mid = tuniq("gw-msg");
	char *room = topen_room(cust);
	CU_ASSERT_PTR_NOT_NULL_FATAL(room);

	CU_ASSERT_EQUAL_FATAL(lc_store_message_append(test_store, mid, room, "customer", "Cust",
						      "hello", 1700000000000LL, &m1, &dup, &err),
			      LC_OK);
	CU_ASSERT_FALSE(dup);
	CU_ASSERT_STRING_EQUAL(tstr(m1, "id"), mid);
	CU_ASSERT_STRING_EQUAL(tstr(m1, "room_id"), room);
	CU_ASSERT_STRING_EQUAL(tstr(m1, "channel"), "widget");
	CU_ASSERT_STRING_EQUAL(tstr(m1, "customer_id"), cust);
	CU_ASSERT_EQUAL(tint(m1, "seq"), 1);
	CU_ASSERT_EQUAL(tint(m1, "ts"), 1700000000000LL);

	CU_ASSERT_EQUAL_FATAL(lc_store_message_append(test_store, mid, room, "customer", "Cust",
						      "hello again?", 0, &m2, &dup, &err), LC_OK);
	CU_ASSERT_TRUE(dup);
	CU_ASSERT_EQUAL(tint(m2, "seq"), 1);
	CU_ASSERT_STRING_EQUAL(tstr(m2, "text"), "hello");
	CU_ASSERT_EQUAL_FATAL(lc_store_message_list_after(test_store, room, -1, 0, &items, &err),
			      LC_OK);
	CU_ASSERT_EQUAL(json_object_array_length(items), 1);
	json_object_put(items);

	json_object *room_doc = NULL;
	CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, room, &room_doc, &err), LC_OK);
	CU_ASSERT_EQUAL(tint(room_doc, "last_seq"), 1);
	json_object_put(room_doc);

	json_object *o = NULL;
	CU_ASSERT_EQUAL(lc_store_message_append(test_store, "m-x", room, "robot", NULL, "t", 0, &o,
						&dup, &err), LC_ERR_INVALID);
	CU_ASSERT_EQUAL(lc_store_message_append(test_store, "", room, "agent", NULL, "t", 0, &o, &dup,
						&err), LC_ERR_INVALID);
	CU_ASSERT_EQUAL(lc_store_message_append(test_store, "m-y", "0123456789abcdef01234567",
						"agent", NULL, "t", 0, &o, &dup, &err),
			LC_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(o);
	json_object_put(m1);
	json_object_put(m2);
	free(room);
	free(cust);
	free(mid);
}

typedef struct writer {
	pthread_barrier_t *start;
	const char *room;
	int n;
	int failures;
} writer_t;

static void *append_writer(void *arg)
{
	writer_t *w = arg;
	pthread_barrier_wait(w->start);
	for (int i = 0; i < PER_WRITER; i++) {
		lc_err_t err = { 0 };
		bool dup;
		json_object *m = NULL;
		char id[64];
		snprintf(id, sizeof id, "%s-w%d-%d", w->room, w->n, i);
		if (lc_store_message_append(test_store, id, w->room, "customer", NULL, "x", 0, &m, &dup,
					    &err) != LC_OK || dup) {
			fprintf(stderr, "\n  append failed: %s\n", err.reason);
			w->failures++;
		}
		json_object_put(m);
	}
	return NULL;
}

static void *claim_during_appends(void *arg)
{
	writer_t *w = arg;
	lc_err_t err = { 0 };
	pthread_barrier_wait(w->start);
	if (lc_store_room_claim(test_store, w->room, "claimer", "Claimer", NULL, &err) != LC_OK)
		w->failures++;
	return NULL;
}

static void test_concurrent_appends_get_distinct_increasing_seqs(void)
{
	lc_err_t err = { 0 };
	json_object *items = NULL, *room_doc = NULL;
	pthread_barrier_t start;
	pthread_t t[WRITERS + 1];
	writer_t w[WRITERS + 1];
	char *cust = tuniq("busy");
	char *room = topen_room(cust);
	CU_ASSERT_PTR_NOT_NULL_FATAL(room);

	/* Writers plus one agent claiming the room meanwhile: appends must not undo the claim. */
	pthread_barrier_init(&start, NULL, WRITERS + 1);
	for (int i = 0; i < WRITERS; i++) {
		w[i] = (writer_t){ .start = &start, .room = room, .n = i };
		pthread_create(&t[i], NULL, append_writer, &w[i]);
	}
	w[WRITERS] = (writer_t){ .start = &start, .room = room, .n = WRITERS };
	pthread_create(&t[WRITERS], NULL, claim_during_appends, &w[WRITERS]);
	for (int i = 0; i <= WRITERS; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(w[i].failures, 0);
	}
	CU_ASSERT_EQUAL_FATAL(lc_store_message_list_after(test_store, room, -1, 0, &items, &err),
			      LC_OK);
	CU_ASSERT_EQUAL(json_object_array_length(items), WRITERS * PER_WRITER);
	for (size_t i = 1; i < json_object_array_length(items); i++)
		CU_ASSERT(tint(json_object_array_get_idx(items, i), "seq") >
			  tint(json_object_array_get_idx(items, i - 1), "seq"));
	json_object_put(items);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, room, &room_doc, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(room_doc, "status"), "engaged");
	CU_ASSERT_STRING_EQUAL(tstr(room_doc, "agent_id"), "claimer");
	CU_ASSERT(tint(room_doc, "last_seq") >= WRITERS * PER_WRITER);
	json_object_put(room_doc);
	pthread_barrier_destroy(&start);
	free(room);
	free(cust);
}

static void append_n(const char *room, const char *tag, int n, int64_t ts0)
{
	for (int i = 0; i < n; i++) {
		lc_err_t err = { 0 };
		bool dup;
		char id[96], text[32];
		snprintf(id, sizeof id, "%s-%s-%d", room, tag, i + 1);
		snprintf(text, sizeof text, "%s%d", tag, i + 1);
		CU_ASSERT_EQUAL(lc_store_message_append(test_store, id, room, i % 2 ? "agent" : "customer",
							"someone", text, ts0 + i, NULL, &dup, &err),
				LC_OK);
	}
}

static void test_list_after_and_before_page_by_seq(void)
{
	lc_err_t err = { 0 };
	json_object *items = NULL;
	char *cust = tuniq("pager");
	char *room = topen_room(cust);
	CU_ASSERT_PTR_NOT_NULL_FATAL(room);
	append_n(room, "p", 10, 1700000000000LL);

	CU_ASSERT_EQUAL_FATAL(lc_store_message_list_after(test_store, room, 3, 4, &items, &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(items), 4);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(tint(json_object_array_get_idx(items, i), "seq"), 4 + i);
	json_object_put(items);

	CU_ASSERT_EQUAL_FATAL(lc_store_message_list_before(test_store, room, 5, 2, &items, &err),
			      LC_OK);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(items), 2);
	CU_ASSERT_EQUAL(tint(json_object_array_get_idx(items, 0), "seq"), 4);
	CU_ASSERT_EQUAL(tint(json_object_array_get_idx(items, 1), "seq"), 3);
	json_object_put(items);

	CU_ASSERT_EQUAL_FATAL(lc_store_message_list_before(test_store, room, 0, 3, &items, &err),
			      LC_OK);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(items), 3);
	CU_ASSERT_EQUAL(tint(json_object_array_get_idx(items, 0), "seq"), 10);
	CU_ASSERT_STRING_EQUAL(tstr(json_object_array_get_idx(items, 0), "text"), "p10");
	json_object_put(items);

	CU_ASSERT_EQUAL_FATAL(lc_store_message_list_after(test_store, room, 10, 5, &items, &err),
			      LC_OK);
	CU_ASSERT_EQUAL(json_object_array_length(items), 0);
	json_object_put(items);
	CU_ASSERT_EQUAL(lc_store_message_list_after(test_store, "junk", 0, 5, &items, &err),
			LC_ERR_NOT_FOUND);
	free(room);
	free(cust);
}

static void test_history_returns_last_n_across_rooms_oldest_first(void)
{
	lc_err_t err = { 0 };
	json_object *items = NULL;
	char *cust = tuniq("returning");
	char *first = topen_room(cust);
	CU_ASSERT_PTR_NOT_NULL_FATAL(first);
	append_n(first, "a", 3, 1700000000000LL);
	CU_ASSERT_EQUAL(lc_store_room_close(test_store, first, "customer_left", NULL, &err), LC_OK);
	char *second = topen_room(cust);
	CU_ASSERT_PTR_NOT_NULL_FATAL(second);
	CU_ASSERT_STRING_NOT_EQUAL(first, second);
	append_n(second, "b", 3, 1700000100000LL);

	CU_ASSERT_EQUAL_FATAL(lc_store_message_history(test_store, "widget", cust, 4, &items, &err),
			      LC_OK);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(items), 4);
	static const char *const want[] = { "a3", "b1", "b2", "b3" };
	for (int i = 0; i < 4; i++)
		CU_ASSERT_STRING_EQUAL(tstr(json_object_array_get_idx(items, i), "text"), want[i]);
	CU_ASSERT_STRING_EQUAL(tstr(json_object_array_get_idx(items, 0), "room_id"), first);
	json_object_put(items);

	CU_ASSERT_EQUAL_FATAL(lc_store_message_history(test_store, "telegram", cust, 4, &items, &err),
			      LC_OK);
	CU_ASSERT_EQUAL(json_object_array_length(items), 0);
	json_object_put(items);
	free(first);
	free(second);
	free(cust);
}

int init_store_messages_tests(void)
{
	CU_pSuite s = CU_add_suite("store_messages", NULL, NULL);
	if (s == NULL)
		return -1;
	CU_ADD_TEST(s, test_append_same_msg_id_twice_stores_once);
	CU_ADD_TEST(s, test_concurrent_appends_get_distinct_increasing_seqs);
	CU_ADD_TEST(s, test_list_after_and_before_page_by_seq);
	CU_ADD_TEST(s, test_history_returns_last_n_across_rooms_oldest_first);
	return 0;
}
