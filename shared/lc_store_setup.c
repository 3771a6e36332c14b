/* SPDX-License-Identifier: MIT */
/* lc_store_setup: what a program does with the store before and around its work: ping, index
 * creation and first-start seeding (lc_store_init), dropping a test database, and the one
 * settings document (stored values merged over lc_settings_defaults). */
#include "config.h"
#include "lc_store_priv.h"
#include "lc_log.h"
#include "lc_perm.h"
#include "lc_settings.h"

#include <string.h>

/* ---- server, indexes, seeding */

lc_rc lc_store_ping(lc_store_t *s, lc_err_t *err)
{
	bson_error_t e;
	bson_t reply;
	lc_rc rc = LC_OK;
	bson_t *cmd = BCON_NEW("ping", BCON_INT32(1));

	LC_CHECK_OBJ(s, LC_STORE_MAGIC);
	lc_store_count_op(s, LC_STORE_OP_COMMAND);
	mongoc_client_t *c = mongoc_client_pool_pop(s->pool);
	if (!mongoc_client_command_simple(c, "admin", cmd, NULL, &reply, &e))
		rc = lc_store_map_error(&e, err, NULL, NULL);
	bson_destroy(&reply);
	mongoc_client_pool_push(s->pool, c);
	bson_destroy(cmd);
	return rc;
}

lc_rc lc_store_drop_database(lc_store_t *s, lc_err_t *err)
{
	bson_error_t e;
	lc_rc rc = LC_OK;

	LC_CHECK_OBJ(s, LC_STORE_MAGIC);
	lc_store_count_op(s, LC_STORE_OP_COMMAND);
	mongoc_client_t *c = mongoc_client_pool_pop(s->pool);
	mongoc_database_t *db = mongoc_client_get_database(c, s->db);
	if (!mongoc_database_drop_with_opts(db, NULL, &e))
		rc = lc_store_map_error(&e, err, NULL, NULL);
	mongoc_database_destroy(db);
	mongoc_client_pool_push(s->pool, c);
	return rc;
}

/* Every index, and why it exists: see docs/store.md. Keys are JSON so the order is visible. */
typedef struct index_spec {
	const char *coll;
	const char *name;
	const char *keys;
	bool unique;
} index_spec_t;

static const index_spec_t indexes[] = {
	{ LC_COLL_USERS, "username_unique", "{\"username\":1}", true },
	{ LC_COLL_USERS, "group_active", "{\"group\":1,\"active\":1}", false },
	{ LC_COLL_CANNED, "owner_shortcut_unique", "{\"owner_id\":1,\"shortcut\":1}", true },
	{ LC_COLL_MESSAGES, "room_seq_unique", "{\"room_id\":1,\"seq\":1}", true },
	{ LC_COLL_ROOMS, "status_created", "{\"status\":1,\"created_at\":1}", false },
	{ LC_COLL_ROOMS, "customer_status", "{\"channel\":1,\"customer_id\":1,\"status\":1}", false },
	{ LC_COLL_ROOMS, "open_key_unique", "{\"open_key\":1}", true },
	{ LC_COLL_ROOMS, "agent_status", "{\"agent_id\":1,\"status\":1}", false },
	{ LC_COLL_ROOMS_CLOSED, "status_created", "{\"status\":1,\"created_at\":1}", false },
	{ LC_COLL_ROOMS_CLOSED, "customer_status",
	  "{\"channel\":1,\"customer_id\":1,\"status\":1}", false },
	{ LC_COLL_ROOMS_CLOSED, "agent_status", "{\"agent_id\":1,\"status\":1}", false },
	{ LC_COLL_SESSIONS, "user_id", "{\"user_id\":1}", false },
	{ LC_COLL_SESSIONS, "expires_at", "{\"expires_at\":1}", false },
	{ LC_COLL_LOGIN_FAILURES, "addr_username_at", "{\"addr\":1,\"username\":1,\"at\":1}", false },
	{ LC_COLL_LOGIN_FAILURES, "at", "{\"at\":1}", false },
	{ NULL, NULL, NULL, false }
};

