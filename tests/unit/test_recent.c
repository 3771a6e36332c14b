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
	lc_store_recent_chain_t c = { 0, NULL };
	json_object *m = msg("r1", "m1", 1, 1000);
	CU_ASSERT_FALSE(lc_store_recent_chain_add(&c, m));
	/* The stored message goes on to the event loop or a worker while the writer keeps the
	 * chain: a reference shared between threads races on json-c's counts. The caller's put
	 * must free it. */
	CU_ASSERT_EQUAL(json_object_put(m), 1);
	json_object *last = lc_store_recent_chain_last(&c);
	CU_ASSERT_STRING_EQUAL(lc_json_get_str(last, "id", ""), "m1");
	json_object *piece = lc_store_recent_chain_piece(&c);
	CU_ASSERT_EQUAL(json_object_array_length(piece), 1);
	CU_ASSERT_PTR_EQUAL(json_object_array_get_idx(piece, 0), last);
	json_object_put(piece);
	lc_store_recent_chain_clear(&c);
}

static void test_the_chain_reports_each_full_block_and_starts_the_next(void)
{
	lc_store_recent_chain_t c = { 0, NULL };
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
	json_object *piece = lc_store_recent_chain_piece(&c);
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
			 test_the_pick_gives_the_newest_by_time_then_seq_each_once))
		return -1;
	return 0;
}
