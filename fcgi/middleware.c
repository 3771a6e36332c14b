/* SPDX-License-Identifier: MIT */
/* fcgi middleware: the pipeline of docs/api.md, in order: route lookup (404/405), query string
 * decoding and Cookie header size (400), body size limit (413), JSON parsing (400; a key with
 * NUL 422), authentication (401; a cookie-authenticated write from another Origin 403), permission
 * (403), validation of body and query (422, every failing field), handler; then the single
 * mapping of lc_rc to status + JSON error and the access log line. */
#include "config.h"
#include "middleware.h"
#include "metrics.h"
#include "lc_alloc.h"
#include "lc_auth.h"
#include "lc_auth_session.h"
#include "lc_cookie.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_perm.h"
#include "lc_time.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FCGI_MAX_TOKEN_LEN 256

/* ---- error mapping: the one place an lc_rc becomes a status */

static void add_failure(json_object *failures, const char *field, const char *reason)
{
	json_object *f = json_object_new_object();
	json_object_object_add(f, "field", json_object_new_string(field));
	json_object_object_add(f, "reason", json_object_new_string(reason));
	json_object_array_add(failures, f);
}

int fcgi_error_status(lc_rc rc, const lc_err_t *err, bool has_fields, const char **code)
{
	switch (rc) {
	case LC_ERR_INVALID:
		/* Bad input tied to a field is a validation failure; otherwise the request itself
		 * is malformed (unparsable JSON, not an object, bad Content-Length). */
		if (has_fields || (err != NULL && err->field[0] != '\0')) {
			*code = "validation_failed";
			return 422;
		}
		*code = "bad_request";
		return 400;
	case LC_ERR_NOT_FOUND:    *code = "not_found"; return 404;
	case LC_ERR_CONFLICT:     *code = "conflict"; return 409;
	case LC_ERR_UNAUTHORIZED: *code = "unauthorized"; return 401;
	case LC_ERR_FORBIDDEN:    *code = "forbidden"; return 403;
	case LC_ERR_TOO_LARGE:    *code = "payload_too_large"; return 413;
	case LC_ERR_RATE_LIMITED: *code = "rate_limited"; return 429;
	case LC_ERR_UNAVAILABLE:
	case LC_ERR_TIMEOUT:      *code = "unavailable"; return 503;
	case LC_OK:
	case LC_ERR_INTERNAL:
	case LC_RC_COUNT_:
	default:
		break;
	}
	*code = "internal";
	return 500;
}

void fcgi_error_respond(fcgi_response_t *resp, const char *request_id, lc_rc rc,
			const lc_err_t *err, json_object *fields)
{
	const char *code = NULL;
	bool has_fields = fields != NULL && json_object_array_length(fields) > 0;
	int status = fcgi_error_status(rc, err, has_fields, &code);
	const char *reason = err != NULL && err->reason[0] != '\0' ? err->reason : NULL;
	const char *message;

	switch (status) {
	case 500:
		/* The reason may name hosts, collections or library errors: log it, never send it. */
		LC_ERROR("request %s: internal error: %s (%s)", request_id, reason ? reason : "?",
			 lc_rc_name(rc));
		message = "internal error";
		break;
	case 503:
		LC_WARN("request %s: unavailable: %s", request_id, reason ? reason : "?");
		message = "service temporarily unavailable";
		break;
	case 422:
		message = "request is invalid";
		if (!has_fields) {
			json_object_put(fields);
			fields = json_object_new_array();
			add_failure(fields, err->field, reason ? reason : "is invalid");
		}
		break;
	default:
		message = reason ? reason : fcgi_status_text(status);
		break;
	}
	if (status != 422) {
		json_object_put(fields);
		fields = NULL;
	}
	/* Headers a handler set for this answer (Retry-After) stay; the body is replaced. */
	fcgi_response_json(resp, status, lc_json_error(code, message, fields));
	if (status == 401 && fcgi_response_get_header(resp, "WWW-Authenticate") == NULL)
		fcgi_response_header(resp, "WWW-Authenticate", "Bearer");
}

/* ---- helpers for handlers */

const char *fcgi_ctx_param(const fcgi_ctx_t *ctx, const char *name)
{
	LC_CHECK_OBJ(ctx, FCGI_CTX_MAGIC);
	const char *v = fcgi_params_get(&ctx->params, name);
	LC_ASSERT(v != NULL);   /* asking for a parameter the pattern lacks is a bug */
	return v;
}

