/* SPDX-License-Identifier: MIT */
/* lc_store_users: the users collection. _id is an ObjectId; username is unique (index
 * username_unique). password_hash leaves the store only through lc_store_user_get_credentials
 * (the password checks); every other read omits it. Updating or
 * deleting a user also rewrites or deletes its sessions (they carry a copy of it). */
#include "config.h"
#include "lc_store_priv.h"
#include "lc_alloc.h"

static const char *const omit_secret[] = { "password_hash", NULL };

static lc_rc user_id_filter(const char *id, bson_t *filter, lc_err_t *err)
{
	bson_oid_t oid;
	/* A string that is no ObjectId names a user that cannot exist. */
	if (!lc_store_oid_parse(id, &oid))
		return lc_err_set(err, LC_ERR_NOT_FOUND, "user not found");
	BSON_APPEND_OID(filter, "_id", &oid);
	return LC_OK;
}

lc_rc lc_store_user_create(lc_store_t *s, const char *username, const char *display_name,
			   const char *group, bool active, const char *password_hash,
			   json_object **out, lc_err_t *err)
{
	bson_oid_t oid;
	int64_t now = lc_real_ms();

	if (username == NULL || display_name == NULL || group == NULL || password_hash == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "user fields missing");
	bson_oid_init(&oid, NULL);
	bson_t *doc = BCON_NEW("_id", BCON_OID(&oid), "username", BCON_UTF8(username),
			       "display_name", BCON_UTF8(display_name), "group", BCON_UTF8(group),
			       "active", BCON_BOOL(active), "password_hash", BCON_UTF8(password_hash),
			       "created_at", BCON_DATE_TIME(now), "updated_at", BCON_DATE_TIME(now));
	lc_rc rc = lc_store_insert(s, LC_COLL_USERS, doc, "username already exists", "username",
				   err);
	if (rc == LC_OK && out != NULL)
		*out = lc_store_to_json(doc, omit_secret);
	bson_destroy(doc);
	return rc;
}

lc_rc lc_store_user_get(lc_store_t *s, const char *id, json_object **out, lc_err_t *err)
{
	bson_t filter = BSON_INITIALIZER;
	lc_rc rc = user_id_filter(id, &filter, err);
	if (rc == LC_OK)
		rc = lc_store_find_one(s, LC_COLL_USERS, &filter, NULL, omit_secret, "user", out, NULL,
				       err);
	bson_destroy(&filter);
	return rc;
}

/* One user by username; omit: the fields left out (NULL: none). */
static lc_rc user_by_username(lc_store_t *s, const char *username, const char *const *omit,
			      json_object **out, lc_err_t *err)
{
	if (username == NULL)
		return lc_err_set(err, LC_ERR_NOT_FOUND, "user not found");
	bson_t *filter = BCON_NEW("username", BCON_UTF8(username));
	lc_rc rc = lc_store_find_one(s, LC_COLL_USERS, filter, NULL, omit, "user", out, NULL, err);
	bson_destroy(filter);
	return rc;
}

lc_rc lc_store_user_get_by_username(lc_store_t *s, const char *username, json_object **out,
				    lc_err_t *err)
{
	return user_by_username(s, username, omit_secret, out, err);
}

lc_rc lc_store_user_get_credentials(lc_store_t *s, const char *username, json_object **out,
				    lc_err_t *err)
{
	return user_by_username(s, username, NULL, out, err);
}

lc_rc lc_store_user_list(lc_store_t *s, const char *group, int active, int64_t skip, int64_t limit,
			 json_object **items, int64_t *total, lc_err_t *err)
{
	bson_t filter = BSON_INITIALIZER;
	bson_t *sort = BCON_NEW("username", BCON_INT32(1));

	if (group != NULL)
		BSON_APPEND_UTF8(&filter, "group", group);
	if (active >= 0)
		BSON_APPEND_BOOL(&filter, "active", active != 0);
	lc_rc rc = lc_store_find_page(s, LC_COLL_USERS, &filter, sort, skip, limit, omit_secret, items, total,
				      err);
	bson_destroy(sort);
	bson_destroy(&filter);
	return rc;
}

