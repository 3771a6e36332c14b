/* SPDX-License-Identifier: MIT */
/* Store tests of a batch's order when the database refuses one of its messages: a room's messages
 * behind one whose seq someone else stored are not stored before it (they come back to be given
 * new seqs after it); a redelivery holds nothing back; a block reserved again starts above what
 * its caller knows was handed out. Against the real FerretDB of tests/services.sh. */
#include "config.h"
#include "store_tests.h"
#include "lc_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>

static uint64_t insert_manys(void)
{
	lc_store_stats_t st;
	lc_store_stats(test_store, &st);
	return st.ops[LC_STORE_OP_INSERT_MANY];
}

static lc_store_msg_t msg(const char *id, const char *room, const char *cust, int64_t seq)
{
	return (lc_store_msg_t){ .msg_id = id, .room_id = room, .channel = "widget",
				 .customer_id = cust, .sender = "customer", .author = "C",
				 .text = id, .seq = seq };
}

/* The room's stored messages as "id@seq" joined by spaces, in seq order. */
static char *stored_in_order(const char *room)
{
	lc_err_t err = { 0 };
	json_object *items = NULL;
	if (lc_store_message_list_after(test_store, room, -1, 0, &items, &err) != LC_OK)
		return strdup("(unreadable)");
	char buf[1024] = "";
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		json_object *m = json_object_array_get_idx(items, i);
		size_t len = strlen(buf);
		snprintf(buf + len, sizeof buf - len, "%s%s@%lld", i ? " " : "", tstr(m, "id"),
			 (long long)tint(m, "seq"));
	}
	json_object_put(items);
	return strdup(buf);
}

static bool seq_refused(const lc_store_msg_t *m)
{
	return m->result == LC_STORE_MSG_FAILED && m->err.code == LC_ERR_CONFLICT &&
	       strcmp(m->err.field, "seq") == 0;
}

static void test_a_taken_seq_holds_its_rooms_later_messages_of_the_batch_back(void)
{
	lc_err_t err = { 0 };
	char *ca = tuniq("ordera"), *cb = tuniq("orderb");
	char *ra = topen_room(ca), *rb = topen_room(cb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ra);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rb);
	/* Another node stored "direct" at seq 11 of room a, the first seq of this writer's block
	 * (two reservations that met). */
	lc_store_msg_t d = msg("direct", ra, ca, 11);
	CU_ASSERT_EQUAL_FATAL(lc_store_message_insert_many(test_store, &d, 1, &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(d.result, LC_STORE_MSG_STORED);
	json_object_put(d.stored);

	lc_store_msg_t m[] = {
		msg("b1", rb, cb, 1), msg("a10", ra, ca, 11), msg("b2", rb, cb, 2),
		msg("a11", ra, ca, 12), msg("a12", ra, ca, 13), msg("b3", rb, cb, 3),
	};
	size_t n = sizeof m / sizeof m[0];
	uint64_t many0 = insert_manys();
	CU_ASSERT_EQUAL_FATAL(lc_store_message_insert_many(test_store, m, n, &err), LC_OK);
	/* One insertMany up to the refused message, one for the rest of the other rooms. */
	CU_ASSERT_EQUAL(insert_manys() - many0, 2);
	CU_ASSERT_EQUAL(m[0].result, LC_STORE_MSG_STORED);
	CU_ASSERT(seq_refused(&m[1]));
	CU_ASSERT_EQUAL(m[2].result, LC_STORE_MSG_STORED);
	CU_ASSERT(seq_refused(&m[3]));
	CU_ASSERT(seq_refused(&m[4]));
	CU_ASSERT_EQUAL(m[5].result, LC_STORE_MSG_STORED);
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(m[i].stored == NULL, m[i].result == LC_STORE_MSG_FAILED);
		json_object_put(m[i].stored);
	}
	char *a = stored_in_order(ra), *b = stored_in_order(rb);
	CU_ASSERT_STRING_EQUAL(a, "direct@11");
	CU_ASSERT_STRING_EQUAL(b, "b1@1 b2@2 b3@3");
	free(a);
	free(b);

	/* Given seqs above the taken one, in their order, the three come after it. */
	int64_t first = 0;
	CU_ASSERT_EQUAL_FATAL(lc_store_seq_reserve_above(test_store, ra, 10, 13, &first, NULL,
							 &err), LC_OK);
	CU_ASSERT(first > 13);
	lc_store_msg_t again[] = { msg("a10", ra, ca, first), msg("a11", ra, ca, first + 1),
				   msg("a12", ra, ca, first + 2) };
	CU_ASSERT_EQUAL_FATAL(lc_store_message_insert_many(test_store, again, 3, &err), LC_OK);
	for (size_t i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(again[i].result, LC_STORE_MSG_STORED);
		json_object_put(again[i].stored);
	}
	a = stored_in_order(ra);
	char want[256];
	snprintf(want, sizeof want, "direct@11 a10@%lld a11@%lld a12@%lld", (long long)first,
		 (long long)first + 1, (long long)first + 2);
	CU_ASSERT_STRING_EQUAL(a, want);
	free(a);
	free(ra);
	free(rb);
	free(ca);
	free(cb);
}

