/* SPDX-License-Identifier: MIT */
/* fcgi groups: permission groups, a name and a set of permissions from lc_perm_all. Built-in
 * groups cannot be deleted and the admin group's set is fixed; a group still in use cannot be
 * deleted. Nobody creates, changes or deletes a group with a permission they lack themselves
 * (docs/api.md, Privilege boundaries). A change that takes a permission away is published to the websocket daemons for
 * every member (revoke.h), whose open websockets then act with the new set at once. */
#include "config.h"
#include "account.h"
#include "middleware.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_perm.h"

#include <stdlib.h>
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

/* Users of a group, fetched this many at a time to publish their revocation. */
#define MEMBERS_PAGE 200

/* True when a permission of before is missing from after. */
static bool takes_away(json_object *before, json_object *after)
{
	for (size_t i = 0; lc_perm_all[i] != NULL; i++)
		if (lc_perm_has(before, lc_perm_all[i]) && !lc_perm_has(after, lc_perm_all[i]))
			return true;
	return false;
}

/* Tell the websocket daemons to re-check every member of group name (one event per user:
 * a node keeps its connections by user, not by group). Best effort, like every revocation:
 * the change is already stored, so a failure here is logged, not returned. */
static void revoke_members(fcgi_ctx_t *ctx, const char *name)
{
	int64_t skip = 0, total = 0;
	lc_err_t err;
	lc_err_clear(&err);
	do {
		json_object *items = NULL;
		if (lc_store_user_list(ctx->store, name, -1, skip, MEMBERS_PAGE, &items, &total,
				       &err) != LC_OK) {
			LC_WARN("%s: members of group %s not listed for revocation: %s",
				fcgi_request_id(ctx->req), name, err.reason);
			return;
		}
		size_t n = json_object_array_length(items);
		const char **ids = lc_malloc((n ? n : 1) * sizeof *ids);
		for (size_t i = 0; i < n; i++)
			ids[i] = lc_json_get_str(json_object_array_get_idx(items, i), "id", "");
		bool sent = fcgi_revoke_users(ctx->app->revoke, ids, n);
		free(ids);
		json_object_put(items);
		/* The broker is down: the next pages would wait for it again, for nothing. */
		if (n == 0 || !sent)
			break;
		skip += (int64_t)n;
	} while (skip < total);
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
	lc_rc rc = fcgi_ctx_require_all(ctx, perms, "to grant it", err);
	if (rc == LC_OK)
		rc = lc_store_group_create(ctx->store, name, perms, &out, err);
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
	json_object *group = NULL, *out = NULL, *perms = NULL, *before = NULL;
	lc_rc rc = load_group(ctx, &group, err);
	if (rc != LC_OK)
		goto fail;
	if (strcmp(name, FCGI_ADMIN_GROUP) == 0) {
		rc = lc_err_set(err, LC_ERR_CONFLICT,
				"the permissions of the admin group cannot be changed");
		goto fail;
	}
	perms = normalized_permissions(ctx->body);
	/* Neither grant what one lacks nor take it from those who have it. */
	json_object_object_get_ex(group, "permissions", &before);
	if ((rc = fcgi_ctx_require_all(ctx, perms, "to grant it", err)) != LC_OK ||
	    (rc = fcgi_ctx_require_all(ctx, before, "to change this group", err)) != LC_OK)
		goto fail;
	rc = fcgi_not_found(lc_store_group_update(ctx->store, name, perms, &out, err), err, "group");
	if (rc != LC_OK)
		goto fail;
	if (takes_away(before, perms))
		revoke_members(ctx, name);
	fcgi_ctx_reply(ctx, 200, out);
	out = NULL;
fail:
	json_object_put(group);
	json_object_put(perms);
	json_object_put(out);
	return rc;
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
	if ((rc = fcgi_ctx_require_all(ctx, json_object_object_get(group, "permissions"),
				       "to delete this group", err)) != LC_OK)
		goto fail;
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

static const lc_vpattern_t group_name = {
	"[a-z][a-z0-9_-]*", "lowercase letters, digits, '_' and '-', starting with a letter"
};

static const lc_vrule_t create_rules[] = {
	{ "name", LC_V_STRING, true, 1, 32, &group_name, NULL },
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
