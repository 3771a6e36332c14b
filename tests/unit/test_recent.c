/* SPDX-License-Identifier: MIT */
/* CUnit tests of the pure parts of shared/lc_store_recent.c: a writer's chain of a customer's
 * recent (what it keeps, and that it shares nothing with the messages it is given) and the pick
 * of the newest messages in the order accept shows them. The pieces' reads and writes are tested
 * against FerretDB (tests/store, tests/wsd/recent.test.mjs). */
#include "config.h"
#include "unit_tests.h"
#include "lc_json.h"
#include "lc_store.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

static json_object *msg(const char *room, const char *id, int64_t seq, int64_t ts)
{
	json_object *m = json_object_new_object();
	json_object_object_add(m, "id", json_object_new_string(id));
	json_object_object_add(m, "room_id", json_object_new_string(room));
	json_object_object_add(m, "seq", json_object_new_int64(seq));
	json_object_object_add(m, "ts", json_object_new_int64(ts));
	json_object_object_add(m, "text", json_object_new_string("hi"));
	return m;
}

static void test_the_chain_keeps_a_copy_of_its_own_never_the_callers_message(void)
{
	lc_store_recent_chain_t c = { 0, NULL, 0 };
	json_object *m = msg("r1", "m1", 1, 1000);
	CU_ASSERT_FALSE(lc_store_recent_chain_add(&c, m));
	/* The stored message goes on to the event loop or a worker while the writer keeps the
	 * chain: a reference shared between threads races on json-c's counts. The caller's put
	 * must free it. */
	CU_ASSERT_EQUAL(json_object_put(m), 1);
	json_object *last = lc_store_recent_chain_last(&c);
	CU_ASSERT_STRING_EQUAL(lc_json_get_str(last, "id", ""), "m1");
	json_object *piece = lc_store_recent_chain_piece(&c, "web", "c1").items;
	CU_ASSERT_EQUAL(json_object_array_length(piece), 1);
	CU_ASSERT_PTR_EQUAL(json_object_array_get_idx(piece, 0), last);
	json_object_put(piece);
	lc_store_recent_chain_clear(&c);
}

static void test_the_chain_reports_each_full_block_and_starts_the_next(void)
{
	lc_store_recent_chain_t c = { 0, NULL, 0 };
	char id[16];
	int full = 0;
	for (int i = 1; i <= 2 * LC_STORE_RECENT_BLOCK + 3; i++) {
		snprintf(id, sizeof id, "m%d", i);
		json_object *m = msg("r1", id, i, 1000 + i);
		full += lc_store_recent_chain_add(&c, m);
		json_object_put(m);
	}
	CU_ASSERT_EQUAL(full, 2);
	CU_ASSERT_EQUAL(c.count, 2 * LC_STORE_RECENT_BLOCK + 3);
	json_object *piece = lc_store_recent_chain_piece(&c, "web", "c1").items;
	CU_ASSERT_EQUAL(json_object_array_length(piece), 3);
	CU_ASSERT_STRING_EQUAL(lc_json_get_str(json_object_array_get_idx(piece, 0), "id", ""),
			       "m21");
	json_object_put(piece);
	lc_store_recent_chain_clear(&c);
	CU_ASSERT_PTR_NULL(lc_store_recent_chain_last(&c));
}

static void test_the_pick_gives_the_newest_by_time_then_seq_each_once(void)
{
	json_object *all = json_object_new_array();
	json_object_array_add(all, msg("r2", "c", 2, 3000));
	json_object_array_add(all, msg("r1", "a", 1, 1000));
	json_object_array_add(all, msg("r2", "b", 1, 3000));   /* same time: seq orders the room */
	json_object_array_add(all, msg("r1", "a", 1, 1000));   /* in two pieces after a failover */
	json_object_array_add(all, msg("r2", "d", 3, 4000));
	json_object *p = lc_store_recent_pick(all, 3);
	CU_ASSERT_EQUAL(json_object_array_length(p), 3);
	const char *want[] = { "b", "c", "d" };
	for (size_t i = 0; i < 3 && i < json_object_array_length(p); i++)
		CU_ASSERT_STRING_EQUAL(lc_json_get_str(json_object_array_get_idx(p, i), "id", ""),
				       want[i]);
	json_object_put(p);
	p = lc_store_recent_pick(all, 0);
	CU_ASSERT_EQUAL(json_object_array_length(p), 4);
	json_object_put(p);
	json_object_put(all);
}

/* Message i of a customer ("m<i>"), added to the chain; whether it filled a block. */
static bool add_numbered(lc_store_recent_chain_t *c, int i)
{
	char id[16];
	snprintf(id, sizeof id, "m%d", i);
	json_object *m = msg("r1", id, i, 1000 + i);
	bool full = lc_store_recent_chain_add(c, m);
	json_object_put(m);
	return full;
}

/* The ids of piece p, "m<a> m<b> ...", and puts its items. */
static char *ids_of(lc_store_recent_piece_t p)
{
	static char buf[512];
	buf[0] = '\0';
	for (size_t i = 0; i < json_object_array_length(p.items); i++) {
		const char *id = lc_json_get_str(json_object_array_get_idx(p.items, i), "id", "");
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? " " : "", id);
	}
	json_object_put(p.items);
	return buf;
}

