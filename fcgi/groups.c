/* fcgi groups: permission groups, a name and a set of permissions from lc_perm_all. Built-in
 * groups cannot be deleted and the admin group's set is fixed; a group still in use cannot be
 * deleted. */
#include "config.h"
#include "account.h"
#include "middleware.h"
#include "lc_json.h"
#include "lc_perm.h"

#include <string.h>

/* Load the group the {name} path parameter names. */
static lc_rc load_group(fcgi_ctx_t *ctx, json_object **group, lc_err_t *err)
{
	return fcgi_not_found(lc_store_group_get(ctx->store, fcgi_ctx_param(ctx, "name"), group, err),
			      err, "group");
}

/* The body's permissions without duplicates, in vocabulary order (validation already checked
 * each is known). A new array. */
static json_object *normalized_permissions(json_object *body)
{
	json_object *in = NULL, *out = json_object_new_array();
	json_object_object_get_ex(body, "permissions", &in);
	for (size_t i = 0; lc_perm_all[i] != NULL; i++)
		if (lc_perm_has(in, lc_perm_all[i]))
			json_object_array_add(out, json_object_new_string(lc_perm_all[i]));
	return out;
}

static lc_rc list_groups(fcgi_ctx_t *ctx, lc_err_t *err)
{
	json_object *items = NULL;
	lc_rc rc = lc_store_group_list(ctx->store, &items, err);
	if (rc != LC_OK)
		return rc;
	json_object *out = json_object_new_object();
	json_object_object_add(out, "total",
			       json_object_new_int64((int64_t)json_object_array_length(items)));
	json_object_object_add(out, "items", items);
	return fcgi_ctx_reply(ctx, 200, out);
}

static lc_rc create_group(fcgi_ctx_t *ctx, lc_err_t *err)
{
	const char *name = lc_json_get_str(ctx->body, "name", "");
	json_object *perms = normalized_permissions(ctx->body), *out = NULL;
	lc_rc rc = lc_store_group_create(ctx->store, name, perms, &out, err);
	json_object_put(perms);
	if (rc == LC_ERR_CONFLICT)
		return lc_err_set(err, LC_ERR_CONFLICT, "group '%s' already exists", name);
	return fcgi_ctx_reply_rc(ctx, rc, 201, out);
}

static lc_rc get_group(fcgi_ctx_t *ctx, lc_err_t *err)
{
	json_object *group = NULL;
	lc_rc rc = load_group(ctx, &group, err);
	return fcgi_ctx_reply_rc(ctx, rc, 200, group);
}

static lc_rc update_group(fcgi_ctx_t *ctx, lc_err_t *err)
{
	const char *name = fcgi_ctx_param(ctx, "name");
	json_object *group = NULL, *out = NULL;
	lc_rc rc = load_group(ctx, &group, err);
	json_object_put(group);
	if (rc != LC_OK)
		return rc;
	if (strcmp(name, FCGI_ADMIN_GROUP) == 0)
		return lc_err_set(err, LC_ERR_CONFLICT,
				  "the permissions of the admin group cannot be changed");
	json_object *perms = normalized_permissions(ctx->body);
	rc = fcgi_not_found(lc_store_group_update(ctx->store, name, perms, &out, err), err, "group");
	json_object_put(perms);
	return fcgi_ctx_reply_rc(ctx, rc, 200, out);
}

static lc_rc delete_group(fcgi_ctx_t *ctx, lc_err_t *err)
{
	const char *name = fcgi_ctx_param(ctx, "name");
	json_object *group = NULL;
	int64_t users = 0;
	lc_rc rc;

	if ((rc = load_group(ctx, &group, err)) != LC_OK)
		goto fail;
	if (lc_json_get_bool(group, "builtin", false)) {
		rc = lc_err_set(err, LC_ERR_CONFLICT, "built-in group '%s' cannot be deleted", name);
		goto fail;
	}
	if ((rc = lc_store_user_count(ctx->store, name, false, &users, err)) != LC_OK)
		goto fail;
	if (users > 0) {
		rc = lc_err_set(err, LC_ERR_CONFLICT, "group '%s' is still used by %lld user%s", name,
				(long long)users, users == 1 ? "" : "s");
		goto fail;
	}
	if ((rc = lc_store_group_delete(ctx->store, name, err)) != LC_OK)
		goto fail;
	fcgi_ctx_reply(ctx, 204, NULL);
fail:
	json_object_put(group);
	return rc;
}

static const lc_vrule_t create_rules[] = {
	{ "name", LC_V_STRING, true, 1, 32, "[a-z][a-z0-9_-]*", NULL },
	{ "permissions", LC_V_STRING_ARRAY, true, 0, 12, NULL, lc_perm_all },
	LC_VRULE_END
};

static const lc_vrule_t update_rules[] = {
	{ "permissions", LC_V_STRING_ARRAY, true, 0, 12, NULL, lc_perm_all },
	LC_VRULE_END
};

const fcgi_route_t fcgi_groups_routes[] = {
	{ "GET", "/api/groups", 0, { "groups.read" }, NULL, NULL, list_groups },
	{ "POST", "/api/groups", FCGI_ROUTE_BODY, { "groups.write" }, create_rules, NULL,
	  create_group },
	{ "GET", "/api/groups/{name}", 0, { "groups.read" }, NULL, NULL, get_group },
	{ "PATCH", "/api/groups/{name}", FCGI_ROUTE_BODY, { "groups.write" }, update_rules, NULL,
	  update_group },
	{ "DELETE", "/api/groups/{name}", 0, { "groups.write" }, NULL, NULL, delete_group },
	FCGI_ROUTE_END
};