bool fcgi_ctx_can(const fcgi_ctx_t *ctx, const char *perm)
{
	LC_CHECK_OBJ(ctx, FCGI_CTX_MAGIC);
	LC_ASSERT(lc_perm_is_known(perm));
	return ctx->perms != NULL && lc_perm_has(ctx->perms, perm);
}

lc_rc fcgi_ctx_require_all(const fcgi_ctx_t *ctx, json_object *perms, const char *what,
			   lc_err_t *err)
{
	for (size_t i = 0; lc_perm_all[i] != NULL; i++)
		if (lc_perm_has(perms, lc_perm_all[i]) && !fcgi_ctx_can(ctx, lc_perm_all[i]))
			return lc_err_set(err, LC_ERR_FORBIDDEN, "permission %s required %s",
					  lc_perm_all[i], what);
	return LC_OK;
}

int64_t fcgi_ctx_query_int(const fcgi_ctx_t *ctx, const char *name, int64_t def)
{
	return lc_json_get_int(ctx->query, name, def);
}

const char *fcgi_ctx_query_str(const fcgi_ctx_t *ctx, const char *name)
{
	return lc_json_get_str(ctx->query, name, NULL);
}

int fcgi_ctx_query_bool(const fcgi_ctx_t *ctx, const char *name)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(ctx->query, name, &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return -1;
	return json_object_get_boolean(v) ? 1 : 0;
}

void fcgi_ctx_paging(const fcgi_ctx_t *ctx, int64_t *skip, int64_t *limit)
{
	json_object *v = NULL;
	if (json_object_object_get_ex(ctx->query, "skip", &v) ||
	    json_object_object_get_ex(ctx->query, "limit", &v)) {
		*skip = fcgi_ctx_query_int(ctx, "skip", 0);
		*limit = fcgi_ctx_query_int(ctx, "limit", FCGI_DEFAULT_PAGE_SIZE);
		return;
	}
	int64_t page = fcgi_ctx_query_int(ctx, "page", 1);
	int64_t per_page = fcgi_ctx_query_int(ctx, "per_page", FCGI_DEFAULT_PAGE_SIZE);
	*skip = (page - 1) * per_page;
	*limit = per_page;
}

lc_rc fcgi_ctx_reply(fcgi_ctx_t *ctx, int status, json_object *body)
{
	LC_CHECK_OBJ(ctx, FCGI_CTX_MAGIC);
	fcgi_response_json(ctx->resp, status, body);
	return LC_OK;
}

lc_rc fcgi_ctx_reply_rc(fcgi_ctx_t *ctx, lc_rc rc, int status, json_object *body)
{
	if (rc != LC_OK) {
		json_object_put(body);
		return rc;
	}
	return fcgi_ctx_reply(ctx, status, body);
}

lc_rc fcgi_ctx_reply_list(fcgi_ctx_t *ctx, lc_rc rc, json_object *items, int64_t total,
			  int64_t skip, int64_t limit, void (*each)(json_object *item))
{
	if (rc != LC_OK) {
		json_object_put(items);
		return rc;
	}
	for (size_t i = 0; each != NULL && i < json_object_array_length(items); i++)
		each(json_object_array_get_idx(items, i));
	json_object *o = json_object_new_object();
	json_object_object_add(o, "items", items);
	json_object_object_add(o, "total", json_object_new_int64(total));
	json_object_object_add(o, "skip", json_object_new_int64(skip));
	json_object_object_add(o, "limit", json_object_new_int64(limit));
	return fcgi_ctx_reply(ctx, 200, o);
}

void fcgi_user_public(json_object *user)
{
	if (json_object_is_type(user, json_type_object)) {
		json_object_object_del(user, "password_hash");
		json_object_object_del(user, "_id");
	}
}

lc_rc fcgi_not_found(lc_rc rc, lc_err_t *err, const char *what)
{
	if (rc == LC_ERR_NOT_FOUND || rc == LC_ERR_INVALID)
		return lc_err_set(err, LC_ERR_NOT_FOUND, "no such %s", what);
	return rc;
}

lc_rc fcgi_unknown_ref(lc_rc rc, lc_err_t *err, const char *field, const char *reason)
{
	if (rc == LC_ERR_NOT_FOUND || rc == LC_ERR_INVALID)
		return lc_err_set_field(err, LC_ERR_INVALID, field, "%s", reason);
	return rc;
}

/* ---- pipeline stages */

