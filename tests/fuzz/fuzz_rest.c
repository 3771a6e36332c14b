/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the REST request path of livechat-fcgi, as far as it goes without a
 * database: every route of the real tables (their query and body rules), made public and given
 * a handler that only answers 200, so route matching, query decoding, the Cookie header check,
 * the body limit, JSON parsing and validation all run on hostile input. Also the shared Cookie
 * parser and the Origin check on the same header values.
 * Input: "METHOD URI\nCOOKIE\nORIGIN\nBODY..." (missing lines are empty).
 * Invariants (abort when broken): the answer renders, has a status of 200..599 other than 500,
 * and a body that is JSON. */
#include "config.h"
#include "middleware.h"
#include "lc_alloc.h"
#include "lc_cookie.h"
#include "lc_json.h"
#include "lc_log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lc_config_t *cfg;
static fcgi_router_t *router;

static lc_rc answer_ok(fcgi_ctx_t *ctx, lc_err_t *err)
{
	(void)err;
	return fcgi_ctx_reply(ctx, 200, json_object_new_object());
}

/* A copy of table, public and with answer_ok as handler (leaked: lives as long as the run). */
static const fcgi_route_t *public_copy(const fcgi_route_t *table)
{
	size_t n = 0;
	while (table[n].method != NULL)
		n++;
	fcgi_route_t *copy = lc_calloc(n + 1, sizeof *copy);
	for (size_t i = 0; i < n; i++) {
		copy[i] = table[i];
		copy[i].flags |= FCGI_ROUTE_PUBLIC;
		copy[i].handler = answer_ok;
	}
	return copy;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	lc_err_t err;
	lc_log_init("fuzz_rest", "stderr", LC_LOG_ERROR);
	cfg = lc_config_new_defaults(&err);
	if (cfg == NULL)
		abort();
	const fcgi_route_t *tables[] = { fcgi_auth_routes, fcgi_users_routes, fcgi_groups_routes,
					 fcgi_canned_routes, fcgi_settings_routes,
					 fcgi_rooms_routes, fcgi_health_routes };
	router = fcgi_router_new();
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
		fcgi_router_add(router, public_copy(tables[i]));
	return 0;
}

typedef struct body_src {
	const char *p;
	size_t len, off;
} body_src_t;

static ssize_t body_read(void *rctx, char *buf, size_t n)
{
	body_src_t *b = rctx;
	size_t left = b->len - b->off;
	if (n > left)
		n = left;
	memcpy(buf, b->p + b->off, n);
	b->off += n;
	return (ssize_t)n;
}

/* The next line of data (up to '\n' or the end) as a new string cut at any NUL (a CGI variable
 * cannot hold one); *pos moves past it. */
static char *next_line(const uint8_t *data, size_t size, size_t *pos)
{
	size_t start = *pos, end = start;
	while (end < size && data[end] != '\n')
		end++;
	*pos = end < size ? end + 1 : end;
	return lc_strndup((const char *)data + start, end - start);
}

static const char *const methods[] = { "GET", "POST", "PATCH", "PUT", "DELETE", "HEAD" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0;
	char *first = next_line(data, size, &pos);
	char *cookie = next_line(data, size, &pos);
	char *origin = next_line(data, size, &pos);
	body_src_t body = { (const char *)data + pos, size - pos, 0 };
	const char *space = strchr(first, ' ');
	const char *uri = space != NULL ? space + 1 : first;
	/* The method the line names, else one picked by its first byte. */
	const char *method = methods[(unsigned char)first[0] % 6];
	for (size_t i = 0; space != NULL && i < 6; i++)
		if (strlen(methods[i]) == (size_t)(space - first) &&
		    memcmp(first, methods[i], (size_t)(space - first)) == 0)
			method = methods[i];

	char *env[8];
	size_t n = 0;
	env[n++] = lc_asprintf("REQUEST_METHOD=%s", method);
	env[n++] = lc_asprintf("REQUEST_URI=%s", uri);
	env[n++] = lc_asprintf("HTTP_COOKIE=%s", cookie);
	env[n++] = lc_asprintf("HTTP_ORIGIN=%s", origin);
	env[n++] = lc_asprintf("HTTP_HOST=127.0.0.1:8080");
	env[n++] = lc_asprintf("CONTENT_LENGTH=%zu", body.len);
	env[n] = NULL;

	fcgi_app_t app = { .cfg = cfg, .store = NULL, .router = router };
	fcgi_request_t *req = fcgi_request_new(env, body_read, &body);
	fcgi_response_t *resp = fcgi_response_new();
	fcgi_handle(&app, req, resp);

	int status = fcgi_response_status(resp);
	if (status < 200 || status > 599 || status == 500)
		abort();
	size_t len = 0;
	char *out = fcgi_response_render(resp, &len);
	const char *json = strstr(out, "\r\n\r\n");
	if (json == NULL)
		abort();
	json += 4;
	if (*json != '\0') {
		json_object *o = lc_json_parse(json, strlen(json), NULL);
		if (o == NULL)
			abort();
		json_object_put(o);
	}
	free(out);

	/* The same header values through the shared parser and the Origin check. */
	(void)fcgi_request_cookie(req, FCGI_SESSION_COOKIE);
	(void)fcgi_request_same_origin(req);
	char *v = NULL;
	if (lc_cookie_find(cookie, "lc_session", &v, NULL) == LC_OK &&
	    !lc_cookie_value_valid(v, strlen(v)))
		abort();
	free(v);

	fcgi_response_free(&resp);
	fcgi_request_free(&req);
	for (size_t i = 0; i < n; i++)
		free(env[i]);
	free(first);
	free(cookie);
	free(origin);
	return 0;
}
