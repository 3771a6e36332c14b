/* lc_store_auth: auth sessions (_id = SHA-256 hex of the token) and failed-login records.
 * FerretDB 1.24 has no TTL indexes, so expiry is checked in every query and old documents are
 * purged when new ones are written. */
#include "config.h"
#include "lc_store_priv.h"

lc_rc lc_store_session_create(lc_store_t *s, const char *token_hash, const char *user_id,
			      int64_t expires_at_ms, lc_err_t *err)
{
	int64_t now = lc_store_now_ms();

	if (token_hash == NULL || *token_hash == '\0' || user_id == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "session fields missing");
	bson_t *purge = BCON_NEW("expires_at", "{", "$lte", BCON_DATE_TIME(now), "}");
	/* Best effort: a failed purge must not fail a login. */
	lc_store_delete(s, LC_COLL_SESSIONS, purge, true, NULL, NULL);
	bson_destroy(purge);
	bson_t *doc = BCON_NEW("_id", BCON_UTF8(token_hash), "user_id", BCON_UTF8(user_id),
			       "created_at", BCON_DATE_TIME(now),
			       "expires_at", BCON_DATE_TIME(expires_at_ms));
	lc_rc rc = lc_store_insert(s, LC_COLL_SESSIONS, doc, "session already exists", NULL, err);
	bson_destroy(doc);
	return rc;
}

lc_rc lc_store_session_get(lc_store_t *s, const char *token_hash, json_object **out,
			   lc_err_t *err)
{
	if (token_hash == NULL)
		return lc_err_set(err, LC_ERR_NOT_FOUND, "session not found");
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(token_hash),
				  "expires_at", "{", "$gt", BCON_DATE_TIME(lc_store_now_ms()), "}");
	lc_rc rc = lc_store_find_one(s, LC_COLL_SESSIONS, filter, NULL, NULL, "session", out, NULL,
				     err);
	bson_destroy(filter);
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

lc_rc lc_store_login_failure_add(lc_store_t *s, const char *username, int64_t at_ms,
				 lc_err_t *err)
{
	if (username == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "username missing");
	bson_t *purge = BCON_NEW("username", BCON_UTF8(username), "at", "{", "$lt",
				 BCON_DATE_TIME(at_ms - LC_STORE_LOGIN_FAILURE_KEEP_MS), "}");
	lc_store_delete(s, LC_COLL_LOGIN_FAILURES, purge, true, NULL, NULL);
	bson_destroy(purge);
	bson_t *doc = BCON_NEW("username", BCON_UTF8(username), "at", BCON_DATE_TIME(at_ms));
	lc_rc rc = lc_store_insert(s, LC_COLL_LOGIN_FAILURES, doc, NULL, NULL, err);
	bson_destroy(doc);
	return rc;
}

lc_rc lc_store_login_failure_count(lc_store_t *s, const char *username, int64_t since_ms,
				   int64_t *n, lc_err_t *err)
{
	if (username == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "username missing");
	bson_t *filter = BCON_NEW("username", BCON_UTF8(username),
				  "at", "{", "$gte", BCON_DATE_TIME(since_ms), "}");
	lc_rc rc = lc_store_count(s, LC_COLL_LOGIN_FAILURES, filter, n, err);
	bson_destroy(filter);
	return rc;
}

lc_rc lc_store_login_failure_clear(lc_store_t *s, const char *username, lc_err_t *err)
{
	if (username == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "username missing");
	bson_t *filter = BCON_NEW("username", BCON_UTF8(username));
	lc_rc rc = lc_store_delete(s, LC_COLL_LOGIN_FAILURES, filter, true, NULL, err);
	bson_destroy(filter);
	return rc;
}
