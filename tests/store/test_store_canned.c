/* SPDX-License-Identifier: MIT */
/* Store tests of canned responses: round trip, shortcut unique per owner (on insert and on
 * update), listing by owner / prefix / literal case-insensitive text. */
#include "config.h"
#include "store_tests.h"

#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>

static void test_canned_create_get_update_delete_round_trip(void)
{
	lc_err_t err = { 0 };
	json_object *c = NULL, *got = NULL, *upd = NULL;
	char *owner = tuniq("owner");

	CU_ASSERT_EQUAL_FATAL(lc_store_canned_create(test_store, owner, "hi", "Greeting",
						     "Hello, how can I help?", &c, &err), LC_OK);
	const char *id = tstr(c, "id");
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	CU_ASSERT_STRING_EQUAL(tstr(c, "owner_id"), owner);
	CU_ASSERT_EQUAL_FATAL(lc_store_canned_get(test_store, id, &got, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(got, "text"), "Hello, how can I help?");
	CU_ASSERT_EQUAL(tint(got, "created_at"), tint(c, "created_at"));

	CU_ASSERT_EQUAL_FATAL(lc_store_canned_update(test_store, id, NULL, "Hello", NULL, &upd, &err),
			      LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(upd, "title"), "Hello");
	CU_ASSERT_STRING_EQUAL(tstr(upd, "shortcut"), "hi");
	CU_ASSERT_STRING_EQUAL(tstr(upd, "text"), "Hello, how can I help?");

	CU_ASSERT_EQUAL(lc_store_canned_delete(test_store, id, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_canned_delete(test_store, id, &err), LC_ERR_NOT_FOUND);
	json_object *gone = NULL;
	CU_ASSERT_EQUAL(lc_store_canned_get(test_store, id, &gone, &err), LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(lc_store_canned_get(test_store, "bogus", &gone, &err), LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(lc_store_canned_update(test_store, id, "x", NULL, NULL, &gone, &err),
			LC_ERR_NOT_FOUND);
	json_object_put(c);
	json_object_put(got);
	json_object_put(upd);
	free(owner);
}

static void test_same_shortcut_conflicts_for_one_owner_not_across_owners(void)
{
	lc_err_t err = { 0 };
	json_object *c2 = NULL;
	char *a = tuniq("owner-a"), *b = tuniq("owner-b");

	CU_ASSERT_EQUAL(lc_store_canned_create(test_store, a, "bye", "Bye", "Goodbye", NULL, &err),
			LC_OK);
	CU_ASSERT_EQUAL(lc_store_canned_create(test_store, a, "bye", "Bye 2", "Bye!", NULL, &err),
			LC_ERR_CONFLICT);
	CU_ASSERT_STRING_EQUAL(err.reason, "shortcut already exists");
	CU_ASSERT_STRING_EQUAL(err.field, "shortcut");
	CU_ASSERT_EQUAL(lc_store_canned_create(test_store, b, "bye", "Bye", "Goodbye", NULL, &err),
			LC_OK);

	/* Renaming onto a taken shortcut is a conflict too (FerretDB reports this one differently
	 * from an insert's duplicate key). */
	CU_ASSERT_EQUAL_FATAL(lc_store_canned_create(test_store, a, "later", "L", "See you", &c2, &err),
			      LC_OK);
	CU_ASSERT_EQUAL(lc_store_canned_update(test_store, tstr(c2, "id"), "bye", NULL, NULL, NULL,
					       &err), LC_ERR_CONFLICT);
	CU_ASSERT_STRING_EQUAL(err.reason, "shortcut already exists");
	json_object *still = NULL;
	CU_ASSERT_EQUAL_FATAL(lc_store_canned_get(test_store, tstr(c2, "id"), &still, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(still, "shortcut"), "later");
	json_object_put(still);
	json_object_put(c2);
	free(a);
	free(b);
}

static int64_t list_count(const char *owner, const char *prefix, const char *q)
{
	lc_err_t err = { 0 };
	json_object *items = NULL;
	int64_t total = -1;
	if (lc_store_canned_list(test_store, owner, prefix, q, 0, 0, &items, &total, &err) != LC_OK)
		return -2;
	if ((int64_t)json_object_array_length(items) != total)
		total = -3;
	json_object_put(items);
	return total;
}

static void test_canned_list_by_owner_prefix_and_literal_text(void)
{
	lc_err_t err = { 0 };
	json_object *items = NULL;
	int64_t total = -1;
	char *o = tuniq("lister"), *p = tuniq("other");

	CU_ASSERT_EQUAL(lc_store_canned_create(test_store, o, "ship.1", "Shipping", "Ships in 3 days",
					       NULL, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_canned_create(test_store, o, "shipX", "Express", "Costs (a lot)",
					       NULL, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_canned_create(test_store, o, "refund", "REFUNDS", "Within 30 days",
					       NULL, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_canned_create(test_store, p, "ship.1", "Other", "Other's", NULL, &err),
			LC_OK);

	CU_ASSERT_EQUAL(list_count(o, NULL, NULL), 3);
	CU_ASSERT_EQUAL(list_count(o, "ship", NULL), 2);
	/* "." in the prefix is a dot, not "any character". */
	CU_ASSERT_EQUAL(list_count(o, "ship.", NULL), 1);
	CU_ASSERT_EQUAL(list_count(o, "s.ip", NULL), 0);
	CU_ASSERT_EQUAL(list_count(o, NULL, "refund"), 1);        /* case-insensitive title */
	CU_ASSERT_EQUAL(list_count(o, NULL, "DAYS"), 2);          /* case-insensitive text */
	CU_ASSERT_EQUAL(list_count(o, NULL, "(a lot)"), 1);       /* parentheses are literal */
	CU_ASSERT_EQUAL(list_count(o, NULL, ".*"), 0);            /* no regex injection */
	CU_ASSERT_EQUAL(list_count(o, NULL, "[a-z]+"), 0);
	CU_ASSERT_EQUAL(list_count(o, NULL, "\\"), 0);
	CU_ASSERT_EQUAL(list_count(NULL, "ship.1", NULL) >= 2, 1); /* every owner */

	CU_ASSERT_EQUAL_FATAL(lc_store_canned_list(test_store, o, NULL, NULL, 1, 1, &items, &total,
						   &err), LC_OK);
	CU_ASSERT_EQUAL(total, 3);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(items), 1);
	/* sorted by shortcut: refund, ship.1, shipX */
	CU_ASSERT_STRING_EQUAL(tstr(json_object_array_get_idx(items, 0), "shortcut"), "ship.1");
	json_object_put(items);

	CU_ASSERT_EQUAL(lc_store_canned_delete_owner(test_store, o, &err), LC_OK);
	CU_ASSERT_EQUAL(list_count(o, NULL, NULL), 0);
	CU_ASSERT_EQUAL(list_count(p, NULL, NULL), 1);
	free(o);
	free(p);
}

int init_store_canned_tests(void)
{
	CU_pSuite s = CU_add_suite("store_canned", NULL, NULL);
	if (s == NULL)
		return -1;
	CU_ADD_TEST(s, test_canned_create_get_update_delete_round_trip);
	CU_ADD_TEST(s, test_same_shortcut_conflicts_for_one_owner_not_across_owners);
	CU_ADD_TEST(s, test_canned_list_by_owner_prefix_and_literal_text);
	return 0;
}
