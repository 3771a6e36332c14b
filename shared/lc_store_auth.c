/* SPDX-License-Identifier: MIT */
/* lc_store_auth: auth sessions (_id = SHA-256 hex of the token) and failed-login records.
 * FerretDB 1.24 has no TTL indexes, so expiry is checked on every read and old documents are
 * purged when new ones are written. A session carries copies of what checking it needs (the
 * user without password_hash, the permissions of the user's group), so a check is one _id
 * read; every user and group change of the store rewrites the copies (session_sync_*). The
 * copies are kept as one JSON string (field "copy"): FerretDB decodes a nested document field
 * by field on every read, a string at once. */
#include "config.h"
#include "lc_store_priv.h"
#include "lc_json.h"

#include <string.h>

/* Rounds of write-then-check before a sync gives up on a user or group changing under it. */
#define SYNC_ROUNDS 50

/* The copies a session of user_id carries, as they are now: the user without password_hash
 * and the permissions of its group ([] when the group is gone). NOT_FOUND: no such user. */
static lc_rc session_copies(lc_store_t *s, const char *user_id, json_object **user,
			    json_object **perms, lc_err_t *err)
{
	json_object *group = NULL, *p = NULL;
	*user = *perms = NULL;
	lc_rc rc = lc_store_user_get(s, user_id, user, err);
	if (rc != LC_OK)
		return rc;
	rc = lc_store_group_get(s, json_object_get_string(json_object_object_get(*user, "group")),
				&group, err);
	if (rc == LC_ERR_NOT_FOUND) {
		/* A user whose group vanished keeps working credentials but no permission. */
		lc_err_clear(err);
		rc = LC_OK;
	} else if (rc != LC_OK) {
		json_object_put(*user);
		*user = NULL;
		return rc;
	}
	if (json_object_object_get_ex(group, "permissions", &p) &&
	    json_object_is_type(p, json_type_array))
		*perms = json_object_get(p);
	else
		*perms = json_object_new_array();
	json_object_put(group);
	return LC_OK;
}

/* The copies as the session stores them: the user's group as its own field (sync_group
 * finds sessions by it), and {"user":...,"permissions":[...]} as one JSON string. */
static void append_copies(bson_t *b, json_object *user, json_object *perms)
{
	json_object *copy = json_object_new_object();
	json_object_object_add(copy, "user", json_object_get(user));
	json_object_object_add(copy, "permissions", json_object_get(perms));
	BSON_APPEND_UTF8(b, "group", lc_json_get_str(user, "group", ""));
	BSON_APPEND_UTF8(b, "copy", lc_json_str(copy));
	json_object_put(copy);
}

/* $set of the copies into the session token_hash. */
static lc_rc session_write(lc_store_t *s, const char *token_hash, json_object *user,
			   json_object *perms, lc_err_t *err)
{
	bson_t update = BSON_INITIALIZER, set;
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(token_hash));
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	append_copies(&set, user, perms);
	bson_append_document_end(&update, &set);
	lc_rc rc = lc_store_update_one(s, LC_COLL_SESSIONS, filter, &update, false, NULL, NULL,
				       NULL, err);
	bson_destroy(&update);
	bson_destroy(filter);
	return rc;
}

/* The _ids and user_ids of the sessions filter matches (a scan of sessions: only changes pay
 * it). */
static lc_rc session_ids(lc_store_t *s, const bson_t *filter, json_object **ids, lc_err_t *err)
{
	bson_t *opts = BCON_NEW("projection", "{", "_id", BCON_BOOL(true), "user_id", BCON_BOOL(true),
				"}");
	lc_rc rc = lc_store_find_many(s, LC_COLL_SESSIONS, filter, opts, NULL, ids, err);
	bson_destroy(opts);
	return rc;
}

