/* fcgi users: list, create, read, update, delete users and set passwords. Guards the
 * installation against locking itself out: the last active admin cannot be demoted,
 * deactivated or deleted. Deleting a user revokes their sessions and deletes their canned
 * responses. */
#include "config.h"
#include "middleware.h"
#include "lc_alloc.h"
#include "lc_auth.h"
#include "lc_json.h"
#include "lc_log.h"

#include <stdlib.h>
#include <string.h>

#define ADMIN_GROUP "admin"
#define USERNAME_PATTERN "[A-Za-z0-9][A-Za-z0-9_.@-]*"

/* Load a user by the {id} path parameter; an id the store cannot parse is simply not found. */
static lc_rc load_user(fcgi_ctx_t *ctx, const char *id, json_object **user, lc_err_t *err)
{
	lc_rc rc = lc_store_user_get(ctx->store, id, user, err);
	if (rc == LC_ERR_NOT_FOUND || rc == LC_ERR_INVALID)
		return lc_err_set(err, LC_ERR_NOT_FOUND, "no such user");
	return rc;
}

/* A group named in a body must exist: otherwise the field is invalid. */
static lc_rc check_group(fcgi_ctx_t *ctx, const char *group, lc_err_t *err)
{
	json_object *g = NULL;
	lc_rc rc = lc_store_group_get(ctx->store, group, &g, err);
	json_object_put(g);
	if (rc == LC_ERR_NOT_FOUND || rc == LC_ERR_INVALID)
		return lc_err_set_field(err, LC_ERR_INVALID, "group", "unknown group");
	return rc;
}

static bool is_active_admin(json_object *user)
{
	return strcmp(lc_json_get_str(user, "group", ""), ADMIN_GROUP) == 0 &&
	       lc_json_get_bool(user, "active", false);
}

/* CONFLICT when user is the only active admin left (it is about to stop being one). */
static lc_rc check_not_last_admin(fcgi_ctx_t *ctx, json_object *user, lc_err_t *err)
{
	int64_t n = 0;
	if (!is_active_admin(user))
		return LC_OK;
	lc_rc rc = lc_store_user_count(ctx->store, ADMIN_GROUP, true, &n, err);
	if (rc != LC_OK)
		return rc;
	if (n <= 1)
		return lc_err_set(err, LC_ERR_CONFLICT,
				  "the last active admin cannot be deleted, deactivated or moved to another group");
	return LC_OK;
}

static lc_rc list_users(fcgi_ctx_t *ctx, lc_err_t *err)
{
	int64_t skip, limit, total = 0;
	json_object *items = NULL;
	fcgi_ctx_paging(ctx, &skip, &limit);
	lc_rc rc = lc_store_user_list(ctx->store, fcgi_ctx_query_str(ctx, "group"),
				      fcgi_ctx_query_bool(ctx, "active"), skip, limit, &items, &total,
				      err);
	if (rc != LC_OK)
		return rc;
	for (size_t i = 0; i < json_object_array_length(items); i++)
		fcgi_user_public(json_object_array_get_idx(items, i));
	return fcgi_ctx_reply_list(ctx, items, total, skip, limit);
}

static lc_rc create_user(fcgi_ctx_t *ctx, lc_err_t *err)
{
	const char *username = lc_json_get_str(ctx->body, "username", "");
	const char *display = lc_json_get_str(ctx->body, "display_name", username);
	const char *group = lc_json_get_str(ctx->body, "group", "agent");
	bool active = lc_json_get_bool(ctx->body, "active", true);
	json_object *user = NULL;
	char *hash = NULL;
	lc_rc rc;

	if ((rc = check_group(ctx, group, err)) != LC_OK)
		goto fail;
	rc = lc_auth_hash_password(lc_json_get_str(ctx->body, "password", ""),
				   (unsigned)lc_config_int(ctx->cfg, "pbkdf2_iterations"), &hash, err);
	if (rc != LC_OK)
		goto fail;
	rc = lc_store_user_create(ctx->store, username, display, group, active, hash, &user, err);
	if (rc == LC_ERR_CONFLICT)
		rc = lc_err_set(err, LC_ERR_CONFLICT, "username '%s' is already taken", username);
	if (rc != LC_OK)
		goto fail;
	fcgi_user_public(user);
	fcgi_ctx_reply(ctx, 201, user);
	user = NULL;
fail:
	free(hash);
	json_object_put(user);
	return rc;
}

static lc_rc get_user(fcgi_ctx_t *ctx, lc_err_t *err)
{
	json_object *user = NULL;
	lc_rc rc = load_user(ctx, fcgi_ctx_param(ctx, "id"), &user, err);
	if (rc != LC_OK)
		return rc;
	fcgi_user_public(user);
	return fcgi_ctx_reply(ctx, 200, user);
}

static lc_rc update_user(fcgi_ctx_t *ctx, lc_err_t *err)
{
	const char *id = fcgi_ctx_param(ctx, "id");
	const char *display = lc_json_get_str(ctx->body, "display_name", NULL);
	const char *group = lc_json_get_str(ctx->body, "group", NULL);
	json_object *v = NULL;
	int active = json_object_object_get_ex(ctx->body, "active", &v) ?
		     json_object_get_boolean(v) : -1;
	json_object *user = NULL, *out = NULL;
	lc_rc rc;

	if ((rc = load_user(ctx, id, &user, err)) != LC_OK)
		goto fail;
	if (group != NULL && (rc = check_group(ctx, group, err)) != LC_OK)
		goto fail;
	bool demoted = group != NULL && strcmp(group, ADMIN_GROUP) != 0;
	if ((demoted || active == 0) && (rc = check_not_last_admin(ctx, user, err)) != LC_OK)
		goto fail;
	if ((rc = lc_store_user_update(ctx->store, id, display, group, active, &out, err)) != LC_OK)
		goto fail;
	if (active == 0 && (rc = lc_store_session_delete_user(ctx->store, id, NULL, err)) != LC_OK)
		goto fail;
	fcgi_user_public(out);
	fcgi_ctx_reply(ctx, 200, out);
	out = NULL;
fail:
	json_object_put(user);
	json_object_put(out);
	return rc;
}

