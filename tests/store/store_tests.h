/* SPDX-License-Identifier: MIT */
/* Tests of lc_store against a real MongoDB-protocol server: each area's file registers one suite
 * through init_<area>_tests(); test_store.c owns the store and the database and runs them all. */
#ifndef STORE_TESTS_H
#define STORE_TESTS_H

#include <stdbool.h>
#include <json-c/json.h>
#include "lc_store.h"

/* The store every test uses: a fresh database, lc_store_init already run. */
extern lc_store_t *test_store;
extern const char *test_mongo_uri;

int init_store_accounts_tests(void);
int init_store_canned_tests(void);
int init_store_rooms_tests(void);
int init_store_messages_tests(void);
int init_store_batch_tests(void);
int init_store_order_tests(void);

/* Field getters for assertions (NULL / -1 when absent). */
const char *tstr(json_object *o, const char *key);
int64_t tint(json_object *o, const char *key);
/* A unique string for this run ("<prefix>-<n>"), so tests never depend on each other's data. */
char *tuniq(const char *prefix);
/* The id of a new widget room of customer_id, opened with lc_store_room_open (NULL on failure;
 * the caller frees it). */
char *topen_room(const char *customer_id);

#endif
