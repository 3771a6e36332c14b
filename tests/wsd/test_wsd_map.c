/* SPDX-License-Identifier: MIT */
/* CUnit tests of wsd/map.c, the string -> pointer table behind the loop's indexes (agents by
 * user id, widget customers, waiting requests). Pure logic: no servers. Linked from libwsd.a. */
#include "config.h"
#include "map.h"
#include "wsd.h"          /* wsd_hash */
#include "wsd_unit_tests.h"

#include <CUnit/Basic.h>
#include <stdio.h>

static void test_get_returns_null_for_a_missing_key(void)
{
	wsd_map_t *m = wsd_map_new();
	CU_ASSERT_PTR_NULL(wsd_map_get(m, "nope"));
	CU_ASSERT_PTR_NULL(wsd_map_del(m, "nope"));
	CU_ASSERT_EQUAL(wsd_map_count(m), 0);
	wsd_map_free(&m);
	CU_ASSERT_PTR_NULL(m);
}

static void test_put_replaces_and_returns_the_previous_value(void)
{
	wsd_map_t *m = wsd_map_new();
	int a, b;
	CU_ASSERT_PTR_NULL(wsd_map_put(m, "k", &a));
	CU_ASSERT_PTR_EQUAL(wsd_map_put(m, "k", &b), &a);
	CU_ASSERT_PTR_EQUAL(wsd_map_get(m, "k"), &b);
	CU_ASSERT_EQUAL(wsd_map_count(m), 1);
	wsd_map_free(&m);
}

static void test_the_key_is_copied(void)
{
	wsd_map_t *m = wsd_map_new();
	char key[8] = "room1";
	int v;
	wsd_map_put(m, key, &v);
	key[4] = '2';
	CU_ASSERT_PTR_EQUAL(wsd_map_get(m, "room1"), &v);
	CU_ASSERT_PTR_NULL(wsd_map_get(m, "room2"));
	wsd_map_free(&m);
}

static void count_cb(const char *k, void *v, void *ctx)
{
	(*(size_t *)ctx)++;
}

static void test_ten_thousand_keys_survive_growth_and_deletion(void)
{
	wsd_map_t *m = wsd_map_new();
	static int vals[10000];
	char key[32];
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof key, "user-%d", i);
		wsd_map_put(m, key, &vals[i]);
	}
	CU_ASSERT_EQUAL(wsd_map_count(m), 10000);
	for (int i = 0; i < 10000; i += 2) {
		snprintf(key, sizeof key, "user-%d", i);
		CU_ASSERT_PTR_EQUAL(wsd_map_del(m, key), &vals[i]);
	}
	CU_ASSERT_EQUAL(wsd_map_count(m), 5000);
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof key, "user-%d", i);
		void *want = (i % 2) ? &vals[i] : NULL;
		CU_ASSERT_PTR_EQUAL(wsd_map_get(m, key), want);
	}
	size_t n = 0;
	wsd_map_each(m, count_cb, &n);
	CU_ASSERT_EQUAL(n, 5000);
	const char *keys[10];
	CU_ASSERT_EQUAL(wsd_map_keys(m, keys, 10), 10);
	wsd_map_free(&m);
}

static void test_hash_is_stable_fnv1a(void)
{
	/* FNV-1a test vectors: the worker a key maps to must not change between builds. */
	CU_ASSERT_EQUAL(wsd_hash(""), 2166136261u);
	CU_ASSERT_EQUAL(wsd_hash("a"), 0xe40c292cu);
	CU_ASSERT_EQUAL(wsd_hash("foobar"), 0xbf9cf968u);
}

int init_wsd_map_tests(void)
{
	CU_pSuite s = CU_add_suite("wsd_map", NULL, NULL);
	if (s == NULL)
		return -1;
	if (!CU_add_test(s, "get returns NULL for a missing key", test_get_returns_null_for_a_missing_key) ||
	    !CU_add_test(s, "put replaces and returns the previous value", test_put_replaces_and_returns_the_previous_value) ||
	    !CU_add_test(s, "the key is copied", test_the_key_is_copied) ||
	    !CU_add_test(s, "ten thousand keys survive growth and deletion", test_ten_thousand_keys_survive_growth_and_deletion) ||
	    !CU_add_test(s, "hash is stable FNV-1a", test_hash_is_stable_fnv1a))
		return -1;
	return 0;
}