static lc_rc delete_user(fcgi_ctx_t *ctx, lc_err_t *err)
{
	const char *id = fcgi_ctx_param(ctx, "id");
	json_object *user = NULL;
	lc_rc rc;

	if ((rc = load_user(ctx, id, &user, err)) != LC_OK)
		goto fail;
	if ((rc = check_not_last_admin(ctx, user, err)) != LC_OK)
		goto fail;
	/* The user first: once it is gone its sessions no longer authenticate anyone, so a
	 * failure below leaves nothing usable behind. */
	if ((rc = lc_store_user_delete(ctx->store, id, err)) != LC_OK)
		goto fail;
	if ((rc = lc_store_session_delete_user(ctx->store, id, NULL, err)) != LC_OK)
		goto fail;
	if ((rc = lc_store_canned_delete_owner(ctx->store, id, err)) != LC_OK)
		goto fail;
	fcgi_ctx_reply(ctx, 204, NULL);
fail:
	json_object_put(user);
	return rc;
}

static lc_rc set_password(fcgi_ctx_t *ctx, lc_err_t *err)
{
	const char *id = fcgi_ctx_param(ctx, "id");
	const char *current = lc_json_get_str(ctx->body, "current_password", NULL);
	bool own = strcmp(id, ctx->user_id) == 0;
	json_object *user = NULL;
	char *hash = NULL;
	lc_rc rc;

	if (!own && !fcgi_ctx_can(ctx, "users.write")) {
		rc = lc_err_set(err, LC_ERR_FORBIDDEN, "permission users.write required");
		goto fail;
	}
	if ((rc = load_user(ctx, id, &user, err)) != LC_OK)
		goto fail;
	if (own && current == NULL) {
		rc = lc_err_set_field(err, LC_ERR_INVALID, "current_password", "is required");
		goto fail;
	}
	if (own && !lc_auth_verify_password(current, lc_json_get_str(user, "password_hash", ""))) {
		rc = lc_err_set_field(err, LC_ERR_INVALID, "current_password", "is not correct");
		goto fail;
	}
	rc = lc_auth_hash_password(lc_json_get_str(ctx->body, "password", ""),
				   (unsigned)lc_config_int(ctx->cfg, "pbkdf2_iterations"), &hash, err);
	if (rc != LC_OK)
		goto fail;
	if ((rc = lc_store_user_set_password(ctx->store, id, hash, err)) != LC_OK)
		goto fail;
	/* Someone who knew the old password must not stay logged in; the caller who changed
	 * their own keeps the session they did it from. */
	rc = lc_store_session_delete_user(ctx->store, id, own ? ctx->token_hash : NULL, err);
	if (rc != LC_OK)
		goto fail;
	if (!own && (rc = lc_store_login_failure_clear(ctx->store,
				lc_json_get_str(user, "username", ""), err)) != LC_OK)
		goto fail;
	fcgi_ctx_reply(ctx, 204, NULL);
fail:
	free(hash);
	json_object_put(user);
	return rc;
}

static const lc_vrule_t list_query[] = {
	FCGI_PAGING_RULES,
	{ "group", LC_V_STRING, false, 1, 64, NULL, NULL },
	{ "active", LC_V_BOOL, false, 0, 0, NULL, NULL },
	LC_VRULE_END
};

static const lc_vrule_t create_rules[] = {
	{ "username", LC_V_STRING, true, 1, 64, USERNAME_PATTERN, NULL },
	{ "password", LC_V_STRING, true, 8, 1024, NULL, NULL },
	{ "display_name", LC_V_STRING, false, 1, 128, NULL, NULL },
	{ "group", LC_V_STRING, false, 1, 64, NULL, NULL },
	{ "active", LC_V_BOOL, false, 0, 0, NULL, NULL },
	LC_VRULE_END
};

static const lc_vrule_t update_rules[] = {
	{ "display_name", LC_V_STRING, false, 1, 128, NULL, NULL },
	{ "group", LC_V_STRING, false, 1, 64, NULL, NULL },
	{ "active", LC_V_BOOL, false, 0, 0, NULL, NULL },
	LC_VRULE_END
};

static const lc_vrule_t password_rules[] = {
	{ "password", LC_V_STRING, true, 8, 1024, NULL, NULL },
	{ "current_password", LC_V_STRING, false, 0, 1024, NULL, NULL },
	LC_VRULE_END
};

const fcgi_route_t fcgi_users_routes[] = {
	{ "GET", "/api/users", 0, { "users.read" }, NULL, list_query, list_users },
	{ "POST", "/api/users", FCGI_ROUTE_BODY, { "users.write" }, create_rules, NULL, create_user },
	{ "GET", "/api/users/{id}", 0, { "users.read" }, NULL, NULL, get_user },
	{ "PATCH", "/api/users/{id}", FCGI_ROUTE_BODY, { "users.write" }, update_rules, NULL,
	  update_user },
	{ "DELETE", "/api/users/{id}", 0, { "users.write" }, NULL, NULL, delete_user },
	/* Own password: any authenticated user; someone else's: users.write (checked inside). */
	{ "PUT", "/api/users/{id}/password", FCGI_ROUTE_BODY, { NULL }, password_rules, NULL,
	  set_password },
	FCGI_ROUTE_END
};