/* Indexes earlier versions made that cost more than they serve: dropped at init when present.
 * customer_ts {channel, customer_id, ts} on messages served only accept's fallback for rooms
 * opened before `recent`; it took a third of FerretDB's insert rate (measured: insertMany of
 * 50, 14,905 documents/s with it, 22,709 without; docs/store.md "messages"). */
static const struct { const char *coll, *name; } dropped_indexes[] = {
	{ LC_COLL_MESSAGES, "customer_ts" },
};

/* Drop an index if it exists: a missing index or collection is no error. */
static void drop_index(lc_store_t *s, mongoc_database_t *db, const char *coll_name,
		       const char *name)
{
	bson_error_t e;
	mongoc_collection_t *coll = mongoc_database_get_collection(db, coll_name);
	lc_store_count_op(s, LC_STORE_OP_COMMAND);
	if (mongoc_collection_drop_index_with_opts(coll, name, NULL, &e))
		LC_INFO("dropped the index %s.%s (no longer used)", coll_name, name);
	mongoc_collection_destroy(coll);
}

static lc_rc create_index(lc_store_t *s, mongoc_database_t *db, const index_spec_t *ix,
			  lc_err_t *err)
{
	bson_error_t e;
	bson_t reply, arr, spec;
	lc_rc rc = LC_OK;
	bson_t *keys = bson_new_from_json((const uint8_t *)ix->keys, -1, &e);

	LC_ASSERT(keys != NULL);
	bson_t *cmd = bson_new();
	BSON_APPEND_UTF8(cmd, "createIndexes", ix->coll);
	BSON_APPEND_ARRAY_BEGIN(cmd, "indexes", &arr);
	BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &spec);
	BSON_APPEND_DOCUMENT(&spec, "key", keys);
	BSON_APPEND_UTF8(&spec, "name", ix->name);
	if (ix->unique)
		BSON_APPEND_BOOL(&spec, "unique", true);
	bson_append_document_end(&arr, &spec);
	bson_append_array_end(cmd, &arr);
	lc_store_count_op(s, LC_STORE_OP_COMMAND);
	if (!mongoc_database_write_command_with_opts(db, cmd, NULL, &reply, &e)) {
		rc = lc_store_map_error(&e, err, NULL, NULL);
		if (rc == LC_ERR_INTERNAL || rc == LC_ERR_CONFLICT)
			rc = lc_err_set(err, LC_ERR_INTERNAL, "cannot create index %s.%s: %s",
					ix->coll, ix->name, e.message);
	}
	bson_destroy(&reply);
	bson_destroy(cmd);
	bson_destroy(keys);
	return rc;
}

static lc_rc seed_groups(lc_store_t *s, lc_err_t *err)
{
	lc_rc rc = LC_OK;
	for (const lc_perm_group_seed_t *g = lc_perm_builtin_groups; g->name && rc == LC_OK; g++) {
		bson_t arr;
		char buf[16];
		const char *key;
		bson_t *doc = BCON_NEW("_id", BCON_UTF8(g->name), "name", BCON_UTF8(g->name));
		BSON_APPEND_ARRAY_BEGIN(doc, "permissions", &arr);
		for (uint32_t i = 0; g->permissions[i]; i++) {
			bson_uint32_to_string(i, &key, buf, sizeof buf);
			BSON_APPEND_UTF8(&arr, key, g->permissions[i]);
		}
		bson_append_array_end(doc, &arr);
		BSON_APPEND_BOOL(doc, "builtin", true);
		LC_APPEND_MS(doc, "created_at", lc_real_ms());
		/* Insert-if-absent: a group an admin already edited stays as it is. */
		rc = lc_store_insert(s, LC_COLL_GROUPS, doc, NULL, NULL, err);
		if (rc == LC_ERR_CONFLICT)
			rc = LC_OK;
		bson_destroy(doc);
	}
	return rc;
}

