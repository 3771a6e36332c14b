/* SPDX-License-Identifier: MIT */
/* lc_store_canned: canned responses. _id is an ObjectId; (owner_id, shortcut) is unique (index
 * owner_shortcut_unique). Besides, each owner has one document in canned_owners (_id = owner
 * id) listing copies of their responses sorted by shortcut, rewritten after every change of
 * theirs, so listing one owner's responses is one _id read whatever the size of the collection
 * (FerretDB 1.24 answers a find by owner_id with a full scan). The list is kept as one JSON
 * string (FerretDB decodes a nested array element by element on every read, a string at once).
 * Searching the list happens here: the user's words are compared as text, never as a pattern. */
#include "config.h"
#include "lc_store_priv.h"
#include "lc_alloc.h"
#include "lc_json.h"

#include <stdlib.h>
#include <string.h>

#define CONFLICT_SHORTCUT "shortcut already exists"
#define COLL_OWNERS "canned_owners"
/* Rounds of write-then-check before a rewrite gives up on an owner whose list keeps changing
 * (each round a write and a scan; with 20 changes of one owner at once, 5 were not always
 * enough). */
#define OWNER_ROUNDS 50

/* The owner's responses from the canned collection, sorted by shortcut (a scan on FerretDB:
 * only changes and the first read of an owner pay it). */
static lc_rc owner_scan(lc_store_t *s, const char *owner_id, json_object **items, lc_err_t *err)
{
	bson_t opts = BSON_INITIALIZER;
	bson_t *filter = BCON_NEW("owner_id", BCON_UTF8(owner_id));
	bson_t *sort = BCON_NEW("shortcut", BCON_INT32(1));
	lc_store_page_opts(&opts, sort, 0, 0);
	lc_rc rc = lc_store_find_many(s, LC_COLL_CANNED, filter, &opts, NULL, items, err);
	bson_destroy(sort);
	bson_destroy(filter);
	bson_destroy(&opts);
	return rc;
}

static lc_rc owner_write(lc_store_t *s, const char *owner_id, json_object *items, lc_err_t *err)
{
	bson_t update = BSON_INITIALIZER, set;
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(owner_id));
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_UTF8(&set, "items", lc_json_str(items));
	bson_append_document_end(&update, &set);
	lc_rc rc = lc_store_update_one(s, COLL_OWNERS, filter, &update, true, NULL, NULL, NULL, err);
	/* Two first writes of one owner upserting at once: the loser's document now exists. */
	if (rc == LC_ERR_CONFLICT) {
		lc_err_clear(err);
		rc = lc_store_update_one(s, COLL_OWNERS, filter, &update, true, NULL, NULL, NULL, err);
	}
	bson_destroy(&update);
	bson_destroy(filter);
	return rc;
}

/* Rewrite the owner's document from the canned collection, then scan again: a change that
 * landed between the scan and the write (its own rewrite may have been overtaken by this one)
 * is written again, so the last word is always a scan made after every change. *items (may
 * be NULL) receives the list written. */
static lc_rc owner_rewrite(lc_store_t *s, const char *owner_id, json_object **items,
			   lc_err_t *err)
{
	json_object *now = NULL, *again = NULL;
	lc_rc rc = owner_scan(s, owner_id, &now, err);
	for (int round = 0; rc == LC_OK && round < OWNER_ROUNDS; round++) {
		if ((rc = owner_write(s, owner_id, now, err)) != LC_OK ||
		    (rc = owner_scan(s, owner_id, &again, err)) != LC_OK)
			break;
		bool same = json_object_equal(now, again);
		json_object_put(now);
		now = again;
		again = NULL;
		if (same) {
			if (items != NULL)
				*items = json_object_get(now);
			goto done;
		}
	}
	if (rc == LC_OK)
		rc = lc_err_set(err, LC_ERR_UNAVAILABLE, "canned responses keep changing");
done:
	json_object_put(now);
	return rc;
}

/* The owner's list: one _id read; an owner without a document yet (none written since the
 * upgrade that brought canned_owners) gets one written first. */
static lc_rc owner_items(lc_store_t *s, const char *owner_id, json_object **items, lc_err_t *err)
{
	json_object *doc = NULL;
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(owner_id));
	lc_rc rc = lc_store_find_one(s, COLL_OWNERS, filter, NULL, NULL, "owner", &doc, NULL, err);
	bson_destroy(filter);
	if (rc == LC_ERR_NOT_FOUND) {
		lc_err_clear(err);
		return owner_rewrite(s, owner_id, items, err);
	}
	if (rc != LC_OK)
		return rc;
	const char *text = lc_json_get_str(doc, "items", "");
	json_object *list = lc_json_parse(text, strlen(text), NULL);
	json_object_put(doc);
	if (!json_object_is_type(list, json_type_array)) {
		/* Unreadable: written again from the collection. */
		json_object_put(list);
		return owner_rewrite(s, owner_id, items, err);
	}
	*items = list;
	return LC_OK;
}

/* Case-insensitive (ASCII letters) substring test: the user's words are text, not a pattern. */
static bool contains_folded(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay != '\0'; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return n == 0;
}