/* The head of a block, as lc_store_recent_head reads it: messages a..b. */
static json_object *head_of(int a, int b)
{
	json_object *head = json_object_new_array();
	char id[16];
	for (int i = a; i <= b; i++) {
		snprintf(id, sizeof id, "m%d", i);
		json_object_array_add(head, msg("r0", id, i, 1000 + i));
	}
	return head;
}

static void test_a_headless_chain_says_where_its_pieces_start_until_the_head_is_joined(void)
{
	/* A returning customer after 23 messages: block 3 (21..30) holds 21..23 in piece 23. */
	lc_store_recent_chain_t c = lc_store_recent_chain_headless(23);
	CU_ASSERT_EQUAL(c.from, 24);
	add_numbered(&c, 24);
	add_numbered(&c, 25);
	lc_store_recent_piece_t p = lc_store_recent_chain_piece(&c, "web", "c1");
	CU_ASSERT_EQUAL(p.last, 25);
	CU_ASSERT_EQUAL(p.from, 24);
	CU_ASSERT_STRING_EQUAL(ids_of(p), "m24 m25");
	/* The head comes: the next pieces hold the block from its first message. */
	CU_ASSERT_TRUE(lc_store_recent_chain_join_head(&c, 23, head_of(21, 23), 0));
	CU_ASSERT_EQUAL(c.from, 0);
	add_numbered(&c, 26);
	p = lc_store_recent_chain_piece(&c, "web", "c1");
	CU_ASSERT_EQUAL(p.from, 0);
	CU_ASSERT_STRING_EQUAL(ids_of(p), "m21 m22 m23 m24 m25 m26");
	for (int i = 27; i <= 29; i++)
		CU_ASSERT_FALSE(add_numbered(&c, i));
	CU_ASSERT_TRUE(add_numbered(&c, 30));
	CU_ASSERT_STRING_EQUAL(ids_of(lc_store_recent_chain_piece(&c, "web", "c1")),
			       "m21 m22 m23 m24 m25 m26 m27 m28 m29 m30");
	lc_store_recent_chain_clear(&c);
}

static void test_a_head_that_comes_too_late_is_dropped_and_a_new_block_is_whole(void)
{
	lc_store_recent_chain_t c = lc_store_recent_chain_headless(28);
	for (int i = 29; i <= 31; i++)
		add_numbered(&c, i);
	/* Block 3 filled headless: its full piece 30 says it starts at 29; block 4 is whole. */
	CU_ASSERT_EQUAL(c.from, 0);
	CU_ASSERT_FALSE(lc_store_recent_chain_join_head(&c, 28, head_of(21, 28), 0));
	lc_store_recent_piece_t p = lc_store_recent_chain_piece(&c, "web", "c1");
	CU_ASSERT_EQUAL(p.from, 0);
	CU_ASSERT_STRING_EQUAL(ids_of(p), "m31");
	lc_store_recent_chain_clear(&c);

	/* A head for another count (a chain started again since) does not fit either. */
	c = lc_store_recent_chain_headless(23);
	CU_ASSERT_FALSE(lc_store_recent_chain_join_head(&c, 22, head_of(21, 22), 0));
	CU_ASSERT_EQUAL(c.from, 24);
	lc_store_recent_chain_clear(&c);

	/* At a block's end there is no head to wait for. */
	c = lc_store_recent_chain_headless(30);
	CU_ASSERT_EQUAL(c.from, 0);
	lc_store_recent_chain_clear(&c);
}

static void test_a_head_that_was_itself_headless_keeps_its_start(void)
{
	/* Piece 23 was written headless from 22: the chain now starts its block at 22. */
	lc_store_recent_chain_t c = lc_store_recent_chain_headless(23);
	add_numbered(&c, 24);
	CU_ASSERT_TRUE(lc_store_recent_chain_join_head(&c, 23, head_of(22, 23), 22));
	lc_store_recent_piece_t p = lc_store_recent_chain_piece(&c, "web", "c1");
	CU_ASSERT_EQUAL(p.from, 22);
	CU_ASSERT_STRING_EQUAL(ids_of(p), "m22 m23 m24");
	lc_store_recent_chain_clear(&c);
}

int init_recent_tests(void)
{
	CU_pSuite s = CU_add_suite("recent", NULL, NULL);
	if (s == NULL)
		return -1;
	if (!CU_add_test(s, "the chain keeps a copy of its own, never the caller's message",
			 test_the_chain_keeps_a_copy_of_its_own_never_the_callers_message) ||
	    !CU_add_test(s, "the chain reports each full block and starts the next",
			 test_the_chain_reports_each_full_block_and_starts_the_next) ||
	    !CU_add_test(s, "the pick gives the newest by time then seq, each once",
			 test_the_pick_gives_the_newest_by_time_then_seq_each_once) ||
	    !CU_add_test(s, "a headless chain says where its pieces start until the head is joined",
			 test_a_headless_chain_says_where_its_pieces_start_until_the_head_is_joined) ||
	    !CU_add_test(s, "a head that comes too late is dropped and a new block is whole",
			 test_a_head_that_comes_too_late_is_dropped_and_a_new_block_is_whole) ||
	    !CU_add_test(s, "a head that was itself headless keeps its start",
			 test_a_head_that_was_itself_headless_keeps_its_start))
		return -1;
	return 0;
}