static void test_a_redelivery_in_a_batch_holds_nothing_back(void)
{
	lc_err_t err = { 0 };
	char *c = tuniq("orderdup");
	char *r = topen_room(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	lc_store_msg_t first = msg("x1", r, c, 1);
	CU_ASSERT_EQUAL_FATAL(lc_store_message_insert_many(test_store, &first, 1, &err), LC_OK);
	json_object_put(first.stored);
	/* x1 again (a redelivery staged by a new writer with a new seq), then the room's next. */
	lc_store_msg_t m[] = { msg("x1", r, c, 5), msg("x2", r, c, 6), msg("x3", r, c, 7) };
	CU_ASSERT_EQUAL_FATAL(lc_store_message_insert_many(test_store, m, 3, &err), LC_OK);
	CU_ASSERT_EQUAL(m[0].result, LC_STORE_MSG_DUPLICATE);
	CU_ASSERT_EQUAL(tint(m[0].stored, "seq"), 1);
	CU_ASSERT_EQUAL(m[1].result, LC_STORE_MSG_STORED);
	CU_ASSERT_EQUAL(m[2].result, LC_STORE_MSG_STORED);
	for (size_t i = 0; i < 3; i++)
		json_object_put(m[i].stored);
	char *got = stored_in_order(r);
	CU_ASSERT_STRING_EQUAL(got, "x1@1 x2@6 x3@7");
	free(got);
	free(r);
	free(c);
}

/* FerretDB 1.24 applies "ordered" within its insert batches of 100 only: a refusal early in a
 * longer batch must still keep the room's later messages (past the 100th) out. */
static void test_order_holds_in_a_batch_longer_than_the_databases_own(void)
{
	enum { N = 150 };
	lc_err_t err = { 0 };
	char *c = tuniq("orderlong");
	char *r = topen_room(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	lc_store_msg_t d = msg("taken", r, c, 3);
	CU_ASSERT_EQUAL_FATAL(lc_store_message_insert_many(test_store, &d, 1, &err), LC_OK);
	json_object_put(d.stored);
	static char ids[N][16];
	lc_store_msg_t m[N];
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof ids[i], "l%d", i);
		m[i] = msg(ids[i], r, c, i + 1);
	}
	CU_ASSERT_EQUAL_FATAL(lc_store_message_insert_many(test_store, m, N, &err), LC_OK);
	CU_ASSERT_EQUAL(m[0].result, LC_STORE_MSG_STORED);
	CU_ASSERT_EQUAL(m[1].result, LC_STORE_MSG_STORED);
	int held = 0;
	for (int i = 2; i < N; i++)
		held += seq_refused(&m[i]);
	CU_ASSERT_EQUAL(held, N - 2);
	for (int i = 0; i < N; i++)
		json_object_put(m[i].stored);
	char *got = stored_in_order(r);
	CU_ASSERT_STRING_EQUAL(got, "l0@1 l1@2 taken@3");
	free(got);
	free(r);
	free(c);
}

static void test_a_block_reserved_above_starts_above_what_the_caller_knows(void)
{
	lc_err_t err = { 0 };
	char *c = tuniq("orderabove");
	char *r = topen_room(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	int64_t first = 0, before = -1;
	CU_ASSERT_EQUAL_FATAL(lc_store_seq_reserve_above(test_store, r, 10, 0, &first, &before,
							 &err), LC_OK);
	CU_ASSERT_EQUAL(first, 1);
	/* The counter says 10; the caller knows seq 40 was handed out (a reservation the counter
	 * lost): the next block starts above 40, and the one after it above that block. */
	CU_ASSERT_EQUAL_FATAL(lc_store_seq_reserve_above(test_store, r, 10, 40, &first, &before,
							 &err), LC_OK);
	CU_ASSERT_EQUAL(first, 41);
	CU_ASSERT_EQUAL_FATAL(lc_store_seq_reserve_above(test_store, r, 10, 5, &first, NULL, &err),
			      LC_OK);
	CU_ASSERT_EQUAL(first, 51);
	free(r);
	free(c);
}

int init_store_order_tests(void)
{
	CU_pSuite s = CU_add_suite("store_order", NULL, NULL);
	if (s == NULL)
		return -1;
	CU_ADD_TEST(s, test_a_taken_seq_holds_its_rooms_later_messages_of_the_batch_back);
	CU_ADD_TEST(s, test_a_redelivery_in_a_batch_holds_nothing_back);
	CU_ADD_TEST(s, test_order_holds_in_a_batch_longer_than_the_databases_own);
	CU_ADD_TEST(s, test_a_block_reserved_above_starts_above_what_the_caller_knows);
	return 0;
}