static lc_rc seed_settings(lc_store_t *s, lc_err_t *err)
{
	json_object *defaults = lc_settings_defaults();
	bson_t *doc = BCON_NEW("_id", BCON_UTF8(LC_SETTINGS_ID));
	json_object_object_foreach(defaults, k, v)
		lc_store_append_json(doc, k, v);
	lc_rc rc = lc_store_insert(s, LC_COLL_SETTINGS, doc, NULL, NULL, err);
	if (rc == LC_ERR_CONFLICT)
		rc = LC_OK;
	bson_destroy(doc);
	json_object_put(defaults);
	return rc;
}

lc_rc lc_store_init(lc_store_t *s, lc_err_t *err)
{
	lc_rc rc = LC_OK;

	LC_CHECK_OBJ(s, LC_STORE_MAGIC);
	mongoc_client_t *c = mongoc_client_pool_pop(s->pool);
	mongoc_database_t *db = mongoc_client_get_database(c, s->db);
	for (const index_spec_t *ix = indexes; ix->coll && rc == LC_OK; ix++)
		rc = create_index(s, db, ix, err);
	for (size_t i = 0; rc == LC_OK && i < sizeof dropped_indexes / sizeof *dropped_indexes; i++)
		drop_index(s, db, dropped_indexes[i].coll, dropped_indexes[i].name);
	mongoc_database_destroy(db);
	mongoc_client_pool_push(s->pool, c);
	if (rc == LC_OK)
		rc = seed_groups(s, err);
	if (rc == LC_OK)
		rc = seed_settings(s, err);
	if (rc == LC_OK)
		rc = lc_store_room_pointers_repair(s, err);
	if (rc == LC_OK) {
		/* The recent chunks of the version before the pieces lived in counters (_id
		 * "recent:..."): every update of counters would go on scanning them. */
		bson_t *old = BCON_NEW("_id", "{", "$regex", BCON_UTF8("^recent:"), "}");
		rc = lc_store_delete(s, LC_COLL_COUNTERS, old, true, NULL, err);
		bson_destroy(old);
	}
	return rc;
}

/* ---- settings */

lc_rc lc_store_settings_get(lc_store_t *s, json_object **out, lc_err_t *err)
{
	static const char *const omit[] = { "_id", NULL };
	json_object *stored = NULL;
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(LC_SETTINGS_ID));

	lc_rc rc = lc_store_find_one(s, LC_COLL_SETTINGS, filter, NULL, omit, "settings", &stored,
				     NULL, err);
	bson_destroy(filter);
	if (rc != LC_OK && rc != LC_ERR_NOT_FOUND)
		return rc;
	/* Stored values win; keys the code no longer knows are dropped, new keys get defaults. */
	json_object *merged = lc_settings_defaults();
	json_object_object_foreach(merged, k, v) {
		json_object *sv;
		(void)v;
		if (stored != NULL && json_object_object_get_ex(stored, k, &sv) && sv != NULL)
			json_object_object_add(merged, k, json_object_get(sv));
	}
	json_object_put(stored);
	lc_err_clear(err);
	*out = merged;
	return LC_OK;
}

lc_rc lc_store_settings_update(lc_store_t *s, json_object *patch, json_object **out,
			       lc_err_t *err)
{
	bson_t set;
	lc_rc rc;

	if (!json_object_is_type(patch, json_type_object))
		return lc_err_set(err, LC_ERR_INVALID, "settings patch must be an object");
	json_object_object_foreach(patch, key, val) {
		(void)val;
		if (key[0] == '$' || strchr(key, '.') != NULL || strcmp(key, "_id") == 0)
			return lc_err_set_field(err, LC_ERR_INVALID, key, "invalid settings key");
	}
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(LC_SETTINGS_ID));
	bson_t *update = bson_new();
	BSON_APPEND_DOCUMENT_BEGIN(update, "$set", &set);
	json_object_object_foreach(patch, k, v)
		lc_store_append_json(&set, k, v);
	bson_append_document_end(update, &set);
	if (json_object_object_length(patch) == 0)
		rc = LC_OK;
	else
		rc = lc_store_update_one(s, LC_COLL_SETTINGS, filter, update, true, NULL, NULL, NULL,
					 err);
	bson_destroy(update);
	bson_destroy(filter);
	if (rc != LC_OK)
		return rc;
	return lc_store_settings_get(s, out, err);
}
