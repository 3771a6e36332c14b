/* SPDX-License-Identifier: MIT */
/* CUnit tests of wsd/batch.c without a store: what staging and dropping do to the batch and to
 * the writer's slots (storing is tested against FerretDB by tests/wsd/writer.test.mjs). */
#include "config.h"
#include "batch.h"
#include "wsd_unit_tests.h"

#include <CUnit/Basic.h>
#include <string.h>

static void stage(wsd_batch_t *b, wsd_wslot_t *slot, int64_t seq, void *owner)
{
	wsd_batch_add(b, "6565f0c2a1b2c3d4e5f60718", "widget", "c1", "m", "customer", "Ann", "hi",
		      seq, 1700000000000LL, slot, owner);
}

static bool owner_is(void *owner, void *ctx)
{
	return owner == ctx;
}

static void test_staging_marks_the_slot_with_its_room(void)
{
	wsd_batch_t *b = wsd_batch_new(NULL);
	wsd_wslot_t slot = { .done = true };
	stage(b, &slot, 1, NULL);
	CU_ASSERT_TRUE(slot.staged);
	CU_ASSERT_FALSE(slot.done);
	CU_ASSERT_STRING_EQUAL(slot.room_id, "6565f0c2a1b2c3d4e5f60718");
	CU_ASSERT_EQUAL(wsd_batch_count(b), 1);
	wsd_batch_free(&b);
	CU_ASSERT_PTR_NULL(b);
}

static void test_dropping_one_owner_keeps_the_others_in_order(void)
{
	wsd_batch_t *b = wsd_batch_new(NULL);
	int gw, cmd;
	wsd_wslot_t slots[200];
	memset(slots, 0, sizeof slots);
	/* Past the first growth (64), alternating owners. */
	for (int i = 0; i < 200; i++)
		stage(b, &slots[i], i + 1, i % 2 ? (void *)&cmd : (void *)&gw);
	CU_ASSERT_EQUAL(wsd_batch_count(b), 200);
	wsd_batch_drop_if(b, owner_is, &cmd);
	CU_ASSERT_EQUAL(wsd_batch_count(b), 100);
	for (int i = 0; i < 200; i++)
		CU_ASSERT_EQUAL(slots[i].staged, i % 2 == 0);
	wsd_batch_drop_if(b, owner_is, &cmd);
	CU_ASSERT_EQUAL(wsd_batch_count(b), 100);
	wsd_batch_drop_if(b, owner_is, &gw);
	CU_ASSERT_EQUAL(wsd_batch_count(b), 0);
	wsd_batch_free(&b);
}

static void test_an_empty_batch_stores_without_a_round_trip(void)
{
	/* No store at all: an empty batch must not reach it. */
	wsd_batch_t *b = wsd_batch_new(NULL);
	lc_err_t err = { 0 };
	CU_ASSERT_EQUAL(wsd_batch_store(b, &err), LC_OK);
	CU_ASSERT_EQUAL(wsd_batch_marks_pending(b), 0);
	wsd_batch_free(&b);
	wsd_batch_free(&b);     /* NULL is accepted */
}

int init_wsd_batch_tests(void)
{
	CU_pSuite s = CU_add_suite("wsd_batch", NULL, NULL);
	if (s == NULL)
		return -1;
	if (!CU_add_test(s, "staging marks the slot with its room",
			 test_staging_marks_the_slot_with_its_room) ||
	    !CU_add_test(s, "dropping one owner keeps the others in order",
			 test_dropping_one_owner_keeps_the_others_in_order) ||
	    !CU_add_test(s, "an empty batch stores without a round trip",
			 test_an_empty_batch_stores_without_a_round_trip))
		return -1;
	return 0;
}
