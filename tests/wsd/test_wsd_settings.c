/* SPDX-License-Identifier: MIT */
/* CUnit tests of wsd/settings.c, the settings cache that wsd's worker threads share. The
 * threaded test is the regression test of issue 11, defect 1: a cache that hands out references
 * to one json_object (json-c's counts are not atomic) fails it under ASan (use after free or
 * double free). Pure logic: the loader is a function here, no servers. */
#include "config.h"
#include "settings.h"
#include "wsd_unit_tests.h"

#include "lc_json.h"
#include "lc_settings.h"

#include <CUnit/Basic.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* Times on the caller's clock, in ms (wsd passes lc_mono_ms). */
#define T0 1700000000000LL

/* The store stand-in: each read returns a new object whose request_timeout counts the reads. */
typedef struct {
	atomic_int reads;
	atomic_int seen;
	int fail;
} loader_t;

static lc_rc load_counting(void *ctx, json_object **out, lc_err_t *err)
{
	loader_t *l = ctx;
	if (l->fail) {
		lc_err_set(err, LC_ERR_UNAVAILABLE, "store down");
		return LC_ERR_UNAVAILABLE;
	}
	int n = atomic_fetch_add(&l->reads, 1) + 1;
	*out = json_object_new_object();
	json_object_object_add(*out, "request_timeout", json_object_new_int(n));
	json_object_object_add(*out, "greeting", json_object_new_string("hello {customer}"));
	return LC_OK;
}

static void seen_counting(void *ctx, json_object *s)
{
	loader_t *l = ctx;
	atomic_fetch_add(&l->seen, 1);
}

static void test_each_caller_gets_its_own_copy(void)
{
	loader_t l = { 0 };
	wsd_settings_t *s = wsd_settings_new(load_counting, seen_counting, &l, 60000);
	json_object *a = wsd_settings_copy(s, T0 + 1000);
	json_object *b = wsd_settings_copy(s, T0 + 1001);
	CU_ASSERT_PTR_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL(atomic_load(&l.reads), 1);
	CU_ASSERT_EQUAL(atomic_load(&l.seen), 1);
	/* A caller's changes stay in its copy. */
	json_object_object_add(a, "greeting", json_object_new_string("changed"));
	json_object *c = wsd_settings_copy(s, T0 + 1002);
	json_object *g;
	CU_ASSERT(json_object_object_get_ex(c, "greeting", &g));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(g), "hello {customer}");
	/* Defaults fill what the store does not hold. */
	CU_ASSERT(json_object_object_get_ex(c, "reconnect_grace", NULL));
	json_object_put(a);
	json_object_put(b);
	json_object_put(c);
	wsd_settings_free(&s);
	CU_ASSERT_PTR_NULL(s);
	wsd_settings_free(&s);
}

static int timeout_of(json_object *o)
{
	json_object *v;
	return json_object_object_get_ex(o, "request_timeout", &v) ? json_object_get_int(v) : -1;
}

static void test_expiry_and_age_read_again(void)
{
	loader_t l = { 0 };
	wsd_settings_t *s = wsd_settings_new(load_counting, NULL, &l, 500);
	json_object *o = wsd_settings_copy(s, T0 + 1000);
	CU_ASSERT_EQUAL(timeout_of(o), 1);
	json_object_put(o);
	o = wsd_settings_copy(s, T0 + 1400);
	CU_ASSERT_EQUAL(timeout_of(o), 1);
	json_object_put(o);
	wsd_settings_expire_all(s);
	o = wsd_settings_copy(s, T0 + 1401);
	CU_ASSERT_EQUAL(timeout_of(o), 2);
	json_object_put(o);
	o = wsd_settings_copy(s, T0 + 2000);
	CU_ASSERT_EQUAL(timeout_of(o), 3);
	json_object_put(o);
	wsd_settings_free(&s);
}

static void test_a_store_down_at_start_gives_the_defaults(void)
{
	loader_t l = { .fail = 1 };
	wsd_settings_t *s = wsd_settings_new(load_counting, NULL, &l, 60000);
	json_object *o = wsd_settings_copy(s, T0 + 1000);
	CU_ASSERT_EQUAL(timeout_of(o), 120);
	json_object_put(o);
	l.fail = 0;
	o = wsd_settings_copy(s, T0 + 1001);
	CU_ASSERT_EQUAL(timeout_of(o), 1);
	json_object_put(o);
	wsd_settings_free(&s);
}