static lc_rc stage_body(fcgi_ctx_t *ctx, lc_err_t *err)
{
	size_t max = (size_t)lc_config_int(ctx->cfg, "http_max_body");
	size_t len = 0;
	lc_rc rc = fcgi_request_read_body(ctx->req, max, err);
	if (rc != LC_OK)
		return rc;
	const char *body = fcgi_request_body(ctx->req, &len);
	if (len == 0) {
		if (ctx->route->flags & FCGI_ROUTE_BODY)
			return lc_err_set(err, LC_ERR_INVALID, "a JSON object body is required");
		return LC_OK;
	}
	/* A malformed body names no field (400); a key lc_json_parse refuses is named (422). */
	ctx->body = lc_json_parse(body, len, err);
	if (ctx->body == NULL)
		return err->code;
	if (!json_object_is_type(ctx->body, json_type_object))
		return lc_err_set(err, LC_ERR_INVALID, "the body must be a JSON object");
	return LC_OK;
}

/* One _id read: the session carries the user and its permissions (lc_auth_session.h). */
static lc_rc stage_authenticate(fcgi_ctx_t *ctx, lc_err_t *err)
{
	lc_principal_t who = { 0 };

	if (ctx->route->flags & FCGI_ROUTE_PUBLIC)
		return LC_OK;
	const char *token = fcgi_request_bearer(ctx->req);
	if (token == NULL) {
		token = fcgi_request_cookie(ctx->req, FCGI_SESSION_COOKIE);
		/* A browser sends the cookie wherever the request comes from: a write must come
		 * from a page of this origin (SameSite=Strict aside, which older browsers lack). */
		if (token != NULL && !fcgi_request_is_safe(ctx->req) &&
		    !fcgi_request_same_origin(ctx->req))
			return lc_err_set(err, LC_ERR_FORBIDDEN,
					  "cross-origin request refused: Origin must be this site's own");
	}
	if (token == NULL || *token == '\0')
		return lc_err_set(err, LC_ERR_UNAUTHORIZED, "authentication required");
	if (strlen(token) > FCGI_MAX_TOKEN_LEN)
		return lc_err_set(err, LC_ERR_UNAUTHORIZED, "invalid or expired token");
	lc_auth_token_hash(token, ctx->token_hash);
	lc_rc rc = lc_auth_session_check(ctx->store, ctx->token_hash, &who, err);
	if (rc != LC_OK)
		return rc;
	ctx->user = who.user;
	ctx->perms = who.permissions;
	ctx->expires_at = who.expires_at;
	ctx->user_id = lc_json_get_str(ctx->user, "id", "");
	return LC_OK;
}

static lc_rc stage_permission(fcgi_ctx_t *ctx, lc_err_t *err)
{
	const fcgi_route_t *rt = ctx->route;
	if ((rt->flags & FCGI_ROUTE_PUBLIC) || rt->perms[0] == NULL)
		return LC_OK;
	for (size_t i = 0; i < FCGI_ROUTE_MAX_PERMS && rt->perms[i] != NULL; i++)
		if (fcgi_ctx_can(ctx, rt->perms[i]))
			return LC_OK;
	if (rt->perms[1] == NULL)
		return lc_err_set(err, LC_ERR_FORBIDDEN, "permission %s required", rt->perms[0]);
	return lc_err_set(err, LC_ERR_FORBIDDEN, "permission %s or %s required", rt->perms[0],
			  rt->perms[1]);
}

/* Query strings are text: give each declared parameter its rule's type, then validate. */
static void type_query(fcgi_ctx_t *ctx, json_object *failures)
{
	const lc_vrule_t *rules = ctx->route->query_rules;
	for (const lc_vrule_t *r = rules; r != NULL && r->field != NULL; r++) {
		const char *v = fcgi_request_query(ctx->req, r->field);
		if (v == NULL)
			continue;
		if (r->type == LC_V_INT) {
			char *end = NULL;
			errno = 0;
			long long n = strtoll(v, &end, 10);
			/* Digits with an optional '-' only: strtoll would also take " +1". */
			bool digits = v[0] == '-' ? isdigit((unsigned char)v[1]) : isdigit((unsigned char)v[0]);
			if (!digits || *end != '\0' || errno == ERANGE) {
				add_failure(failures, r->field, "must be an integer");
				continue;
			}
			json_object_object_add(ctx->query, r->field, json_object_new_int64(n));
		} else if (r->type == LC_V_BOOL) {
			if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
				json_object_object_add(ctx->query, r->field, json_object_new_boolean(1));
			else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
				json_object_object_add(ctx->query, r->field, json_object_new_boolean(0));
			else
				add_failure(failures, r->field, "must be true or false");
		} else {
			json_object_object_add(ctx->query, r->field, json_object_new_string(v));
		}
	}
}

