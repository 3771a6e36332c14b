/* SPDX-License-Identifier: MIT */
/* The runner of the store tests: needs LIVECHAT_MONGO_URI (fails loudly without it), creates the
 * database lc_test_store_<pid>, runs every suite with CUnit's basic runner, drops the database
 * and exits non-zero when any test failed. */
#include "config.h"
#include "store_tests.h"
#include "lc_alloc.h"
#include "cunit_run.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <CUnit/Basic.h>

lc_store_t *test_store;
const char *test_mongo_uri;

const char *tstr(json_object *o, const char *key)
{
	json_object *v;
	if (o == NULL || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int64_t tint(json_object *o, const char *key)
{
	json_object *v;
	if (o == NULL || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

char *tuniq(const char *prefix)
{
	static atomic_int n;
	return lc_asprintf("%s-%d", prefix, atomic_fetch_add(&n, 1));
}

char *topen_room(const char *customer_id)
{
	lc_err_t err = { 0 };
	json_object *room = NULL;
	bool created;
	if (lc_store_room_open(test_store, "widget", customer_id, "B", &room, &created, &err) != LC_OK)
		return NULL;
	char *id = lc_strdup(tstr(room, "id"));
	json_object_put(room);
	return id;
}

int main(void)
{
	int (*const inits[])(void) = {
		init_store_accounts_tests, init_store_canned_tests, init_store_rooms_tests,
		init_store_messages_tests, init_store_batch_tests, init_store_order_tests,
	};
	lc_err_t err = { 0 };
	char db[64];

	test_mongo_uri = getenv("LIVECHAT_MONGO_URI");
	if (test_mongo_uri == NULL || *test_mongo_uri == '\0') {
		fprintf(stderr, "test_store: FAIL: LIVECHAT_MONGO_URI is not set (source tests/test-env.sh "
			"and start the servers with tests/services.sh start)\n");
		return 1;
	}
	snprintf(db, sizeof db, "lc_test_store_%ld", (long)getpid());
	test_store = lc_store_new(test_mongo_uri, db, &err);
	if (test_store == NULL) {
		fprintf(stderr, "test_store: FAIL: lc_store_new: %s\n", err.reason);
		return 1;
	}
	if (lc_store_init(test_store, &err) != LC_OK) {
		fprintf(stderr, "test_store: FAIL: lc_store_init on %s: %s: %s\n", test_mongo_uri,
			lc_rc_name(err.code), err.reason);
		lc_store_free(&test_store);
		return 1;
	}

	int status = lc_cunit_run("test_store", inits, sizeof inits / sizeof inits[0]);

	if (lc_store_drop_database(test_store, &err) != LC_OK)
		fprintf(stderr, "test_store: could not drop %s: %s\n", db, err.reason);
	lc_store_free(&test_store);
	return status;
}