/* Write user and perms into every session filter matches. */
static lc_rc sessions_write(lc_store_t *s, const bson_t *filter, json_object *user,
			    json_object *perms, lc_err_t *err)
{
	json_object *ids = NULL;
	lc_rc rc = session_ids(s, filter, &ids, err);
	for (size_t i = 0; rc == LC_OK && i < json_object_array_length(ids); i++)
		rc = session_write(s, lc_json_get_str(json_object_array_get_idx(ids, i), "id", ""),
				   user, perms, err);
	json_object_put(ids);
	return rc;
}

/* Write the copies of user_id into the sessions filter matches, then read them again: a user
 * or group changed between the read and the write (its own sync may have run before this
 * write landed) is written again, so the last word is always a read made after every write. */
static lc_rc sync_user_sessions(lc_store_t *s, const char *user_id, const bson_t *filter,
				lc_err_t *err)
{
	json_object *user = NULL, *perms = NULL, *user2 = NULL, *perms2 = NULL;
	lc_rc rc = session_copies(s, user_id, &user, &perms, err);
	for (int round = 0; rc == LC_OK && round < SYNC_ROUNDS; round++) {
		if ((rc = sessions_write(s, filter, user, perms, err)) != LC_OK)
			break;
		if ((rc = session_copies(s, user_id, &user2, &perms2, err)) != LC_OK)
			break;
		bool same = json_object_equal(user, user2) && json_object_equal(perms, perms2);
		json_object_put(user);
		json_object_put(perms);
		user = user2;
		perms = perms2;
		user2 = perms2 = NULL;
		if (same)
			goto done;
	}
	if (rc == LC_OK)
		rc = lc_err_set(err, LC_ERR_UNAVAILABLE, "user keeps changing: sessions not synced");
done:
	json_object_put(user);
	json_object_put(perms);
	return rc;
}

lc_rc lc_store_session_create(lc_store_t *s, const char *token_hash, const char *user_id,
			      int64_t expires_at_ms, lc_err_t *err)
{
	int64_t now = lc_real_ms();
	json_object *user = NULL, *perms = NULL;

	if (token_hash == NULL || *token_hash == '\0' || user_id == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "session fields missing");
	/* No such user: the session is stored without copies, and authenticates no one. */
	lc_rc rc = session_copies(s, user_id, &user, &perms, err);
	if (rc == LC_ERR_NOT_FOUND)
		lc_err_clear(err);
	else if (rc != LC_OK)
		return rc;
	bson_t *purge = BCON_NEW("expires_at", "{", "$lte", BCON_DATE_TIME(now), "}");
	/* Best effort: a failed purge must not fail a login. */
	lc_store_delete(s, LC_COLL_SESSIONS, purge, true, NULL, NULL);
	bson_destroy(purge);
	bson_t *doc = BCON_NEW("_id", BCON_UTF8(token_hash), "user_id", BCON_UTF8(user_id),
			       "created_at", BCON_DATE_TIME(now),
			       "expires_at", BCON_DATE_TIME(expires_at_ms));
	if (user != NULL)
		append_copies(doc, user, perms);
	rc = lc_store_insert(s, LC_COLL_SESSIONS, doc, "session already exists", NULL, err);
	bson_destroy(doc);
	if (rc != LC_OK || user == NULL)
		goto done;
	/* A change that synced the user's sessions before this one existed: read the copies
	 * again, and sync this session when they moved. */
	json_object *user2 = NULL, *perms2 = NULL;
	if ((rc = session_copies(s, user_id, &user2, &perms2, err)) == LC_OK &&
	    !(json_object_equal(user, user2) && json_object_equal(perms, perms2))) {
		bson_t *one = BCON_NEW("_id", BCON_UTF8(token_hash));
		rc = sync_user_sessions(s, user_id, one, err);
		bson_destroy(one);
	}
	json_object_put(user2);
	json_object_put(perms2);
done:
	json_object_put(user);
	json_object_put(perms);
	return rc;
}

/* The copies, unpacked: "copy" replaced by "user" and "permissions" (a session stored before
 * sessions carried copies, or without a user, has neither). */