/* Check obj against rules, appending each failure to all. */
static void validate_into(json_object *all, json_object *obj, const lc_vrule_t *rules,
			  bool reject_unknown)
{
	json_object *f = NULL;
	lc_validate(obj, rules, reject_unknown, &f);
	for (size_t i = 0; f != NULL && i < json_object_array_length(f); i++)
		json_object_array_add(all, json_object_get(json_object_array_get_idx(f, i)));
	json_object_put(f);
}

static lc_rc stage_validate(fcgi_ctx_t *ctx, json_object **failures, lc_err_t *err)
{
	const fcgi_route_t *rt = ctx->route;
	json_object *all = json_object_new_array();

	type_query(ctx, all);
	if (rt->query_rules != NULL)
		validate_into(all, ctx->query, rt->query_rules, false);
	if (rt->body_rules != NULL && ctx->body != NULL)
		validate_into(all, ctx->body, rt->body_rules, true);
	if (json_object_array_length(all) == 0) {
		json_object_put(all);
		return LC_OK;
	}
	*failures = all;
	return lc_err_set(err, LC_ERR_INVALID, "request is invalid");
}

void fcgi_handle(const fcgi_app_t *app, fcgi_request_t *req, fcgi_response_t *resp)
{
	fcgi_ctx_t ctx;
	lc_err_t err;
	json_object *failures = NULL;
	char allow[64];
	lc_rc rc;
	int64_t t0 = lc_mono_ms();

	memset(&ctx, 0, sizeof ctx);
	lc_err_clear(&err);
	ctx.magic = FCGI_CTX_MAGIC;
	ctx.app = app;
	ctx.store = app->store;
	ctx.cfg = app->cfg;
	ctx.req = req;
	ctx.resp = resp;
	ctx.query = json_object_new_object();

	fcgi_response_header(resp, "X-Request-Id", fcgi_request_id(req));
	fcgi_match_t m = fcgi_router_match(app->router, fcgi_request_method(req),
					   fcgi_request_path(req), &ctx.route, &ctx.params, allow,
					   sizeof allow);
	if (m == FCGI_MATCH_NO_PATH) {
		rc = lc_err_set(&err, LC_ERR_NOT_FOUND, "no such resource");
		goto done;
	}
	if (m == FCGI_MATCH_NO_METHOD) {
		/* 405 has no lc_rc (it is a routing fact, not a runtime failure). */
		fcgi_response_header(resp, "Allow", allow);
		fcgi_response_json(resp, 405, lc_json_error("method_not_allowed",
							    "method not allowed for this resource", NULL));
		rc = LC_OK;
		goto log;
	}
	/* A pair that cannot be decoded is not silently ignored: it may be the one that mattered. */
	if (fcgi_request_query_malformed(req)) {
		rc = lc_err_set(&err, LC_ERR_INVALID, "malformed query string");
		goto done;
	}
	/* Refused whole rather than cut: the cookie wanted may be past any cut. */
	if (!lc_cookie_header_ok(fcgi_request_header(req, "Cookie"))) {
		rc = lc_err_set(&err, LC_ERR_INVALID, "Cookie header larger than %d bytes",
				LC_COOKIE_HEADER_MAX);
		goto done;
	}
	if ((rc = stage_body(&ctx, &err)) != LC_OK)
		goto done;
	if ((rc = stage_authenticate(&ctx, &err)) != LC_OK)
		goto done;
	if ((rc = stage_permission(&ctx, &err)) != LC_OK)
		goto done;
	if ((rc = stage_validate(&ctx, &failures, &err)) != LC_OK)
		goto done;
	rc = ctx.route->handler(&ctx, &err);
done:
	if (rc != LC_OK) {
		fcgi_error_respond(resp, fcgi_request_id(req), rc, &err, failures);
		failures = NULL;
	}
log:
	if (app->metrics != NULL)
		fcgi_metrics_observe(app->metrics, ctx.route ? ctx.route->method : NULL,
				     ctx.route ? ctx.route->pattern : NULL, fcgi_response_status(resp),
				     (lc_mono_ms() - t0) * 1000);
	LC_INFO("%s %s %s %s %d %lldms user=%s", fcgi_request_id(req), fcgi_request_client_addr(req),
		fcgi_request_method(req), fcgi_request_path(req), fcgi_response_status(resp),
		(long long)(lc_mono_ms() - t0), ctx.user_id ? ctx.user_id : "-");
	json_object_put(failures);
	json_object_put(ctx.body);
	json_object_put(ctx.query);
	json_object_put(ctx.user);
	json_object_put(ctx.perms);
	fcgi_params_clear(&ctx.params);
	ctx.magic = 0;
}
