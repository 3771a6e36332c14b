/* SPDX-License-Identifier: MIT */
/* fcgi users: list, create, read, update, delete users and set passwords. Guards the
 * installation against locking itself out: the last active admin cannot be demoted,
 * deactivated or deleted (checked and done under the store's admin gate). Nobody gives a user
 * a group, or changes a user, with permissions they lack themselves. Deleting a user revokes their sessions and deletes their canned
 * responses. Every change that revokes sessions or may take permissions away is also published
 * to the websocket daemons (revoke.h). */
#include "config.h"
#include "account.h"
#include "middleware.h"
#include "throttle.h"
#include "lc_auth.h"
#include "lc_json.h"

#include <string.h>

/* Load the user the {id} path parameter names (without password_hash); an id the store cannot
 * parse is simply not found. */
static lc_rc load_user(fcgi_ctx_t *ctx, json_object **user, lc_err_t *err)
{
	return fcgi_not_found(lc_store_user_get(ctx->store, fcgi_ctx_param(ctx, "id"), user, err),
			      err, "user");
}

/* A group named in a body must exist (otherwise the field is invalid), and the caller must hold
 * every permission it gives: users.write alone does not make anyone an admin. */
static lc_rc check_group(fcgi_ctx_t *ctx, const char *group, lc_err_t *err)
{
	json_object *g = NULL;
	lc_rc rc = fcgi_unknown_ref(lc_store_group_get(ctx->store, group, &g, err), err, "group",
				    "unknown group");
	if (rc == LC_OK)
		rc = fcgi_ctx_require_all(ctx, json_object_object_get(g, "permissions"),
					  "to give a user this group", err);
	json_object_put(g);
	return rc;
}

/* The caller must hold every permission of user's group to change, delete or set the password
 * of that user: users.write alone does not take over an admin account. A group that is gone
 * grants nothing. */
static lc_rc check_over(fcgi_ctx_t *ctx, json_object *user, lc_err_t *err)
{
	json_object *g = NULL;
	lc_rc rc = lc_store_group_get(ctx->store, lc_json_get_str(user, "group", ""), &g, err);
	if (rc == LC_ERR_NOT_FOUND || rc == LC_ERR_INVALID) {
		lc_err_clear(err);
		return LC_OK;
	}
	if (rc == LC_OK)
		rc = fcgi_ctx_require_all(ctx, json_object_object_get(g, "permissions"),
					  "to change a user of this group", err);
	json_object_put(g);
	return rc;
}

/* When rc is LC_OK answer status with user (taken over), without what a client must not see. */
static lc_rc reply_user(fcgi_ctx_t *ctx, lc_rc rc, int status, json_object *user)
{
	fcgi_user_public(user);
	return fcgi_ctx_reply_rc(ctx, rc, status, user);
}

static lc_rc list_users(fcgi_ctx_t *ctx, lc_err_t *err)
{
	int64_t skip, limit, total = 0;
	json_object *items = NULL;
	fcgi_ctx_paging(ctx, &skip, &limit);
	lc_rc rc = lc_store_user_list(ctx->store, fcgi_ctx_query_str(ctx, "group"),
				      fcgi_ctx_query_bool(ctx, "active"), skip, limit, &items, &total,
				      err);
	return fcgi_ctx_reply_list(ctx, rc, items, total, skip, limit, fcgi_user_public);
}

static lc_rc create_user(fcgi_ctx_t *ctx, lc_err_t *err)
{
	const char *username = lc_json_get_str(ctx->body, "username", "");
	const char *group = lc_json_get_str(ctx->body, "group", "agent");
	json_object *user = NULL;
	lc_rc rc = check_group(ctx, group, err);
	if (rc != LC_OK)
		return rc;
	rc = fcgi_account_create(ctx->store, ctx->cfg, username,
				 lc_json_get_str(ctx->body, "display_name", username), group,
				 lc_json_get_bool(ctx->body, "active", true),
				 lc_json_get_str(ctx->body, "password", ""), &user, err);
	return fcgi_ctx_reply_rc(ctx, rc, 201, user);
}

static lc_rc get_user(fcgi_ctx_t *ctx, lc_err_t *err)
{
	json_object *user = NULL;
	lc_rc rc = load_user(ctx, &user, err);
	return reply_user(ctx, rc, 200, user);
}

static lc_rc update_user(fcgi_ctx_t *ctx, lc_err_t *err)
{
	const char *group = lc_json_get_str(ctx->body, "group", NULL);
	json_object *v = NULL;
	int active = json_object_object_get_ex(ctx->body, "active", &v) ?
		     json_object_get_boolean(v) : -1;
	json_object *user = NULL, *out = NULL;
	lc_rc rc;

	if ((rc = load_user(ctx, &user, err)) != LC_OK)
		goto fail;
	if ((rc = check_over(ctx, user, err)) != LC_OK)
		goto fail;
	if (group != NULL && (rc = check_group(ctx, group, err)) != LC_OK)
		goto fail;
	rc = fcgi_account_update(ctx->store, ctx->app->revoke, &user,
				 lc_json_get_str(ctx->body, "display_name", NULL), group, active, &out,
				 err);
	if (rc == LC_OK)
		reply_user(ctx, LC_OK, 200, out);   /* takes out; on failure it is NULL */
fail:
	json_object_put(user);
	return rc;
}