static void unpack_copies(json_object *sess)
{
	const char *text = lc_json_get_str(sess, "copy", NULL);
	json_object *copy = text != NULL ? lc_json_parse(text, strlen(text), NULL) : NULL;
	json_object *v = NULL;
	if (json_object_object_get_ex(copy, "user", &v))
		json_object_object_add(sess, "user", json_object_get(v));
	if (json_object_object_get_ex(copy, "permissions", &v))
		json_object_object_add(sess, "permissions", json_object_get(v));
	json_object_object_del(sess, "copy");
	json_object_put(copy);
}

lc_rc lc_store_session_get(lc_store_t *s, const char *token_hash, json_object **out,
			   lc_err_t *err)
{
	json_object *sess = NULL;
	if (token_hash == NULL)
		return lc_err_set(err, LC_ERR_NOT_FOUND, "session not found");
	/* _id alone, so the server answers from its primary key (FerretDB pushes down only
	 * that); expiry is checked here. */
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(token_hash));
	lc_rc rc = lc_store_find_one(s, LC_COLL_SESSIONS, filter, NULL, NULL, "session", &sess, NULL,
				     err);
	bson_destroy(filter);
	if (rc == LC_OK && lc_json_get_int(sess, "expires_at", 0) <= lc_real_ms()) {
		json_object_put(sess);
		return lc_err_set(err, LC_ERR_NOT_FOUND, "session not found");
	}
	if (rc == LC_OK) {
		unpack_copies(sess);
		*out = sess;
	}
	return rc;
}

lc_rc lc_store_session_sync_user(lc_store_t *s, const char *user_id, lc_err_t *err)
{
	if (user_id == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "user id missing");
	bson_t *filter = BCON_NEW("user_id", BCON_UTF8(user_id));
	lc_rc rc = sync_user_sessions(s, user_id, filter, err);
	bson_destroy(filter);
	/* The user is gone: so are its sessions. */
	if (rc == LC_ERR_NOT_FOUND) {
		lc_err_clear(err);
		rc = lc_store_session_delete_user(s, user_id, NULL, err);
	}
	return rc;
}

lc_rc lc_store_session_sync_group(lc_store_t *s, const char *group, lc_err_t *err)
{
	json_object *sessions = NULL;

	if (group == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "group missing");
	/* Each member with a session syncs as a user change would (the copies are one string):
	 * that sync reads the group again after writing, so a change racing this one is caught. */
	bson_t *filter = BCON_NEW("group", BCON_UTF8(group));
	lc_rc rc = session_ids(s, filter, &sessions, err);
	bson_destroy(filter);
	for (size_t i = 0; rc == LC_OK && i < json_object_array_length(sessions); i++) {
		const char *uid = lc_json_get_str(json_object_array_get_idx(sessions, i), "user_id", "");
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(uid, lc_json_get_str(json_object_array_get_idx(sessions, k),
							   "user_id", "")) == 0;
		if (!seen)
			rc = lc_store_session_sync_user(s, uid, err);
	}
	json_object_put(sessions);
	return rc;
}

lc_rc lc_store_session_delete(lc_store_t *s, const char *token_hash, lc_err_t *err)
{
	int64_t deleted = 0;
	if (token_hash == NULL)
		return lc_err_set(err, LC_ERR_NOT_FOUND, "session not found");
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(token_hash));
	lc_rc rc = lc_store_delete(s, LC_COLL_SESSIONS, filter, false, &deleted, err);
	if (rc == LC_OK && deleted == 0)
		rc = lc_err_set(err, LC_ERR_NOT_FOUND, "session not found");
	bson_destroy(filter);
	return rc;
}

