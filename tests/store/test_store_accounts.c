/* SPDX-License-Identifier: MIT */
/* Store tests of the account side: users, permission groups (and their seeding), auth sessions,
 * failed-login counting, the settings document, and how a missing server is reported. */
#include "config.h"
#include "store_tests.h"
#include "lc_perm.h"
#include "lc_settings.h"
#include "lc_time.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <CUnit/CUnit.h>

static void test_user_create_get_update_delete_round_trip(void)
{
	lc_err_t err = { 0 };
	json_object *u = NULL, *g = NULL, *byname = NULL, *upd = NULL;
	char *name = tuniq("alice");

	CU_ASSERT_EQUAL_FATAL(lc_store_user_create(test_store, name, "Alice", "agent", true, "HASH1",
						   &u, &err), LC_OK);
	const char *id = tstr(u, "id");
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	CU_ASSERT_EQUAL(strlen(id), 24);
	CU_ASSERT_PTR_NULL(tstr(u, "password_hash"));
	CU_ASSERT(tint(u, "created_at") > 1600000000000LL);

	CU_ASSERT_EQUAL_FATAL(lc_store_user_get(test_store, id, &g, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(g, "username"), name);
	CU_ASSERT_PTR_NULL(tstr(g, "password_hash"));
	CU_ASSERT_PTR_NULL(tstr(g, "_id"));
	CU_ASSERT_EQUAL_FATAL(lc_store_user_get_by_username(test_store, name, &byname, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(byname, "id"), id);
	CU_ASSERT_PTR_NULL(tstr(byname, "password_hash"));
	json_object_put(byname);
	byname = NULL;
	/* Only the credentials read, for the password checks, carries the hash. */
	CU_ASSERT_EQUAL_FATAL(lc_store_user_get_credentials(test_store, name, &byname, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(byname, "password_hash"), "HASH1");
	CU_ASSERT_STRING_EQUAL(tstr(byname, "id"), id);

	CU_ASSERT_EQUAL_FATAL(lc_store_user_update(test_store, id, "Alice B", "supervisor", 0, &upd,
						   &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(upd, "display_name"), "Alice B");
	CU_ASSERT_STRING_EQUAL(tstr(upd, "group"), "supervisor");
	CU_ASSERT_FALSE(json_object_get_boolean(json_object_object_get(upd, "active")));
	CU_ASSERT_PTR_NULL(tstr(upd, "password_hash"));

	CU_ASSERT_EQUAL(lc_store_user_set_password(test_store, id, "HASH2", &err), LC_OK);
	json_object_put(g);
	g = NULL;
	CU_ASSERT_EQUAL_FATAL(lc_store_user_get_credentials(test_store, name, &g, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(g, "password_hash"), "HASH2");
	CU_ASSERT_STRING_EQUAL(tstr(g, "display_name"), "Alice B");

	CU_ASSERT_EQUAL(lc_store_user_delete(test_store, id, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_user_delete(test_store, id, &err), LC_ERR_NOT_FOUND);
	json_object *gone = NULL;
	CU_ASSERT_EQUAL(lc_store_user_get(test_store, id, &gone, &err), LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(lc_store_user_update(test_store, id, "x", NULL, -1, &gone, &err),
			LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(lc_store_user_set_password(test_store, id, "x", &err), LC_ERR_NOT_FOUND);
	json_object_put(u);
	json_object_put(g);
	json_object_put(byname);
	json_object_put(upd);
	free(name);
}

static void test_duplicate_username_is_conflict_naming_the_field(void)
{
	lc_err_t err = { 0 };
	char *name = tuniq("bob");
	CU_ASSERT_EQUAL(lc_store_user_create(test_store, name, "Bob", "agent", true, "H", NULL, &err),
			LC_OK);
	CU_ASSERT_EQUAL(lc_store_user_create(test_store, name, "Bob 2", "agent", true, "H", NULL,
					     &err), LC_ERR_CONFLICT);
	CU_ASSERT_STRING_EQUAL(err.reason, "username already exists");
	CU_ASSERT_STRING_EQUAL(err.field, "username");
	free(name);
}

static void test_malformed_object_id_is_not_found(void)
{
	lc_err_t err = { 0 };
	json_object *o = NULL;
	CU_ASSERT_EQUAL(lc_store_user_get(test_store, "not-an-id", &o, &err), LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(lc_store_user_get(test_store, "", &o, &err), LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(lc_store_user_get(test_store, NULL, &o, &err), LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(lc_store_user_delete(test_store, "zzzzzzzzzzzzzzzzzzzzzzzz", &err),
			LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(lc_store_user_get(test_store, "000000000000000000000000", &o, &err),
			LC_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(o);
}

static void test_user_list_filters_pages_and_hides_password_hash(void)
{
	lc_err_t err = { 0 };
	json_object *items = NULL;
	int64_t total = -1, n = -1;
	char *grp = tuniq("listgrp");
	char *names[4];

	for (int i = 0; i < 4; i++) {
		names[i] = tuniq("lister");
		CU_ASSERT_EQUAL(lc_store_user_create(test_store, names[i], "L", grp, i != 3, "SECRET",
						     NULL, &err), LC_OK);
	}
	CU_ASSERT_EQUAL_FATAL(lc_store_user_list(test_store, grp, -1, 1, 2, &items, &total, &err),
			      LC_OK);
	CU_ASSERT_EQUAL(total, 4);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(items), 2);
	/* Sorted by username: skip 1 gives the second and third. */
	CU_ASSERT_STRING_EQUAL(tstr(json_object_array_get_idx(items, 0), "username"), names[1]);
	CU_ASSERT_STRING_EQUAL(tstr(json_object_array_get_idx(items, 1), "username"), names[2]);
	for (size_t i = 0; i < json_object_array_length(items); i++)
		CU_ASSERT_PTR_NULL(tstr(json_object_array_get_idx(items, i), "password_hash"));
	json_object_put(items);

	CU_ASSERT_EQUAL(lc_store_user_list(test_store, grp, 0, 0, 0, &items, &total, &err), LC_OK);
	CU_ASSERT_EQUAL(total, 1);
	CU_ASSERT_EQUAL(json_object_array_length(items), 1);
	json_object_put(items);

	CU_ASSERT_EQUAL(lc_store_user_count(test_store, grp, true, &n, &err), LC_OK);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(lc_store_user_count(test_store, grp, false, &n, &err), LC_OK);
	CU_ASSERT_EQUAL(n, 4);
	for (int i = 0; i < 4; i++)
		free(names[i]);
	free(grp);
}

static json_object *find_group(json_object *items, const char *name)
{
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		json_object *g = json_object_array_get_idx(items, i);
		if (tstr(g, "name") != NULL && strcmp(tstr(g, "name"), name) == 0)
			return g;
	}
	return NULL;
}

static void test_init_seeds_builtin_groups_once_and_keeps_admin_edits(void)
{
	lc_err_t err = { 0 };
	json_object *items = NULL, *out = NULL;

	CU_ASSERT_EQUAL_FATAL(lc_store_group_list(test_store, &items, &err), LC_OK);
	json_object *admin = find_group(items, "admin");
	CU_ASSERT_PTR_NOT_NULL_FATAL(admin);
	CU_ASSERT_PTR_NOT_NULL_FATAL(find_group(items, "supervisor"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(find_group(items, "agent"));
	CU_ASSERT_STRING_EQUAL(tstr(admin, "id"), "admin");
	CU_ASSERT_TRUE(json_object_get_boolean(json_object_object_get(admin, "builtin")));
	CU_ASSERT_EQUAL(json_object_array_length(json_object_object_get(admin, "permissions")), 12);
	json_object_put(items);

	/* An admin narrows "agent"; a restart (init again) must not restore the seed. */
	json_object *perms = json_object_new_array();
	json_object_array_add(perms, json_object_new_string("chats.accept"));
	CU_ASSERT_EQUAL_FATAL(lc_store_group_update(test_store, "agent", perms, &out, &err), LC_OK);
	CU_ASSERT_EQUAL(json_object_array_length(json_object_object_get(out, "permissions")), 1);
	json_object_put(out);
	CU_ASSERT_EQUAL(lc_store_init(test_store, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_init(test_store, &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(lc_store_group_list(test_store, &items, &err), LC_OK);
	CU_ASSERT_EQUAL(json_object_array_length(items), 3);
	json_object *agent = find_group(items, "agent");
	CU_ASSERT_PTR_NOT_NULL_FATAL(agent);
	CU_ASSERT_EQUAL(json_object_array_length(json_object_object_get(agent, "permissions")), 1);
	json_object_put(items);

	/* Restore the seed for other tests. */
	json_object *seed = json_object_new_array();
	for (const lc_perm_group_seed_t *g = lc_perm_builtin_groups; g->name; g++)
		if (strcmp(g->name, "agent") == 0)
			for (size_t i = 0; g->permissions[i]; i++)
				json_object_array_add(seed, json_object_new_string(g->permissions[i]));
	CU_ASSERT_EQUAL(lc_store_group_update(test_store, "agent", seed, NULL, &err), LC_OK);
	json_object_put(seed);
	json_object_put(perms);
}

static void test_group_create_get_update_delete_and_conflicts(void)
{
	lc_err_t err = { 0 };
	json_object *out = NULL, *got = NULL;
	char *name = tuniq("night-shift");
	json_object *perms = json_object_new_array();
	json_object_array_add(perms, json_object_new_string("chats.accept"));

	CU_ASSERT_EQUAL_FATAL(lc_store_group_create(test_store, name, perms, &out, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(out, "id"), name);
	CU_ASSERT_FALSE(json_object_get_boolean(json_object_object_get(out, "builtin")));
	CU_ASSERT_EQUAL(lc_store_group_create(test_store, name, perms, NULL, &err), LC_ERR_CONFLICT);
	CU_ASSERT_STRING_EQUAL(err.reason, "group already exists");

	json_object_array_add(perms, json_object_new_string("chats.history"));
	CU_ASSERT_EQUAL(lc_store_group_update(test_store, name, perms, NULL, &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(lc_store_group_get(test_store, name, &got, &err), LC_OK);
	CU_ASSERT_EQUAL(json_object_array_length(json_object_object_get(got, "permissions")), 2);

	json_object *bad = json_object_new_string("chats.accept");
	CU_ASSERT_EQUAL(lc_store_group_update(test_store, name, bad, NULL, &err), LC_ERR_INVALID);
	CU_ASSERT_EQUAL(lc_store_group_update(test_store, "no-such-group", perms, NULL, &err),
			LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(lc_store_group_delete(test_store, "admin", &err), LC_ERR_CONFLICT);
	CU_ASSERT_EQUAL(lc_store_group_delete(test_store, name, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_group_delete(test_store, name, &err), LC_ERR_NOT_FOUND);
	json_object *gone = NULL;
	CU_ASSERT_EQUAL(lc_store_group_get(test_store, name, &gone, &err), LC_ERR_NOT_FOUND);
	json_object_put(bad);
	json_object_put(perms);
	json_object_put(out);
	json_object_put(got);
	free(name);
}

static void test_session_found_until_expiry_then_not_found(void)
{
	lc_err_t err = { 0 };
	json_object *sess = NULL;
	int64_t now = lc_real_ms();
	char *live = tuniq("tokenhash-live"), *old = tuniq("tokenhash-old"),
	     *other = tuniq("tokenhash-other"), *uid = tuniq("user");

	CU_ASSERT_EQUAL(lc_store_session_create(test_store, live, uid, now + 60000, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_session_create(test_store, old, uid, now - 1, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_session_create(test_store, other, uid, now + 60000, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_session_create(test_store, live, uid, now + 60000, &err),
			LC_ERR_CONFLICT);

	CU_ASSERT_EQUAL_FATAL(lc_store_session_get(test_store, live, &sess, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(sess, "id"), live);
	CU_ASSERT_STRING_EQUAL(tstr(sess, "user_id"), uid);
	CU_ASSERT_EQUAL(tint(sess, "expires_at"), now + 60000);
	json_object_put(sess);
	sess = NULL;
	CU_ASSERT_EQUAL(lc_store_session_get(test_store, old, &sess, &err), LC_ERR_NOT_FOUND);

	/* Revoke all but the current one. */
	CU_ASSERT_EQUAL(lc_store_session_delete_user(test_store, uid, live, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_session_get(test_store, other, &sess, &err), LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(lc_store_session_get(test_store, live, &sess, &err), LC_OK);
	json_object_put(sess);
	CU_ASSERT_EQUAL(lc_store_session_delete(test_store, live, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_session_delete(test_store, live, &err), LC_ERR_NOT_FOUND);
	sess = NULL;
	CU_ASSERT_EQUAL(lc_store_session_get(test_store, live, &sess, &err), LC_ERR_NOT_FOUND);
	free(live);
	free(old);
	free(other);
	free(uid);
}

static void test_login_failures_counted_per_user_and_address_and_cleared(void)
{
	lc_err_t err = { 0 };
	int64_t n = -1, free_at = -1, now = lc_real_ms();
	char *who = tuniq("mallory"), *else_ = tuniq("eve");
	char *addr = tuniq("10.0.0.1"), *addr2 = tuniq("10.0.0.2");

	CU_ASSERT_EQUAL(lc_store_login_failure_add(test_store, who, addr, now - 600000, 0, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_login_failure_add(test_store, who, addr, now - 60000, 0, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_login_failure_add(test_store, who, addr, now, 0, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_login_failure_add(test_store, else_, addr, now, 0, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_login_failure_add(test_store, who, addr2, now, 0, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_login_failure_count(test_store, who, addr, now - 300000, 100, &n,
						     &free_at, &err), LC_OK);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(free_at, 0);
	/* At the limit: free again when the oldest of the window leaves it. */
	CU_ASSERT_EQUAL(lc_store_login_failure_count(test_store, who, addr, now - 300000, 2, &n,
						     &free_at, &err), LC_OK);
	CU_ASSERT(free_at >= now - 60000 + 300000 && free_at <= now - 60000 + 301000);
	CU_ASSERT_EQUAL(lc_store_login_failure_count(test_store, who, addr, now - 3600000, 100, &n,
						     &free_at, &err), LC_OK);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(lc_store_login_failure_count(test_store, NULL, addr, now - 300000, 100, &n,
						     &free_at, &err), LC_OK);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(lc_store_login_failure_clear(test_store, who, addr, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_login_failure_count(test_store, who, addr, 0, 100, &n, &free_at,
						     &err), LC_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(lc_store_login_failure_count(test_store, who, addr2, 0, 100, &n, &free_at,
						     &err), LC_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(lc_store_login_failure_clear(test_store, who, NULL, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_login_failure_count(test_store, who, addr2, 0, 100, &n, &free_at,
						     &err), LC_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(lc_store_login_failure_count(test_store, else_, addr, 0, 100, &n, &free_at,
						     &err), LC_OK);
	CU_ASSERT_EQUAL(n, 1);
	free(who);
	free(else_);
	free(addr);
	free(addr2);
}

/* Defect 4 of issue 11: records of other usernames were never purged. */
static void test_login_failure_add_purges_every_old_record(void)
{
	lc_err_t err = { 0 };
	int64_t n = -1, free_at = 0, now = lc_real_ms();
	char *old = tuniq("gone"), *fresh = tuniq("here"), *addr = tuniq("10.0.0.3");

	CU_ASSERT_EQUAL(lc_store_login_failure_add(test_store, old, addr, now - 7200000, 0, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_login_failure_add(test_store, fresh, addr, now, now - 3600000, &err),
			LC_OK);
	CU_ASSERT_EQUAL(lc_store_login_failure_count(test_store, old, addr, 0, 100, &n, &free_at,
						     &err), LC_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(lc_store_login_failure_count(test_store, fresh, addr, 0, 100, &n, &free_at,
						     &err), LC_OK);
	CU_ASSERT_EQUAL(n, 1);
	free(old);
	free(fresh);
	free(addr);
}

static void test_settings_start_at_defaults_and_update_merges(void)
{
	lc_err_t err = { 0 };
	json_object *st = NULL, *after = NULL, *again = NULL;

	CU_ASSERT_EQUAL_FATAL(lc_store_settings_get(test_store, &st, &err), LC_OK);
	CU_ASSERT_EQUAL(tint(st, "history_limit"), 50);
	CU_ASSERT_EQUAL(tint(st, "request_timeout"), 120);
	CU_ASSERT_STRING_EQUAL(tstr(st, "join_message"), "{agent} has entered the chat");
	CU_ASSERT_PTR_NULL(tstr(st, "id"));

	json_object *patch = json_object_new_object();
	json_object_object_add(patch, "history_limit", json_object_new_int(10));
	json_object_object_add(patch, "waiting_message", json_object_new_string("Hold on"));
	CU_ASSERT_EQUAL_FATAL(lc_store_settings_update(test_store, patch, &after, &err), LC_OK);
	CU_ASSERT_EQUAL(tint(after, "history_limit"), 10);
	CU_ASSERT_STRING_EQUAL(tstr(after, "waiting_message"), "Hold on");
	CU_ASSERT_EQUAL(tint(after, "reconnect_grace"), 30);
	CU_ASSERT_EQUAL_FATAL(lc_store_settings_get(test_store, &again, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string(after), json_object_to_json_string(again));
	CU_ASSERT_EQUAL(json_object_object_length(again), json_object_object_length(st));

	/* init again must not reset what an admin set. */
	CU_ASSERT_EQUAL(lc_store_init(test_store, &err), LC_OK);
	json_object_put(again);
	CU_ASSERT_EQUAL_FATAL(lc_store_settings_get(test_store, &again, &err), LC_OK);
	CU_ASSERT_EQUAL(tint(again, "history_limit"), 10);

	json_object *bad = json_object_new_object();
	json_object_object_add(bad, "$where", json_object_new_int(1));
	CU_ASSERT_EQUAL(lc_store_settings_update(test_store, bad, &after, &err), LC_ERR_INVALID);

	/* Back to defaults for anyone reading later. */
	json_object *reset = lc_settings_defaults(), *out = NULL;
	CU_ASSERT_EQUAL(lc_store_settings_update(test_store, reset, &out, &err), LC_OK);
	CU_ASSERT_EQUAL(tint(out, "history_limit"), 50);
	json_object_put(out);
	json_object_put(reset);
	json_object_put(bad);
	json_object_put(patch);
	json_object_put(st);
	json_object_put(after);
	json_object_put(again);
}

static int closed_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t len = sizeof sa;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);   /* bound, never listened, closed: connections are refused */
	return ntohs(sa.sin_port);
}

static void test_unreachable_server_is_unavailable_within_seconds(void)
{
	lc_err_t err = { 0 };
	json_object *o = NULL;
	int port = closed_port();
	CU_ASSERT_FATAL(port > 0);
	char uri[64];
	snprintf(uri, sizeof uri, "mongodb://127.0.0.1:%d/", port);
	lc_store_t *down = lc_store_new(uri, "lc_test_store_down", &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(down);   /* lazy: creating works while the server is down */

	time_t t0 = time(NULL);
	CU_ASSERT_EQUAL(lc_store_ping(down, &err), LC_ERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(lc_store_user_get(down, "0123456789abcdef01234567", &o, &err),
			LC_ERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(lc_store_user_create(down, "x", "x", "agent", true, "h", NULL, &err),
			LC_ERR_UNAVAILABLE);
	/* A hang guard, not a timing goal: three calls with the 2 s default stay far below this. */
	CU_ASSERT(time(NULL) - t0 < 20);
	CU_ASSERT_PTR_NULL(o);
	lc_store_free(&down);
	CU_ASSERT_PTR_NULL(down);
	lc_store_free(&down);   /* NULL is accepted */
}

static void test_ping_answers_on_a_live_server(void)
{
	lc_err_t err = { 0 };
	CU_ASSERT_EQUAL(lc_store_ping(test_store, &err), LC_OK);
}

static void test_malformed_uri_or_database_name_is_invalid(void)
{
	lc_err_t err = { 0 };
	CU_ASSERT_PTR_NULL(lc_store_new("http://nope", "x", &err));
	CU_ASSERT_EQUAL(err.code, LC_ERR_INVALID);
	CU_ASSERT_PTR_NULL(lc_store_new(test_mongo_uri, "bad.name", &err));
	CU_ASSERT_EQUAL(err.code, LC_ERR_INVALID);
	CU_ASSERT_PTR_NULL(lc_store_new(NULL, "x", &err));
	CU_ASSERT_EQUAL(err.code, LC_ERR_INVALID);
}

int init_store_accounts_tests(void)
{
	CU_pSuite s = CU_add_suite("store_accounts", NULL, NULL);
	if (s == NULL)
		return -1;
	CU_ADD_TEST(s, test_user_create_get_update_delete_round_trip);
	CU_ADD_TEST(s, test_duplicate_username_is_conflict_naming_the_field);
	CU_ADD_TEST(s, test_malformed_object_id_is_not_found);
	CU_ADD_TEST(s, test_user_list_filters_pages_and_hides_password_hash);
	CU_ADD_TEST(s, test_init_seeds_builtin_groups_once_and_keeps_admin_edits);
	CU_ADD_TEST(s, test_group_create_get_update_delete_and_conflicts);
	CU_ADD_TEST(s, test_session_found_until_expiry_then_not_found);
	CU_ADD_TEST(s, test_login_failures_counted_per_user_and_address_and_cleared);
	CU_ADD_TEST(s, test_login_failure_add_purges_every_old_record);
	CU_ADD_TEST(s, test_settings_start_at_defaults_and_update_merges);
	CU_ADD_TEST(s, test_ping_answers_on_a_live_server);
	CU_ADD_TEST(s, test_unreachable_server_is_unavailable_within_seconds);
	CU_ADD_TEST(s, test_malformed_uri_or_database_name_is_invalid);
	return 0;
}