static bool item_matches(json_object *item, const char *prefix, const char *q)
{
	const char *shortcut = lc_json_get_str(item, "shortcut", "");
	if (prefix != NULL && strncmp(shortcut, prefix, strlen(prefix)) != 0)
		return false;
	return q == NULL || contains_folded(lc_json_get_str(item, "title", ""), q) ||
	       contains_folded(lc_json_get_str(item, "text", ""), q);
}

/* One page of the owner's list filtered by prefix and q: *items, *total. */
static lc_rc owner_page(lc_store_t *s, const char *owner_id, const char *prefix, const char *q,
			int64_t skip, int64_t limit, json_object **items, int64_t *total,
			lc_err_t *err)
{
	json_object *all = NULL;
	lc_rc rc = owner_items(s, owner_id, &all, err);
	if (rc != LC_OK)
		return rc;
	json_object *page = json_object_new_array();
	int64_t n = 0;
	for (size_t i = 0; i < json_object_array_length(all); i++) {
		json_object *item = json_object_array_get_idx(all, i);
		if (!item_matches(item, prefix, q))
			continue;
		if (n >= skip && (limit <= 0 || n - skip < limit))
			json_object_array_add(page, json_object_get(item));
		n++;
	}
	json_object_put(all);
	*items = page;
	if (total != NULL)
		*total = n;
	return LC_OK;
}

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
	int64_t now = lc_real_ms();

	if (owner_id == NULL || shortcut == NULL || title == NULL || text == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "canned response fields missing");
	bson_oid_init(&oid, NULL);
	bson_t *doc = BCON_NEW("_id", BCON_OID(&oid), "owner_id", BCON_UTF8(owner_id),
			       "shortcut", BCON_UTF8(shortcut), "title", BCON_UTF8(title),
			       "text", BCON_UTF8(text), "created_at", BCON_DATE_TIME(now),
			       "updated_at", BCON_DATE_TIME(now));
	lc_rc rc = lc_store_insert(s, LC_COLL_CANNED, doc, CONFLICT_SHORTCUT, "shortcut", err);
	if (rc == LC_OK)
		rc = owner_rewrite(s, owner_id, NULL, err);
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

	if (prefix != NULL && *prefix == '\0')
		prefix = NULL;
	if (q != NULL && *q == '\0')
		q = NULL;
	if (skip < 0)
		skip = 0;
	if (owner_id != NULL) {
		bson_destroy(sort);
		return owner_page(s, owner_id, prefix, q, skip, limit, items, total, err);
	}
	/* Every owner (canned.all): a scan of the collection, filtered by the server. */
	if (prefix != NULL) {
		char *esc = lc_store_regex_escape(prefix);
		char *re = lc_asprintf("^%s", esc);
		BCON_APPEND(&filter, "shortcut", "{", "$regex", BCON_UTF8(re), "}");
		free(re);
		free(esc);
	}
	if (q != NULL) {
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
	LC_APPEND_MS(&set, "updated_at", lc_real_ms());
	bson_append_document_end(&update, &set);
	json_object *after = NULL;
	rc = lc_store_find_modify(s, LC_COLL_CANNED, &filter, &update, false, NULL,
				  "canned response", &after, NULL, CONFLICT_SHORTCUT, "shortcut", err);
	if (rc == LC_OK)
		rc = owner_rewrite(s, lc_json_get_str(after, "owner_id", ""), NULL, err);
	if (rc == LC_OK && out != NULL)
		*out = json_object_get(after);
	json_object_put(after);
done:
	bson_destroy(&update);
	bson_destroy(&filter);
	return rc;
}

lc_rc lc_store_canned_delete(lc_store_t *s, const char *id, lc_err_t *err)
{
	bson_t filter = BSON_INITIALIZER;
	int64_t deleted = 0;
	json_object *canned = NULL;
	/* Read first: the owner's list is rewritten after. */
	lc_rc rc = lc_store_canned_get(s, id, &canned, err);

	if (rc == LC_OK)
		rc = canned_id_filter(id, &filter, err);
	if (rc == LC_OK)
		rc = lc_store_delete(s, LC_COLL_CANNED, &filter, false, &deleted, err);
	if (rc == LC_OK && deleted == 0)
		rc = lc_err_set(err, LC_ERR_NOT_FOUND, "canned response not found");
	if (rc == LC_OK)
		rc = owner_rewrite(s, lc_json_get_str(canned, "owner_id", ""), NULL, err);
	json_object_put(canned);
	bson_destroy(&filter);
	return rc;
}

lc_rc lc_store_canned_delete_owner(lc_store_t *s, const char *owner_id, lc_err_t *err)
{
	if (owner_id == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "owner id missing");
	bson_t *filter = BCON_NEW("owner_id", BCON_UTF8(owner_id));
	bson_t *owner = BCON_NEW("_id", BCON_UTF8(owner_id));
	lc_rc rc = lc_store_delete(s, LC_COLL_CANNED, filter, true, NULL, err);
	if (rc == LC_OK)
		rc = lc_store_delete(s, COLL_OWNERS, owner, false, NULL, err);
	bson_destroy(owner);
	bson_destroy(filter);
	return rc;
}