lc_rc lc_store_session_delete_user(lc_store_t *s, const char *user_id, const char *keep_hash,
				   lc_err_t *err)
{
	if (user_id == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "user id missing");
	bson_t *filter = BCON_NEW("user_id", BCON_UTF8(user_id));
	if (keep_hash != NULL)
		BCON_APPEND(filter, "_id", "{", "$ne", BCON_UTF8(keep_hash), "}");
	lc_rc rc = lc_store_delete(s, LC_COLL_SESSIONS, filter, true, NULL, err);
	bson_destroy(filter);
	return rc;
}

/* The failures of username from addr, or of every username from addr (username NULL). */
static bson_t *failure_filter(const char *username, const char *addr)
{
	bson_t *f = BCON_NEW("addr", BCON_UTF8(addr));
	if (username != NULL)
		BSON_APPEND_UTF8(f, "username", username);
	return f;
}

lc_rc lc_store_login_failure_add(lc_store_t *s, const char *username, const char *addr,
				 int64_t at_ms, int64_t purge_before_ms, lc_err_t *err)
{
	if (username == NULL || addr == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "username or address missing");
	/* Every record older than the window, whoever it names, so the collection holds one
	 * window's failures and no more (best effort: a failed purge must not fail a login). */
	bson_t *purge = BCON_NEW("at", "{", "$lt", BCON_DATE_TIME(purge_before_ms), "}");
	lc_store_delete(s, LC_COLL_LOGIN_FAILURES, purge, true, NULL, NULL);
	bson_destroy(purge);
	bson_t *doc = BCON_NEW("username", BCON_UTF8(username), "addr", BCON_UTF8(addr),
			       "at", BCON_DATE_TIME(at_ms));
	lc_rc rc = lc_store_insert(s, LC_COLL_LOGIN_FAILURES, doc, NULL, NULL, err);
	bson_destroy(doc);
	return rc;
}

/* When the failures matching filter since since_ms drop below max, given that there are n of
 * them: the (n - max)-th oldest leaves the window at its time + window. */
static lc_rc failure_free_at(lc_store_t *s, bson_t *filter, int64_t n, int64_t max,
			     int64_t window_ms, int64_t *free_at_ms, lc_err_t *err)
{
	json_object *items = NULL;
	bson_t *opts = BCON_NEW("sort", "{", "at", BCON_INT32(1), "}", "skip", BCON_INT64(n - max),
				"limit", BCON_INT64(1));
	lc_rc rc = lc_store_find_many(s, LC_COLL_LOGIN_FAILURES, filter, opts, NULL, &items, err);
	bson_destroy(opts);
	if (rc == LC_OK && json_object_array_length(items) == 1)
		*free_at_ms = lc_json_get_int(json_object_array_get_idx(items, 0), "at", 0) +
			      window_ms;
	json_object_put(items);
	return rc;
}

lc_rc lc_store_login_failure_count(lc_store_t *s, const char *username, const char *addr,
				   int64_t since_ms, int64_t max, int64_t *n,
				   int64_t *free_at_ms, lc_err_t *err)
{
	if (addr == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "address missing");
	*free_at_ms = 0;
	bson_t *filter = failure_filter(username, addr);
	BCON_APPEND(filter, "at", "{", "$gte", BCON_DATE_TIME(since_ms), "}");
	lc_rc rc = lc_store_count(s, LC_COLL_LOGIN_FAILURES, filter, n, err);
	if (rc == LC_OK && *n >= max)
		rc = failure_free_at(s, filter, *n, max, lc_real_ms() - since_ms, free_at_ms,
				     err);
	bson_destroy(filter);
	return rc;
}

lc_rc lc_store_login_failure_clear(lc_store_t *s, const char *username, const char *addr,
				   lc_err_t *err)
{
	if (username == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "username missing");
	bson_t *filter = BCON_NEW("username", BCON_UTF8(username));
	if (addr != NULL)
		BSON_APPEND_UTF8(filter, "addr", addr);
	lc_rc rc = lc_store_delete(s, LC_COLL_LOGIN_FAILURES, filter, true, NULL, err);
	bson_destroy(filter);
	return rc;
}
