/* SPDX-License-Identifier: MIT */
/* lc_store_groups: permission groups. The name is the _id (so it is unique without an extra
 * index); builtin groups are seeded by lc_store_init and cannot be deleted. */
#include "config.h"
#include "lc_store_priv.h"

/* permissions must be an array of strings (the caller validated the vocabulary). */
static lc_rc append_permissions(bson_t *b, const char *key, json_object *perms, lc_err_t *err)
{
	if (!json_object_is_type(perms, json_type_array))
		return lc_err_set_field(err, LC_ERR_INVALID, "permissions",
					"permissions must be an array of strings");
	for (size_t i = 0; i < json_object_array_length(perms); i++)
		if (!json_object_is_type(json_object_array_get_idx(perms, i), json_type_string))
			return lc_err_set_field(err, LC_ERR_INVALID, "permissions",
						"permissions must be an array of strings");
	lc_store_append_json(b, key, perms);
	return LC_OK;
}

lc_rc lc_store_group_create(lc_store_t *s, const char *name, json_object *permissions,
			    json_object **out, lc_err_t *err)
{
	if (name == NULL || *name == '\0')
		return lc_err_set_field(err, LC_ERR_INVALID, "name", "group name missing");
	bson_t *doc = BCON_NEW("_id", BCON_UTF8(name), "name", BCON_UTF8(name));
	lc_rc rc = append_permissions(doc, "permissions", permissions, err);
	if (rc == LC_OK) {
		BSON_APPEND_BOOL(doc, "builtin", false);
		LC_APPEND_MS(doc, "created_at", lc_real_ms());
		rc = lc_store_insert(s, LC_COLL_GROUPS, doc, "group already exists", "name", err);
	}
	if (rc == LC_OK && out != NULL)
		*out = lc_store_to_json(doc, NULL);
	bson_destroy(doc);
	return rc;
}

lc_rc lc_store_group_get(lc_store_t *s, const char *name, json_object **out, lc_err_t *err)
{
	if (name == NULL)
		return lc_err_set(err, LC_ERR_NOT_FOUND, "group not found");
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(name));
	lc_rc rc = lc_store_find_one(s, LC_COLL_GROUPS, filter, NULL, NULL, "group", out, NULL, err);
	bson_destroy(filter);
	return rc;
}

lc_rc lc_store_group_list(lc_store_t *s, json_object **items, lc_err_t *err)
{
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
	bson_t *sort = BCON_NEW("_id", BCON_INT32(1));
	lc_store_page_opts(&opts, sort, 0, 0);
	lc_rc rc = lc_store_find_many(s, LC_COLL_GROUPS, &filter, &opts, NULL, items, err);
	bson_destroy(sort);
	bson_destroy(&opts);
	return rc;
}

lc_rc lc_store_group_update(lc_store_t *s, const char *name, json_object *permissions,
			    json_object **out, lc_err_t *err)
{
	bson_t update = BSON_INITIALIZER, set;
	if (name == NULL)
		return lc_err_set(err, LC_ERR_NOT_FOUND, "group not found");
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(name));
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	lc_rc rc = append_permissions(&set, "permissions", permissions, err);
	bson_append_document_end(&update, &set);
	if (rc == LC_OK)
		rc = lc_store_find_modify(s, LC_COLL_GROUPS, filter, &update, false, NULL, "group",
					  out, NULL, NULL, NULL, err);
	/* Sessions carry their group's permissions. */
	if (rc == LC_OK && (rc = lc_store_session_sync_group(s, name, err)) != LC_OK && out != NULL) {
		json_object_put(*out);
		*out = NULL;
	}
	bson_destroy(&update);
	bson_destroy(filter);
	return rc;
}

lc_rc lc_store_group_delete(lc_store_t *s, const char *name, lc_err_t *err)
{
	int64_t deleted = 0;
	json_object *g = NULL;

	lc_rc rc = lc_store_group_get(s, name, &g, err);
	if (rc != LC_OK)
		return rc;
	bool builtin = false;
	json_object *b;
	if (json_object_object_get_ex(g, "builtin", &b))
		builtin = json_object_get_boolean(b);
	json_object_put(g);
	/* Deleting admin could lock every administrator out; builtin groups are edited, not removed. */
	if (builtin)
		return lc_err_set(err, LC_ERR_CONFLICT, "built-in group cannot be deleted");
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(name), "builtin", BCON_BOOL(false));
	rc = lc_store_delete(s, LC_COLL_GROUPS, filter, false, &deleted, err);
	if (rc == LC_OK && deleted == 0)
		rc = lc_err_set(err, LC_ERR_NOT_FOUND, "group not found");
	if (rc == LC_OK)
		rc = lc_store_session_sync_group(s, name, err);
	bson_destroy(filter);
	return rc;
}