/* wsd passes lc_mono_ms, which counts from boot: on a machine up for less than the TTL (an hour
 * of --settings-check), an expiry and the defaults of a store down at start must still be read
 * again at once (they were kept for the whole TTL: "expired" was the time 0). */
static void test_expiry_and_defaults_read_again_soon_after_boot(void)
{
	loader_t l = { .fail = 1 };
	wsd_settings_t *s = wsd_settings_new(load_counting, NULL, &l, 3600 * 1000);
	json_object *o = wsd_settings_copy(s, 5000);
	CU_ASSERT_EQUAL(timeout_of(o), 120);
	json_object_put(o);
	l.fail = 0;
	o = wsd_settings_copy(s, 5001);
	CU_ASSERT_EQUAL(timeout_of(o), 1);
	json_object_put(o);
	o = wsd_settings_copy(s, 6000);
	CU_ASSERT_EQUAL(timeout_of(o), 1);
	json_object_put(o);
	wsd_settings_expire_all(s);
	o = wsd_settings_copy(s, 6001);
	CU_ASSERT_EQUAL(timeout_of(o), 2);
	json_object_put(o);
	wsd_settings_free(&s);
}

#define HAMMER_THREADS 4
#define HAMMER_ROUNDS 20000

typedef struct {
	wsd_settings_t *s;
	atomic_int *stop;
	int bad;
} hammer_t;

/* A worker formatting system messages: copy, read, render, release. */
static void *hammer_reader(void *arg)
{
	hammer_t *h = arg;
	for (int i = 0; i < HAMMER_ROUNDS; i++) {
		json_object *o = wsd_settings_copy(h->s, T0 + 1000 + i);
		char *r = lc_settings_render(lc_json_get_str(o, "greeting", ""), "Ann", "Bob");
		if (r == NULL || strcmp(r, "hello Bob") != 0 || timeout_of(o) < 1)
			h->bad++;
		free(r);
		json_object_put(o);
	}
	return NULL;
}

/* The settings events: each one makes the next reader replace the snapshot. */
static void *hammer_expirer(void *arg)
{
	hammer_t *h = arg;
	while (!atomic_load(h->stop))
		wsd_settings_expire_all(h->s);
	return NULL;
}

static void test_threads_copying_while_settings_change_share_nothing(void)
{
	loader_t l = { 0 };
	atomic_int stop = 0;
	wsd_settings_t *s = wsd_settings_new(load_counting, seen_counting, &l, 60000);
	hammer_t h[HAMMER_THREADS + 1];
	pthread_t t[HAMMER_THREADS + 1];
	for (int i = 0; i <= HAMMER_THREADS; i++) {
		h[i] = (hammer_t){ .s = s, .stop = &stop };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL,
			i == HAMMER_THREADS ? hammer_expirer : hammer_reader, &h[i]), 0);
	}
	for (int i = 0; i < HAMMER_THREADS; i++)
		pthread_join(t[i], NULL);
	atomic_store(&stop, 1);
	pthread_join(t[HAMMER_THREADS], NULL);
	for (int i = 0; i < HAMMER_THREADS; i++)
		CU_ASSERT_EQUAL(h[i].bad, 0);
	/* The snapshot was replaced while others were reading it. */
	CU_ASSERT(atomic_load(&l.reads) > 1);
	CU_ASSERT_EQUAL(atomic_load(&l.seen), atomic_load(&l.reads));
	wsd_settings_free(&s);
}

int init_wsd_settings_tests(void)
{
	CU_pSuite s = CU_add_suite("wsd_settings", NULL, NULL);
	if (s == NULL)
		return -1;
	if (!CU_add_test(s, "each caller gets its own copy", test_each_caller_gets_its_own_copy) ||
	    !CU_add_test(s, "expiry and age read again", test_expiry_and_age_read_again) ||
	    !CU_add_test(s, "a store down at start gives the defaults", test_a_store_down_at_start_gives_the_defaults) ||
	    !CU_add_test(s, "expiry and defaults read again soon after boot",
			 test_expiry_and_defaults_read_again_soon_after_boot) ||
	    !CU_add_test(s, "threads copying while settings change share nothing",
			 test_threads_copying_while_settings_change_share_nothing))
		return -1;
	return 0;
}