static lc_rc delete_user(fcgi_ctx_t *ctx, lc_err_t *err)
{
	const char *id = fcgi_ctx_param(ctx, "id");
	json_object *user = NULL;
	bool gated = false;
	lc_rc rc;

	if ((rc = load_user(ctx, &user, err)) != LC_OK)
		goto fail;
	if ((rc = check_over(ctx, user, err)) != LC_OK)
		goto fail;
	if ((rc = fcgi_account_guard_last_admin(ctx->store, &user, &gated, err)) != LC_OK)
		goto fail;
	/* The store deletes the user's sessions with it. */
	if ((rc = lc_store_user_delete(ctx->store, id, err)) != LC_OK)
		goto fail;
	fcgi_revoke_user(ctx->app->revoke, id);
	if ((rc = lc_store_canned_delete_owner(ctx->store, id, err)) != LC_OK)
		goto fail;
	fcgi_ctx_reply(ctx, 204, NULL);
fail:
	if (gated)
		lc_store_admin_gate_release(ctx->store);
	json_object_put(user);
	return rc;
}

/* The user's own password, read with its hash only for this check (lc_store.h). */
static lc_rc check_current_password(fcgi_ctx_t *ctx, json_object *user, const char *current,
				    lc_err_t *err)
{
	json_object *cred = NULL;
	lc_rc rc = fcgi_not_found(lc_store_user_get_credentials(ctx->store,
				  lc_json_get_str(user, "username", ""), &cred, err), err, "user");
	if (rc == LC_OK &&
	    !lc_auth_verify_password(current, lc_json_get_str(cred, "password_hash", "")))
		rc = lc_err_set_field(err, LC_ERR_INVALID, "current_password", "is not correct");
	json_object_put(cred);
	return rc;
}

static lc_rc set_password(fcgi_ctx_t *ctx, lc_err_t *err)
{
	const char *id = fcgi_ctx_param(ctx, "id");
	const char *current = lc_json_get_str(ctx->body, "current_password", NULL);
	bool own = strcmp(id, ctx->user_id) == 0;
	json_object *user = NULL;
	fcgi_throttle_pass_t pass = { 0 };
	lc_rc rc;

	if (!own && !fcgi_ctx_can(ctx, "users.write")) {
		rc = lc_err_set(err, LC_ERR_FORBIDDEN, "permission users.write required");
		goto fail;
	}
	if ((rc = load_user(ctx, &user, err)) != LC_OK)
		goto fail;
	if (!own && (rc = check_over(ctx, user, err)) != LC_OK)
		goto fail;
	if (own && current == NULL) {
		rc = lc_err_set_field(err, LC_ERR_INVALID, "current_password", "is required");
		goto fail;
	}
	/* A guess at current_password is a guess at a password: throttled like a login. */
	if (own && (rc = fcgi_throttle_begin(ctx->app->throttle, ctx->store, ctx->cfg, ctx->req,
					    ctx->resp, lc_json_get_str(user, "username", ""),
					    &pass, err)) != LC_OK)
		goto fail;
	if (own && (rc = check_current_password(ctx, user, current, err)) != LC_OK)
		goto fail;
	fcgi_throttle_end(&pass);
	/* Someone who knew the old password must not stay logged in; the caller who changed
	 * their own keeps the session they did it from. */
	rc = fcgi_account_set_password(ctx->store, ctx->cfg, ctx->app->revoke, user,
				       lc_json_get_str(ctx->body, "password", ""),
				       own ? ctx->token_hash : NULL, err);
	if (rc == LC_OK)
		fcgi_ctx_reply(ctx, 204, NULL);
fail:
	fcgi_throttle_end(&pass);
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
	FCGI_RULE_USERNAME,
	FCGI_RULE_PASSWORD,
	FCGI_RULE_DISPLAY_NAME,
	{ "group", LC_V_STRING, false, 1, 64, NULL, NULL },
	{ "active", LC_V_BOOL, false, 0, 0, NULL, NULL },
	LC_VRULE_END
};

static const lc_vrule_t update_rules[] = {
	FCGI_RULE_DISPLAY_NAME,
	{ "group", LC_V_STRING, false, 1, 64, NULL, NULL },
	{ "active", LC_V_BOOL, false, 0, 0, NULL, NULL },
	LC_VRULE_END
};

static const lc_vrule_t password_rules[] = {
	FCGI_RULE_PASSWORD,
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
