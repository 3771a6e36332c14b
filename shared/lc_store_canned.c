/* lc_store_canned: canned responses. _id is an ObjectId; (owner_id, shortcut) is unique (index
 * owner_shortcut_unique). Text search escapes the user's words before they reach $regex. */
#include "config.h"
#include "lc_store_priv.h"
#include "lc_alloc.h"

#include <stdlib.h>

#define CONFLICT_SHORTCUT "shortcut already exists"

static lc_rc canned_id_filter(const char *id, bson_t *filter, lc_err_t *err)
{
	bson_oid_t oid;
	if (!lc_store_oid_parse(id, &oid))
		return lc_err_set(err, LC_ERR_NOT_FOUND, "canned response not found");
	BSON_APPEND_OID(filter, "_id", &oid);
	return LC_OK;
}

lc_rc lc_store_canned_create(lc_store_t *s, const char *owner_id, const char *shortcut,
			     const char *title, const char *text, json_object **out, lc_err_t *err)
{
	bson_oid_t oid;
	int64_t now = lc_store_now_ms();

	if (owner_id == NULL || shortcut == NULL || title == NULL || text == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "canned response fields missing");
	bson_oid_init(&oid, NULL);
	bson_t *doc = BCON_NEW("_id", BCON_OID(&oid), "owner_id", BCON_UTF8(owner_id),
			       "shortcut", BCON_UTF8(shortcut), "title", BCON_UTF8(title),
			       "text", BCON_UTF8(text), "created_at", BCON_DATE_TIME(now),
			       "updated_at", BCON_DATE_TIME(now));
	lc_rc rc = lc_store_insert(s, LC_COLL_CANNED, doc, CONFLICT_SHORTCUT, "shortcut", err);
	if (rc == LC_OK && out != NULL)
		*out = lc_store_to_json(doc, NULL);
	bson_destroy(doc);
	return rc;
}

lc_rc lc_store_canned_get(lc_store_t *s, const char *id, json_object **out, lc_err_t *err)
{
	bson_t filter = BSON_INITIALIZER;
	lc_rc rc = canned_id_filter(id, &filter, err);
	if (rc == LC_OK)
		rc = lc_store_find_one(s, LC_COLL_CANNED, &filter, NULL, NULL, "canned response", out,
				       NULL, err);
	bson_destroy(&filter);
	return rc;
}

lc_rc lc_store_canned_list(lc_store_t *s, const char *owner_id, const char *prefix, const char *q,
			   int64_t skip, int64_t limit, json_object **items, int64_t *total,
			   lc_err_t *err)
{
	bson_t filter = BSON_INITIALIZER;
	bson_t *sort = BCON_NEW("shortcut", BCON_INT32(1));

	if (owner_id != NULL)
		BSON_APPEND_UTF8(&filter, "owner_id", owner_id);
	if (prefix != NULL && *prefix != '\0') {
		char *esc = lc_store_regex_escape(prefix);
		char *re = lc_asprintf("^%s", esc);
		BCON_APPEND(&filter, "shortcut", "{", "$regex", BCON_UTF8(re), "}");
		free(re);
		free(esc);
	}
	if (q != NULL && *q != '\0') {
		char *esc = lc_store_regex_escape(q);
		BCON_APPEND(&filter, "$or", "[",
			    "{", "title", "{", "$regex", BCON_UTF8(esc), "$options", "i", "}", "}",
			    "{", "text", "{", "$regex", BCON_UTF8(esc), "$options", "i", "}", "}",
			    "]");
		free(esc);
	}
	lc_rc rc = lc_store_find_page(s, LC_COLL_CANNED, &filter, sort, skip, limit, NULL, items, total,
				      err);
	bson_destroy(sort);
	bson_destroy(&filter);
	return rc;
}

lc_rc lc_store_canned_update(lc_store_t *s, const char *id, const char *shortcut,
			     const char *title, const char *text, json_object **out, lc_err_t *err)
{
	bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, set;
	lc_rc rc = canned_id_filter(id, &filter, err);

	if (rc != LC_OK)
		goto done;
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	if (shortcut != NULL)
		BSON_APPEND_UTF8(&set, "shortcut", shortcut);
	if (title != NULL)
		BSON_APPEND_UTF8(&set, "title", title);
	if (text != NULL)
		BSON_APPEND_UTF8(&set, "text", text);
	LC_APPEND_MS(&set, "updated_at", lc_store_now_ms());
	bson_append_document_end(&update, &set);
	rc = lc_store_find_modify(s, LC_COLL_CANNED, &filter, &update, false, NULL,
				  "canned response", out, NULL, CONFLICT_SHORTCUT, "shortcut", err);
done:
	bson_destroy(&update);
	bson_destroy(&filter);
	return rc;
}

lc_rc lc_store_canned_delete(lc_store_t *s, const char *id, lc_err_t *err)
{
	bson_t filter = BSON_INITIALIZER;
	int64_t deleted = 0;
	lc_rc rc = canned_id_filter(id, &filter, err);

	if (rc == LC_OK)
		rc = lc_store_delete(s, LC_COLL_CANNED, &filter, false, &deleted, err);
	if (rc == LC_OK && deleted == 0)
		rc = lc_err_set(err, LC_ERR_NOT_FOUND, "canned response not found");
	bson_destroy(&filter);
	return rc;
}

lc_rc lc_store_canned_delete_owner(lc_store_t *s, const char *owner_id, lc_err_t *err)
{
	if (owner_id == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "owner id missing");
	bson_t *filter = BCON_NEW("owner_id", BCON_UTF8(owner_id));
	lc_rc rc = lc_store_delete(s, LC_COLL_CANNED, filter, true, NULL, err);
	bson_destroy(filter);
	return rc;
}
