/* SPDX-License-Identifier: MIT */
/* fcgi middleware: the request pipeline every request passes (request id and access log, body
 * limit, JSON parsing, authentication, permission, validation, handler) and the one place where
 * an lc_rc + lc_err_t becomes an HTTP status and the JSON error shape. Also the context handlers
 * receive and the helpers they share. */
#ifndef FCGI_MIDDLEWARE_H
#define FCGI_MIDDLEWARE_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include "lc_config.h"
#include "lc_err.h"
#include "lc_store.h"
#include "probe.h"
#include "request.h"
#include "revoke.h"
#include "throttle.h"
#include "router.h"

/* What lives as long as the process, shared by its serving threads (each part thread-safe):
 * config, the store (one MongoDB client pool), routes, the publisher of revocation events (one
 * RabbitMQ connection, opened on first use), the health probe cache. */
typedef struct fcgi_app {
	const lc_config_t *cfg;        /* borrowed */
	lc_store_t *store;             /* borrowed */
	const fcgi_router_t *router;   /* borrowed */
	fcgi_revoke_t *revoke;         /* borrowed; NULL: no events (the periodic check remains) */
	fcgi_probe_cache_t *health;    /* borrowed: what GET /api/health answers */
	fcgi_throttle_t *throttle;     /* borrowed; NULL: no limit on password checks at once */
	struct fcgi_metrics *metrics;  /* borrowed; NULL: not counted (metrics.h) */
} fcgi_app_t;

#define FCGI_CTX_MAGIC 0x43545831u   /* "CTX1" */
/* The session cookie login sets (contracts: HttpOnly, SameSite=Strict, Path=/). */
#define FCGI_SESSION_COOKIE "lc_session"

/* One request in flight, as a handler sees it. Everything is owned by the pipeline. */
struct fcgi_ctx {
	unsigned magic;
	const fcgi_app_t *app;
	lc_store_t *store;
	const lc_config_t *cfg;
	fcgi_request_t *req;
	fcgi_response_t *resp;
	const fcgi_route_t *route;
	fcgi_params_t params;
	json_object *body;        /* the parsed body, or NULL when the request had none */
	json_object *query;       /* query parameters typed by route->query_rules (an object) */
	json_object *user;        /* authenticated user without password_hash, or NULL */
	json_object *perms;       /* permissions of the user's group (array), or NULL */
	const char *user_id;      /* points into user */
	char token_hash[65];      /* of the token used, "" when public */
	int64_t expires_at;       /* of the session used */
};

/* Run the whole pipeline for req, leaving the answer in resp. Never fails: every error is
 * turned into a response. */
void fcgi_handle(const fcgi_app_t *app, fcgi_request_t *req, fcgi_response_t *resp);

/* The status and error code for rc (lc_rc_http): LC_ERR_INVALID is 422 when a field is named
 * (err->field or fields), 400 otherwise. */
int fcgi_error_status(lc_rc rc, const lc_err_t *err, bool has_fields, const char **code);
/* Replace resp with the JSON error for rc/err; fields (may be NULL) is taken over. Internal
 * failures answer a fixed message and log the reason under the request id. */
void fcgi_error_respond(fcgi_response_t *resp, const char *request_id, lc_rc rc,
			const lc_err_t *err, json_object *fields);

/* ---- helpers for handlers */
const char *fcgi_ctx_param(const fcgi_ctx_t *ctx, const char *name);
bool fcgi_ctx_can(const fcgi_ctx_t *ctx, const char *perm);
/* FORBIDDEN unless the caller holds every permission of perms (a JSON array; NULL: none):
 * nobody grants, removes or takes over more than they hold themselves. what says what was
 * refused ("to grant", "to change a user of group admin"). */
lc_rc fcgi_ctx_require_all(const fcgi_ctx_t *ctx, json_object *perms, const char *what,
			   lc_err_t *err);
/* Typed query parameter, or def when absent. */
int64_t fcgi_ctx_query_int(const fcgi_ctx_t *ctx, const char *name, int64_t def);
const char *fcgi_ctx_query_str(const fcgi_ctx_t *ctx, const char *name);
/* -1 absent, 0 false, 1 true */
int fcgi_ctx_query_bool(const fcgi_ctx_t *ctx, const char *name);
/* skip/limit from ?skip&limit or ?page&per_page (see docs/api.md, Paging). */
void fcgi_ctx_paging(const fcgi_ctx_t *ctx, int64_t *skip, int64_t *limit);
/* Answer status with body (taken over). */
lc_rc fcgi_ctx_reply(fcgi_ctx_t *ctx, int status, json_object *body);
/* When rc is LC_OK, answer status with body (taken over); otherwise drop body. Returns rc, so a
 * handler can end with `return fcgi_ctx_reply_rc(ctx, rc, 200, out);`. */
lc_rc fcgi_ctx_reply_rc(fcgi_ctx_t *ctx, lc_rc rc, int status, json_object *body);
/* When rc is LC_OK: apply each (may be NULL) to every item, then answer 200
 * {"items": items, "total": total, "skip": skip, "limit": limit}. items is taken over either
 * way. Returns rc. */
lc_rc fcgi_ctx_reply_list(fcgi_ctx_t *ctx, lc_rc rc, json_object *items, int64_t total,
			  int64_t skip, int64_t limit, void (*each)(json_object *item));
/* Remove password_hash (and anything else a client must not see) from a user object. */
void fcgi_user_public(json_object *user);
/* For loading the thing a path names: a store NOT_FOUND, or an INVALID (an id the store cannot
 * parse), becomes NOT_FOUND "no such <what>"; any other rc is returned unchanged. */
lc_rc fcgi_not_found(lc_rc rc, lc_err_t *err, const char *what);
/* For a body field naming another resource (a group, an owner): a store NOT_FOUND or INVALID
 * becomes a validation failure of field with reason; any other rc is returned unchanged. */
lc_rc fcgi_unknown_ref(lc_rc rc, lc_err_t *err, const char *field, const char *reason);

/* The paging query rules every list route includes. */
#define FCGI_PAGING_RULES \
	{ "page", LC_V_INT, false, 1, 1000000, NULL, NULL }, \
	{ "per_page", LC_V_INT, false, 1, 200, NULL, NULL }, \
	{ "skip", LC_V_INT, false, 0, INT64_MAX, NULL, NULL }, \
	{ "limit", LC_V_INT, false, 1, 200, NULL, NULL }
#define FCGI_DEFAULT_PAGE_SIZE 50

/* Route tables, one per resource file. */
extern const fcgi_route_t fcgi_auth_routes[];
extern const fcgi_route_t fcgi_users_routes[];
extern const fcgi_route_t fcgi_groups_routes[];
extern const fcgi_route_t fcgi_canned_routes[];
extern const fcgi_route_t fcgi_settings_routes[];
extern const fcgi_route_t fcgi_rooms_routes[];
extern const fcgi_route_t fcgi_health_routes[];

#endif