lc_rc lc_store_user_update(lc_store_t *s, const char *id, const char *display_name,
			   const char *group, int active, json_object **out, lc_err_t *err)
{
	bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, set;
	lc_rc rc = user_id_filter(id, &filter, err);

	if (rc != LC_OK)
		goto done;
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	if (display_name != NULL)
		BSON_APPEND_UTF8(&set, "display_name", display_name);
	if (group != NULL)
		BSON_APPEND_UTF8(&set, "group", group);
	if (active >= 0)
		BSON_APPEND_BOOL(&set, "active", active != 0);
	LC_APPEND_MS(&set, "updated_at", lc_real_ms());
	bson_append_document_end(&update, &set);
	rc = lc_store_find_modify(s, LC_COLL_USERS, &filter, &update, false, omit_secret, "user",
				  out, NULL, NULL, NULL, err);
	/* Sessions carry a copy of the user: a change reaches them before the caller answers. */
	if (rc == LC_OK && (rc = lc_store_session_sync_user(s, id, err)) != LC_OK && out != NULL) {
		json_object_put(*out);
		*out = NULL;
	}
done:
	bson_destroy(&update);
	bson_destroy(&filter);
	return rc;
}

lc_rc lc_store_user_set_password(lc_store_t *s, const char *id, const char *password_hash,
				 lc_err_t *err)
{
	bson_t filter = BSON_INITIALIZER;
	int64_t matched = 0;
	lc_rc rc = user_id_filter(id, &filter, err);

	if (rc == LC_OK && password_hash == NULL)
		rc = lc_err_set(err, LC_ERR_INVALID, "password hash missing");
	if (rc == LC_OK) {
		bson_t *update = BCON_NEW("$set", "{", "password_hash", BCON_UTF8(password_hash),
					  "updated_at", BCON_DATE_TIME(lc_real_ms()), "}");
		rc = lc_store_update_one(s, LC_COLL_USERS, &filter, update, false, &matched, NULL,
					 NULL, err);
		if (rc == LC_OK && matched == 0)
			rc = lc_err_set(err, LC_ERR_NOT_FOUND, "user not found");
		bson_destroy(update);
	}
	bson_destroy(&filter);
	return rc;
}

lc_rc lc_store_user_delete(lc_store_t *s, const char *id, lc_err_t *err)
{
	bson_t filter = BSON_INITIALIZER;
	int64_t deleted = 0;
	lc_rc rc = user_id_filter(id, &filter, err);

	if (rc == LC_OK)
		rc = lc_store_delete(s, LC_COLL_USERS, &filter, false, &deleted, err);
	if (rc == LC_OK && deleted == 0)
		rc = lc_err_set(err, LC_ERR_NOT_FOUND, "user not found");
	/* Its sessions authenticate no one from now on. */
	if (rc == LC_OK)
		rc = lc_store_session_delete_user(s, id, NULL, err);
	bson_destroy(&filter);
	return rc;
}

lc_rc lc_store_user_count(lc_store_t *s, const char *group, bool active_only, int64_t *n,
			  lc_err_t *err)
{
	bson_t filter = BSON_INITIALIZER;
	if (group != NULL)
		BSON_APPEND_UTF8(&filter, "group", group);
	if (active_only)
		BSON_APPEND_BOOL(&filter, "active", true);
	lc_rc rc = lc_store_count(s, LC_COLL_USERS, &filter, n, err);
	bson_destroy(&filter);
	return rc;
}

#define ADMIN_GATE "admins"
#define ADMIN_GATE_WAIT_MS 5000
#define ADMIN_GATE_STALE_MS 30000

lc_rc lc_store_admin_gate_take(lc_store_t *s, lc_err_t *err)
{
	return lc_store_gate_take(s, LC_COLL_GATES, ADMIN_GATE, ADMIN_GATE_WAIT_MS,
				  ADMIN_GATE_STALE_MS, err);
}

void lc_store_admin_gate_release(lc_store_t *s)
{
	lc_store_gate_release(s, LC_COLL_GATES, ADMIN_GATE);
}
