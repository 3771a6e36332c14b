/* SPDX-License-Identifier: MIT */
/* fcgi canned: canned responses. With canned.own a user manages their own; with canned.all
 * anyone's. Someone else's response is "not found" to a user without canned.all, so ids of
 * other people's responses cannot be probed. */
#include "config.h"
#include "middleware.h"
#include "lc_json.h"

#include <string.h>

static bool owns(const fcgi_ctx_t *ctx, json_object *canned)
{
	return strcmp(lc_json_get_str(canned, "owner_id", ""), ctx->user_id) == 0;
}

/* Load {id} and check the caller may see it. */
static lc_rc load_canned(fcgi_ctx_t *ctx, json_object **canned, lc_err_t *err)
{
	lc_rc rc = fcgi_not_found(lc_store_canned_get(ctx->store, fcgi_ctx_param(ctx, "id"), canned,
						      err), err, "canned response");
	if (rc != LC_OK)
		return rc;
	if (!owns(ctx, *canned) && !fcgi_ctx_can(ctx, "canned.all")) {
		json_object_put(*canned);
		*canned = NULL;
		return lc_err_set(err, LC_ERR_NOT_FOUND, "no such canned response");
	}
	return LC_OK;
}

/* A store CONFLICT on create or update means the owner already has this shortcut. */
static lc_rc shortcut_taken(lc_rc rc, lc_err_t *err, const char *shortcut)
{
	if (rc == LC_ERR_CONFLICT)
		return lc_err_set_field(err, LC_ERR_CONFLICT, "shortcut", "shortcut '%s' is already used",
					shortcut);
	return rc;
}

static const char *non_empty(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

static lc_rc list_canned(fcgi_ctx_t *ctx, lc_err_t *err)
{
	const char *owner = ctx->user_id;
	const char *owner_q = fcgi_ctx_query_str(ctx, "owner_id");
	int64_t skip, limit, total = 0;
	json_object *items = NULL;

	if (fcgi_ctx_query_bool(ctx, "all") == 1 || owner_q != NULL) {
		if (!fcgi_ctx_can(ctx, "canned.all"))
			return lc_err_set(err, LC_ERR_FORBIDDEN,
					  "permission canned.all required for other users' canned responses");
		owner = fcgi_ctx_query_bool(ctx, "all") == 1 ? NULL : owner_q;
	}
	fcgi_ctx_paging(ctx, &skip, &limit);
	lc_rc rc = lc_store_canned_list(ctx->store, owner, non_empty(fcgi_ctx_query_str(ctx, "prefix")),
					non_empty(fcgi_ctx_query_str(ctx, "q")), skip, limit, &items,
					&total, err);
	return fcgi_ctx_reply_list(ctx, rc, items, total, skip, limit, NULL);
}

static lc_rc create_canned(fcgi_ctx_t *ctx, lc_err_t *err)
{
	const char *owner = lc_json_get_str(ctx->body, "owner_id", ctx->user_id);
	const char *shortcut = lc_json_get_str(ctx->body, "shortcut", "");
	json_object *out = NULL;
	lc_rc rc;

	if (strcmp(owner, ctx->user_id) != 0) {
		if (!fcgi_ctx_can(ctx, "canned.all"))
			return lc_err_set(err, LC_ERR_FORBIDDEN,
					  "permission canned.all required to create for another user");
		json_object *u = NULL;
		rc = fcgi_unknown_ref(lc_store_user_get(ctx->store, owner, &u, err), err, "owner_id",
				      "unknown user");
		json_object_put(u);
		if (rc != LC_OK)
			return rc;
	}
	rc = lc_store_canned_create(ctx->store, owner, shortcut, lc_json_get_str(ctx->body, "title", ""),
				    lc_json_get_str(ctx->body, "text", ""), &out, err);
	return fcgi_ctx_reply_rc(ctx, shortcut_taken(rc, err, shortcut), 201, out);
}

static lc_rc get_canned(fcgi_ctx_t *ctx, lc_err_t *err)
{
	json_object *canned = NULL;
	lc_rc rc = load_canned(ctx, &canned, err);
	return fcgi_ctx_reply_rc(ctx, rc, 200, canned);
}

static lc_rc update_canned(fcgi_ctx_t *ctx, lc_err_t *err)
{
	json_object *canned = NULL, *out = NULL;
	const char *shortcut = lc_json_get_str(ctx->body, "shortcut", NULL);
	lc_rc rc = load_canned(ctx, &canned, err);
	if (rc != LC_OK)
		return rc;
	json_object_put(canned);
	rc = lc_store_canned_update(ctx->store, fcgi_ctx_param(ctx, "id"), shortcut,
				    lc_json_get_str(ctx->body, "title", NULL),
				    lc_json_get_str(ctx->body, "text", NULL), &out, err);
	return fcgi_ctx_reply_rc(ctx, shortcut_taken(rc, err, shortcut ? shortcut : ""), 200, out);
}

static lc_rc delete_canned(fcgi_ctx_t *ctx, lc_err_t *err)
{
	json_object *canned = NULL;
	lc_rc rc = load_canned(ctx, &canned, err);
	if (rc != LC_OK)
		return rc;
	json_object_put(canned);
	if ((rc = lc_store_canned_delete(ctx->store, fcgi_ctx_param(ctx, "id"), err)) != LC_OK)
		return rc;
	return fcgi_ctx_reply(ctx, 204, NULL);
}

#define SHORTCUT_RULE(req) { "shortcut", LC_V_STRING, req, 1, 32, &lc_vpattern_id, NULL }
#define TITLE_RULE(req) { "title", LC_V_STRING, req, 1, 128, NULL, NULL }
#define TEXT_RULE(req) { "text", LC_V_STRING, req, 1, 4000, NULL, NULL }

static const lc_vrule_t list_query[] = {
	FCGI_PAGING_RULES,
	{ "prefix", LC_V_STRING, false, 0, 32, NULL, NULL },
	{ "q", LC_V_STRING, false, 0, 200, NULL, NULL },
	{ "owner_id", LC_V_STRING, false, 1, 64, NULL, NULL },
	{ "all", LC_V_BOOL, false, 0, 0, NULL, NULL },
	LC_VRULE_END
};

static const lc_vrule_t create_rules[] = {
	SHORTCUT_RULE(true), TITLE_RULE(true), TEXT_RULE(true),
	{ "owner_id", LC_V_STRING, false, 1, 64, NULL, NULL },
	LC_VRULE_END
};

static const lc_vrule_t update_rules[] = {
	SHORTCUT_RULE(false), TITLE_RULE(false), TEXT_RULE(false),
	LC_VRULE_END
};

#define CANNED_PERMS { "canned.own", "canned.all" }

const fcgi_route_t fcgi_canned_routes[] = {
	{ "GET", "/api/canned", 0, CANNED_PERMS, NULL, list_query, list_canned },
	{ "POST", "/api/canned", FCGI_ROUTE_BODY, CANNED_PERMS, create_rules, NULL, create_canned },
	{ "GET", "/api/canned/{id}", 0, CANNED_PERMS, NULL, NULL, get_canned },
	{ "PATCH", "/api/canned/{id}", FCGI_ROUTE_BODY, CANNED_PERMS, update_rules, NULL,
	  update_canned },
	{ "DELETE", "/api/canned/{id}", 0, CANNED_PERMS, NULL, NULL, delete_canned },
	FCGI_ROUTE_END
};
