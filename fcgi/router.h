/* SPDX-License-Identifier: MIT */
/* fcgi router: the route table (method, path pattern with {name} parameters, permission,
 * validation rules, handler) and the matcher. Each resource file exports one table; adding a
 * resource adds a table, the dispatcher (middleware.c) never changes. */
#ifndef FCGI_ROUTER_H
#define FCGI_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include "lc_err.h"
#include "lc_validate.h"

typedef struct fcgi_ctx fcgi_ctx_t;
typedef lc_rc (*fcgi_handler_fn)(fcgi_ctx_t *ctx, lc_err_t *err);

/* Route flags. */
#define FCGI_ROUTE_PUBLIC 0x1u   /* no authentication (login, health) */
#define FCGI_ROUTE_BODY 0x2u     /* a JSON object body is required */

#define FCGI_ROUTE_MAX_PERMS 3
#define FCGI_MAX_PARAMS 4

typedef struct fcgi_route {
	const char *method;             /* "GET", "POST", "PATCH", "PUT", "DELETE" */
	const char *pattern;            /* "/api/users/{id}/password" */
	unsigned flags;
	/* The user needs ANY of these (NULL-terminated within the array); none: any
	 * authenticated user may call it (the handler may check more). */
	const char *perms[FCGI_ROUTE_MAX_PERMS];
	const lc_vrule_t *body_rules;   /* checked with unknown fields rejected; NULL: none */
	/* Query parameters, typed by rule (an LC_V_INT parameter must parse as an integer);
	 * unknown query parameters are ignored. NULL: none. */
	const lc_vrule_t *query_rules;
	fcgi_handler_fn handler;
} fcgi_route_t;

#define FCGI_ROUTE_END { NULL, NULL, 0, { NULL }, NULL, NULL, NULL }

typedef struct fcgi_params {
	size_t n;
	const char *name[FCGI_MAX_PARAMS];   /* points into the pattern */
	char *value[FCGI_MAX_PARAMS];        /* percent-decoded, owned */
} fcgi_params_t;

typedef enum fcgi_match {
	FCGI_MATCH_OK = 0,
	FCGI_MATCH_NO_PATH,      /* 404 */
	FCGI_MATCH_NO_METHOD,    /* 405: the path exists with other methods */
} fcgi_match_t;

typedef struct fcgi_router fcgi_router_t;

fcgi_router_t *fcgi_router_new(void);
void fcgi_router_free(fcgi_router_t **router);
/* Add a table terminated by FCGI_ROUTE_END (borrowed: static tables). A malformed pattern is a
 * bug (LC_ASSERT). */
void fcgi_router_add(fcgi_router_t *router, const fcgi_route_t *table);
/* Find the route for method and path (a trailing slash is ignored). A parameter segment with a
 * malformed escape, an encoded NUL or bytes that are not UTF-8 matches no pattern. On FCGI_MATCH_OK *route and
 * *params are filled (release params with fcgi_params_clear). On FCGI_MATCH_NO_METHOD, allow
 * receives the comma-separated methods that exist for the path. */
fcgi_match_t fcgi_router_match(const fcgi_router_t *router, const char *method, const char *path,
			       const fcgi_route_t **route, fcgi_params_t *params, char *allow,
			       size_t allow_len);
/* The value of parameter name, NULL when the pattern has none. */
const char *fcgi_params_get(const fcgi_params_t *params, const char *name);
void fcgi_params_clear(fcgi_params_t *params);

#endif
