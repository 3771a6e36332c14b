/* SPDX-License-Identifier: MIT */
/* CUnit tests of the pure parts of the FastCGI program: route matching, request parsing
 * (path, query, cookies, bearer token, body limit), response rendering, the error mapping and
 * the pipeline stages that answer before any store access (404, 405, 413, 400, 401, 422 on a
 * public route). One init_<module>_tests() per fcgi module; runner: api/test_fcgi_unit. */
#include "config.h"
#include "middleware.h"
#include "request.h"
#include "router.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "cunit_run.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One per fcgi module, registered by main() at the end. */
int init_router_tests(void);
int init_request_tests(void);
int init_middleware_tests(void);

static lc_rc dummy_handler(fcgi_ctx_t *ctx, lc_err_t *err)
{
	(void)err;
	return fcgi_ctx_reply(ctx, 200, json_object_new_object());
}

static const fcgi_route_t table_a[] = {
	{ "GET", "/api/users", 0, { "users.read" }, NULL, NULL, dummy_handler },
	{ "POST", "/api/users", 0, { "users.write" }, NULL, NULL, dummy_handler },
	{ "GET", "/api/users/{id}", 0, { NULL }, NULL, NULL, dummy_handler },
	{ "PUT", "/api/users/{id}/password", 0, { NULL }, NULL, NULL, dummy_handler },
	FCGI_ROUTE_END
};
static const fcgi_route_t table_b[] = {
	{ "GET", "/api/rooms/{room}/messages/{msg}", 0, { NULL }, NULL, NULL, dummy_handler },
	FCGI_ROUTE_END
};

/* The router of the fcgi_router suite, and what the last match() found. */
static fcgi_router_t *router;
static const fcgi_route_t *matched;
static fcgi_params_t params;
static char allow[64];

static int router_setup(void)
{
	router = fcgi_router_new();
	fcgi_router_add(router, table_a);
	fcgi_router_add(router, table_b);
	return 0;
}

static int router_teardown(void)
{
	fcgi_params_clear(&params);
	fcgi_router_free(&router);
	return router == NULL ? 0 : -1;
}

static fcgi_match_t match(const char *method, const char *path)
{
	fcgi_params_clear(&params);
	return fcgi_router_match(router, method, path, &matched, &params, allow, sizeof allow);
}

static void test_router_matches_literal_path_and_method(void)
{
	CU_ASSERT_EQUAL(match("POST", "/api/users"), FCGI_MATCH_OK);
	CU_ASSERT_PTR_EQUAL(matched, &table_a[1]);
	CU_ASSERT_EQUAL(params.n, 0);
}

static void test_router_captures_and_decodes_parameters(void)
{
	CU_ASSERT_EQUAL(match("GET", "/api/rooms/r%201/messages/m%2F2"), FCGI_MATCH_OK);
	CU_ASSERT_PTR_EQUAL(matched, &table_b[0]);
	CU_ASSERT_STRING_EQUAL(fcgi_params_get(&params, "room"), "r 1");
	CU_ASSERT_STRING_EQUAL(fcgi_params_get(&params, "msg"), "m/2");
	CU_ASSERT_PTR_NULL(fcgi_params_get(&params, "id"));
}

static void test_router_ignores_trailing_slash(void)
{
	CU_ASSERT_EQUAL(match("GET", "/api/users/"), FCGI_MATCH_OK);
	CU_ASSERT_PTR_EQUAL(matched, &table_a[0]);
	CU_ASSERT_EQUAL(match("PUT", "/api/users/42/password/"), FCGI_MATCH_OK);
	CU_ASSERT_STRING_EQUAL(fcgi_params_get(&params, "id"), "42");
}

static void test_router_unknown_path_is_no_path(void)
{
	CU_ASSERT_EQUAL(match("GET", "/api/nothing"), FCGI_MATCH_NO_PATH);
	CU_ASSERT_EQUAL(match("GET", "/api/users/1/password/x"), FCGI_MATCH_NO_PATH);
	CU_ASSERT_EQUAL(match("GET", "/api"), FCGI_MATCH_NO_PATH);
	CU_ASSERT_PTR_NULL(matched);
}

static void test_router_known_path_other_method_lists_allowed_methods(void)
{
	CU_ASSERT_EQUAL(match("DELETE", "/api/users"), FCGI_MATCH_NO_METHOD);
	CU_ASSERT_STRING_EQUAL(allow, "GET, POST");
}

static void test_router_malformed_escape_does_not_match(void)
{
	CU_ASSERT_EQUAL(match("GET", "/api/users/%zz"), FCGI_MATCH_NO_PATH);
	CU_ASSERT_EQUAL(match("GET", "/api/users/%00"), FCGI_MATCH_NO_PATH);
	CU_ASSERT_EQUAL(match("GET", "/api/users/ab%4"), FCGI_MATCH_NO_PATH);
}

static void test_router_parameter_that_is_not_utf8_does_not_match(void)
{
	/* A lone continuation byte, an overlong '/', a UTF-16 surrogate. */
	CU_ASSERT_EQUAL(match("GET", "/api/users/%ff"), FCGI_MATCH_NO_PATH);
	CU_ASSERT_EQUAL(match("GET", "/api/users/%c0%af"), FCGI_MATCH_NO_PATH);
	CU_ASSERT_EQUAL(match("GET", "/api/users/%ed%a0%80"), FCGI_MATCH_NO_PATH);
	CU_ASSERT_PTR_NULL(matched);
	/* Real UTF-8 is fine. */
	CU_ASSERT_EQUAL(match("GET", "/api/users/%c3%a9t%c3%a9"), FCGI_MATCH_OK);
	CU_ASSERT_STRING_EQUAL(fcgi_params_get(&params, "id"), "\xc3\xa9t\xc3\xa9");
}

/* ---- request parsing */

static void test_request_path_comes_from_request_uri_without_query(void)
{
	char *env[] = { "REQUEST_METHOD=PATCH", "REQUEST_URI=/api/users/7?x=1", "SCRIPT_NAME=/api",
			"PATH_INFO=/other", NULL };
	fcgi_request_t *req = fcgi_request_new(env, NULL, NULL);
	CU_ASSERT_STRING_EQUAL(fcgi_request_method(req), "PATCH");
	CU_ASSERT_STRING_EQUAL(fcgi_request_path(req), "/api/users/7");
	CU_ASSERT_STRING_EQUAL(fcgi_request_query(req, "x"), "1");
	CU_ASSERT_FALSE(fcgi_request_query_malformed(req));
	CU_ASSERT_EQUAL(strlen(fcgi_request_id(req)), 16);
	fcgi_request_free(&req);
	CU_ASSERT_PTR_NULL(req);
}

static void test_request_path_falls_back_to_script_name_and_path_info(void)
{
	char *env[] = { "REQUEST_METHOD=GET", "SCRIPT_NAME=/api", "PATH_INFO=/users/7", NULL };
	fcgi_request_t *req = fcgi_request_new(env, NULL, NULL);
	CU_ASSERT_STRING_EQUAL(fcgi_request_path(req), "/api/users/7");
	fcgi_request_free(&req);
}

static void test_request_query_is_decoded_and_first_value_wins(void)
{
	char *env[] = { "QUERY_STRING=q=hello+w%C3%B6rld&q=second&empty=&flag&bad=%zz&p%61ge=2", NULL };
	fcgi_request_t *req = fcgi_request_new(env, NULL, NULL);
	CU_ASSERT_STRING_EQUAL(fcgi_request_query(req, "q"), "hello w\xc3\xb6rld");
	CU_ASSERT_STRING_EQUAL(fcgi_request_query(req, "empty"), "");
	CU_ASSERT_STRING_EQUAL(fcgi_request_query(req, "flag"), "");
	CU_ASSERT_PTR_NULL(fcgi_request_query(req, "bad"));
	CU_ASSERT_TRUE(fcgi_request_query_malformed(req));
	CU_ASSERT_STRING_EQUAL(fcgi_request_query(req, "page"), "2");
	CU_ASSERT_PTR_NULL(fcgi_request_query(req, "missing"));
	fcgi_request_free(&req);
}

static void test_request_keeps_every_query_parameter_however_many(void)
{
	/* 300 pairs before the one that matters: none may be dropped for lack of room. */
	char *qs = lc_strdup("QUERY_STRING=");
	for (int i = 0; i < 300; i++) {
		char *n = lc_asprintf("%sp%d=%d&", qs, i, i);
		free(qs);
		qs = n;
	}
	char *full = lc_asprintf("%spage=0", qs);
	char *env[] = { full, NULL };
	fcgi_request_t *req = fcgi_request_new(env, NULL, NULL);
	CU_ASSERT_STRING_EQUAL(fcgi_request_query(req, "p299"), "299");
	CU_ASSERT_STRING_EQUAL(fcgi_request_query(req, "page"), "0");
	const char *name = NULL, *value = NULL;
	CU_ASSERT_TRUE(fcgi_request_query_at(req, 300, &name, &value));
	CU_ASSERT_STRING_EQUAL(name, "page");
	CU_ASSERT_FALSE(fcgi_request_query_at(req, 301, &name, &value));
	fcgi_request_free(&req);
	free(full);
	free(qs);
}

static void test_request_finds_the_session_cookie_behind_many_others(void)
{
	char *h = lc_strdup("HTTP_COOKIE=");
	for (int i = 0; i < 100; i++) {
		char *n = lc_asprintf("%sc%d=v; ", h, i);
		free(h);
		h = n;
	}
	char *full = lc_asprintf("%slc_session=tok", h);
	char *env[] = { full, NULL };
	fcgi_request_t *req = fcgi_request_new(env, NULL, NULL);
	CU_ASSERT_STRING_EQUAL(fcgi_request_cookie(req, "lc_session"), "tok");
	CU_ASSERT_STRING_EQUAL(fcgi_request_cookie(req, "c99"), "v");
	fcgi_request_free(&req);
	free(full);
	free(h);
}

static void test_request_cookies_are_split_trimmed_and_unquoted(void)
{
	char *env[] = { "HTTP_COOKIE=theme=\"dark\";  lc_session=abc-DEF_1 ; quoted=\"v w\";novalue;x=", NULL };
	fcgi_request_t *req = fcgi_request_new(env, NULL, NULL);
	CU_ASSERT_STRING_EQUAL(fcgi_request_cookie(req, "lc_session"), "abc-DEF_1");
	CU_ASSERT_STRING_EQUAL(fcgi_request_cookie(req, "theme"), "dark");
	/* Quotes are dropped (RFC 6265); a value that is not cookie-octets is no cookie. */
	CU_ASSERT_PTR_NULL(fcgi_request_cookie(req, "quoted"));
	CU_ASSERT_STRING_EQUAL(fcgi_request_cookie(req, "x"), "");
	CU_ASSERT_PTR_NULL(fcgi_request_cookie(req, "novalue"));
	CU_ASSERT_PTR_NULL(fcgi_request_cookie(req, "lc"));
	fcgi_request_free(&req);
}

static void test_request_without_cookie_header_has_no_cookies(void)
{
	char *env[] = { NULL };
	fcgi_request_t *req = fcgi_request_new(env, NULL, NULL);
	CU_ASSERT_PTR_NULL(fcgi_request_cookie(req, "lc_session"));
	CU_ASSERT_STRING_EQUAL(fcgi_request_method(req), "GET");
	fcgi_request_free(&req);
}

/* The bearer token of a request whose only CGI variable is var (a copy, or NULL). */
static char *bearer_of(const char *var)
{
	char *env[] = { (char *)var, NULL };
	fcgi_request_t *req = fcgi_request_new(env, NULL, NULL);
	char *token = lc_strdup(fcgi_request_bearer(req));
	fcgi_request_free(&req);
	return token;
}

static void test_request_bearer_accepts_only_bearer_scheme(void)
{
	char *t = bearer_of("HTTP_AUTHORIZATION=bearer   tok123");
	CU_ASSERT_STRING_EQUAL(t, "tok123");
	free(t);
	CU_ASSERT_PTR_NULL(bearer_of("HTTP_AUTHORIZATION=Basic dXNlcjpwdw=="));
	CU_ASSERT_PTR_NULL(bearer_of("HTTP_AUTHORIZATION=Bearer "));
}

/* Whether a request whose only CGI variable is var counts as https. */
static bool https_of(const char *var)
{
	char *env[] = { (char *)var, NULL };
	fcgi_request_t *req = fcgi_request_new(env, NULL, NULL);
	bool https = fcgi_request_is_https(req);
	fcgi_request_free(&req);
	return https;
}

static void test_request_https_detected_from_https_or_scheme(void)
{
	CU_ASSERT_TRUE(https_of("HTTPS=on"));
	CU_ASSERT_TRUE(https_of("REQUEST_SCHEME=https"));
	CU_ASSERT_FALSE(https_of("REQUEST_SCHEME=http"));
}

/* A body source handing out a fixed string, a few bytes at a time. */
typedef struct src {
	const char *data;
	size_t len, pos, calls;
} src_t;

static ssize_t src_read(void *rctx, char *buf, size_t n)
{
	src_t *s = rctx;
	size_t left = s->len - s->pos;
	size_t k = n < left ? n : left;
	if (k > 3)
		k = 3;
	memcpy(buf, s->data + s->pos, k);
	s->pos += k;
	s->calls++;
	return (ssize_t)k;
}

/* Read the body s holds under the limit max, with CONTENT_LENGTH=cl (NULL: none). When body
 * is non-NULL it receives a copy of what was read. */
static lc_rc read_body(const char *cl, src_t *s, size_t max, char **body)
{
	char *var = cl ? lc_asprintf("CONTENT_LENGTH=%s", cl) : NULL;
	char *env[] = { var, NULL };
	lc_err_t err;
	fcgi_request_t *req = fcgi_request_new(env, src_read, s);
	lc_rc rc = fcgi_request_read_body(req, max, &err);
	if (body != NULL)
		*body = lc_strdup(fcgi_request_body(req, NULL));
	fcgi_request_free(&req);
	free(var);
	return rc;
}

static void test_body_within_limit_is_read_whole(void)
{
	src_t s = { "{\"a\":12345}", 11, 0, 0 };
	char *body = NULL;
	CU_ASSERT_EQUAL(read_body("11", &s, 1024, &body), LC_OK);
	CU_ASSERT_STRING_EQUAL(body, "{\"a\":12345}");
	free(body);
}

static void test_body_announced_over_limit_is_too_large_without_reading(void)
{
	src_t s = { "x", 1, 0, 0 };
	CU_ASSERT_EQUAL(read_body("2048", &s, 1024, NULL), LC_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(s.calls, 0);
	/* A length past what any integer holds is too large as well, not a crash. */
	CU_ASSERT_EQUAL(read_body("99999999999999999999999", &s, 1024, NULL), LC_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(s.calls, 0);
}

static void test_body_without_length_over_limit_is_too_large(void)
{
	src_t s = { "0123456789abcdef", 16, 0, 0 };
	CU_ASSERT_EQUAL(read_body(NULL, &s, 10, NULL), LC_ERR_TOO_LARGE);
	CU_ASSERT(s.pos <= 11);
}

static void test_body_shorter_than_content_length_is_invalid(void)
{
	src_t s = { "{}", 2, 0, 0 };
	CU_ASSERT_EQUAL(read_body("20", &s, 1024, NULL), LC_ERR_INVALID);
}

static void test_body_with_a_bad_content_length_is_invalid(void)
{
	src_t s = { "{}", 2, 0, 0 };
	CU_ASSERT_EQUAL(read_body("-1", &s, 1024, NULL), LC_ERR_INVALID);
	CU_ASSERT_EQUAL(read_body("12abc", &s, 1024, NULL), LC_ERR_INVALID);
	CU_ASSERT_EQUAL(s.calls, 0);
}

/* ---- responses and the error mapping */

static void test_response_renders_status_headers_cookie_and_body(void)
{
	fcgi_response_t *resp = fcgi_response_new();
	json_object *b = json_object_new_object();
	json_object_object_add(b, "ok", json_object_new_boolean(1));
	fcgi_response_json(resp, 201, b);
	fcgi_response_set_cookie(resp, "lc_session", "T0K", 3600, true);
	size_t len = 0;
	char *out = fcgi_response_render(resp, &len);
	CU_ASSERT_EQUAL(strlen(out), len);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Status: 201 Created\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Content-Type: application/json; charset=utf-8\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Set-Cookie: lc_session=T0K; Path=/; Max-Age=3600; HttpOnly; "
					   "SameSite=Strict; Secure\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\n\r\n{\"ok\":true}\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Content-Length: 12\r\n"));
	free(out);
	fcgi_response_free(&resp);
	CU_ASSERT_PTR_NULL(resp);
}

static void test_cookie_values_are_limited_to_cookie_octets(void)
{
	CU_ASSERT_TRUE(fcgi_cookie_value_valid("abc-DEF_123"));
	CU_ASSERT_TRUE(fcgi_cookie_value_valid(""));
	CU_ASSERT_FALSE(fcgi_cookie_value_valid("a; Domain=evil.example"));
	CU_ASSERT_FALSE(fcgi_cookie_value_valid("a\r\nSet-Cookie: x=1"));
	CU_ASSERT_FALSE(fcgi_cookie_value_valid("a b"));
	CU_ASSERT_FALSE(fcgi_cookie_value_valid("\"q\""));
	CU_ASSERT_FALSE(fcgi_cookie_value_valid("a,b"));
	CU_ASSERT_FALSE(fcgi_cookie_value_valid("caf\xc3\xa9"));
}

static void test_response_keeps_every_header(void)
{
	fcgi_response_t *resp = fcgi_response_new();
	for (int i = 0; i < 40; i++) {
		char name[16];
		snprintf(name, sizeof name, "X-H%d", i);
		fcgi_response_header(resp, name, "v");
	}
	CU_ASSERT_STRING_EQUAL(fcgi_response_get_header(resp, "x-h39"), "v");
	char *out = fcgi_response_render(resp, NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "X-H0: v\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "X-H39: v\r\n"));
	free(out);
	fcgi_response_reset(resp);
	CU_ASSERT_PTR_NULL(fcgi_response_get_header(resp, "X-H0"));
	fcgi_response_free(&resp);
}

static void test_response_204_has_no_body_or_content_type(void)
{
	fcgi_response_t *resp = fcgi_response_new();
	fcgi_response_json(resp, 204, NULL);
	char *out = fcgi_response_render(resp, NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Status: 204 No Content\r\n"));
	CU_ASSERT_PTR_NULL(strstr(out, "Content-Type"));
	CU_ASSERT_EQUAL(strcmp(out + strlen(out) - 4, "\r\n\r\n"), 0);
	free(out);
	fcgi_response_free(&resp);
}

static void test_error_status_maps_every_code(void)
{
	static const struct { lc_rc rc; int status; const char *code; } cases[] = {
		{ LC_ERR_NOT_FOUND, 404, "not_found" }, { LC_ERR_CONFLICT, 409, "conflict" },
		{ LC_ERR_UNAUTHORIZED, 401, "unauthorized" }, { LC_ERR_FORBIDDEN, 403, "forbidden" },
		{ LC_ERR_TOO_LARGE, 413, "payload_too_large" }, { LC_ERR_RATE_LIMITED, 429, "rate_limited" },
		{ LC_ERR_UNAVAILABLE, 503, "unavailable" }, { LC_ERR_TIMEOUT, 503, "unavailable" },
		{ LC_ERR_INTERNAL, 500, "internal" }, { LC_ERR_INVALID, 400, "bad_request" },
	};
	lc_err_t err;
	lc_err_clear(&err);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *code = NULL;
		CU_ASSERT_EQUAL(fcgi_error_status(cases[i].rc, &err, false, &code), cases[i].status);
		CU_ASSERT_STRING_EQUAL(code, cases[i].code);
	}
}

static void test_invalid_with_a_field_maps_to_422(void)
{
	lc_err_t err;
	const char *code = NULL;
	lc_err_set_field(&err, LC_ERR_INVALID, "group", "unknown group");
	CU_ASSERT_EQUAL(fcgi_error_status(LC_ERR_INVALID, &err, false, &code), 422);
	CU_ASSERT_STRING_EQUAL(code, "validation_failed");
	lc_err_clear(&err);
	CU_ASSERT_EQUAL(fcgi_error_status(LC_ERR_INVALID, &err, true, &code), 422);

	fcgi_response_t *resp = fcgi_response_new();
	lc_err_set_field(&err, LC_ERR_INVALID, "group", "unknown group");
	fcgi_error_respond(resp, "rid", LC_ERR_INVALID, &err, NULL);
	CU_ASSERT_EQUAL(fcgi_response_status(resp), 422);
	CU_ASSERT_STRING_EQUAL(lc_json_str(fcgi_response_body(resp)),
			       "{\"error\":{\"code\":\"validation_failed\",\"message\":\"request is invalid\","
			       "\"fields\":[{\"field\":\"group\",\"reason\":\"unknown group\"}]}}");
	fcgi_response_free(&resp);
}

static void test_internal_error_body_leaks_no_reason(void)
{
	fcgi_response_t *resp = fcgi_response_new();
	lc_err_t err;
	lc_err_set(&err, LC_ERR_INTERNAL, "mongoc: secret-host:27017 collection users exploded");
	fcgi_error_respond(resp, "rid", LC_ERR_INTERNAL, &err, NULL);
	CU_ASSERT_EQUAL(fcgi_response_status(resp), 500);
	const char *body = lc_json_str(fcgi_response_body(resp));
	CU_ASSERT_PTR_NULL(strstr(body, "secret"));
	CU_ASSERT_PTR_NULL(strstr(body, "mongoc"));
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"code\":\"internal\""));
	fcgi_error_respond(resp, "rid", LC_ERR_UNAVAILABLE, &err, NULL);
	CU_ASSERT_EQUAL(fcgi_response_status(resp), 503);
	CU_ASSERT_PTR_NULL(strstr(lc_json_str(fcgi_response_body(resp)), "secret"));
	fcgi_response_free(&resp);
}

/* ---- the pipeline, up to the stages that need no store */

static lc_config_t *cfg;
static lc_store_t *store;
static fcgi_router_t *app_router;

/* A public route with typed query parameters, so validation is reached without a store. */
static const lc_vrule_t probe_query[] = {
	{ "n", LC_V_INT, false, 1, 10, NULL, NULL },
	{ "flag", LC_V_BOOL, false, 0, 0, NULL, NULL },
	{ "name", LC_V_STRING, false, 1, 8, NULL, NULL },
	LC_VRULE_END
};
static const fcgi_route_t probe_routes[] = {
	{ "GET", "/api/probe", FCGI_ROUTE_PUBLIC, { NULL }, NULL, probe_query, dummy_handler },
	FCGI_ROUTE_END
};

static int pipeline_setup(void)
{
	lc_err_t err;
	setenv("LIVECHAT_HTTP_MAX_BODY", "1024", 1);
	cfg = lc_config_new_defaults(&err);
	/* lc_store_new does not contact the server; these tests stop before any store call. */
	store = lc_store_new("mongodb://127.0.0.1:1/", "lc_unit_never_used", &err);
	app_router = fcgi_router_new();
	fcgi_router_add(app_router, fcgi_auth_routes);
	fcgi_router_add(app_router, fcgi_users_routes);
	fcgi_router_add(app_router, fcgi_canned_routes);
	fcgi_router_add(app_router, probe_routes);
	return cfg != NULL && store != NULL ? 0 : -1;
}

static int pipeline_teardown(void)
{
	fcgi_router_free(&app_router);
	lc_store_free(&store);
	lc_config_free(&cfg);
	return 0;
}

static fcgi_response_t *run(char **env, const char *body)
{
	fcgi_app_t app = { .cfg = cfg, .store = store, .router = app_router };
	src_t s = { body ? body : "", body ? strlen(body) : 0, 0, 0 };
	fcgi_request_t *req = fcgi_request_new(env, src_read, &s);
	fcgi_response_t *resp = fcgi_response_new();
	fcgi_handle(&app, req, resp);
	CU_ASSERT_PTR_NOT_NULL(fcgi_response_get_header(resp, "X-Request-Id"));
	fcgi_request_free(&req);
	return resp;
}

static const char *error_code(fcgi_response_t *resp)
{
	json_object *e = NULL;
	json_object_object_get_ex(fcgi_response_body(resp), "error", &e);
	return lc_json_get_str(e, "code", "");
}

/* Run method uri (with body, which sets CONTENT_LENGTH) through the pipeline and check the
 * status and the error code ("" for a success). Returns the response for more checks. */
static fcgi_response_t *expect(const char *method, const char *uri, const char *body, int status,
			       const char *code)
{
	char *m = lc_asprintf("REQUEST_METHOD=%s", method);
	char *u = lc_asprintf("REQUEST_URI=%s", uri);
	char *cl = body ? lc_asprintf("CONTENT_LENGTH=%zu", strlen(body)) : NULL;
	char *env[] = { m, u, cl, NULL };
	fcgi_response_t *resp = run(env, body);
	CU_ASSERT_EQUAL(fcgi_response_status(resp), status);
	CU_ASSERT_STRING_EQUAL(error_code(resp), code);
	free(m);
	free(u);
	free(cl);
	return resp;
}

static void check(const char *method, const char *uri, const char *body, int status,
		  const char *code)
{
	fcgi_response_t *resp = expect(method, uri, body, status, code);
	fcgi_response_free(&resp);
}

static void test_pipeline_unknown_route_is_404(void)
{
	check("GET", "/api/nope", NULL, 404, "not_found");
	/* A parameter that is not UTF-8 names nothing. */
	check("GET", "/api/users/%ff", NULL, 404, "not_found");
}

static void test_pipeline_wrong_method_is_405_with_allow(void)
{
	fcgi_response_t *resp = expect("DELETE", "/api/auth/login", NULL, 405, "method_not_allowed");
	CU_ASSERT_STRING_EQUAL(fcgi_response_get_header(resp, "Allow"), "POST");
	fcgi_response_free(&resp);
}

static void test_pipeline_oversized_body_is_413_before_authentication(void)
{
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/api/canned", "CONTENT_LENGTH=5000", NULL };
	fcgi_response_t *resp = run(env, NULL);
	CU_ASSERT_EQUAL(fcgi_response_status(resp), 413);
	CU_ASSERT_STRING_EQUAL(error_code(resp), "payload_too_large");
	fcgi_response_free(&resp);
}

static void test_pipeline_malformed_json_is_400(void)
{
	check("POST", "/api/auth/login", "{\"a\": 1,", 400, "bad_request");
}

static void test_pipeline_non_object_body_is_400(void)
{
	check("POST", "/api/auth/login", "[1,2,3]", 400, "bad_request");
}

static void test_pipeline_missing_required_body_is_400(void)
{
	check("POST", "/api/auth/login", NULL, 400, "bad_request");
}

static void test_pipeline_no_token_is_401(void)
{
	fcgi_response_t *resp = expect("GET", "/api/users?page=1", NULL, 401, "unauthorized");
	CU_ASSERT_STRING_EQUAL(fcgi_response_get_header(resp, "WWW-Authenticate"), "Bearer");
	fcgi_response_free(&resp);
}

static void test_pipeline_public_route_validation_lists_every_failing_field(void)
{
	fcgi_response_t *resp = expect("POST", "/api/auth/login", "{\"username\":5,\"extra\":true}",
				       422, "validation_failed");
	const char *body = lc_json_str(fcgi_response_body(resp));
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"field\":\"username\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"field\":\"password\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"field\":\"extra\""));
	fcgi_response_free(&resp);
}

static void test_pipeline_query_integers_are_plain_digits(void)
{
	check("GET", "/api/probe?n=3&flag=true&name=abc", NULL, 200, "");
	check("GET", "/api/probe?n=-3", NULL, 422, "validation_failed");
	check("GET", "/api/probe?n=%203", NULL, 422, "validation_failed");
	check("GET", "/api/probe?n=%2B3", NULL, 422, "validation_failed");
	check("GET", "/api/probe?n=3x", NULL, 422, "validation_failed");
	check("GET", "/api/probe?n=", NULL, 422, "validation_failed");
	check("GET", "/api/probe?n=99999999999999999999999", NULL, 422, "validation_failed");
	check("GET", "/api/probe?flag=maybe", NULL, 422, "validation_failed");
}

static void test_pipeline_malformed_query_string_is_400(void)
{
	check("GET", "/api/probe?n=1%00", NULL, 400, "bad_request");
	check("GET", "/api/probe?n=%zz", NULL, 400, "bad_request");
	check("GET", "/api/probe?x%4=1", NULL, 400, "bad_request");
	check("GET", "/api/probe?&&n=1&", NULL, 200, "");
}

static void test_pipeline_query_strings_must_be_utf8_and_bounded(void)
{
	check("GET", "/api/probe?name=%ff", NULL, 422, "validation_failed");
	check("GET", "/api/probe?name=%c3%a9%c3%a9%c3%a9%c3%a9%c3%a9%c3%a9%c3%a9%c3%a9", NULL, 200, "");
	check("GET", "/api/probe?name=123456789", NULL, 422, "validation_failed");
	/* A bad value late in a long query string is still seen. */
	char *uri = lc_strdup("/api/probe?");
	for (int i = 0; i < 100; i++) {
		char *n = lc_asprintf("%sx%d=1&", uri, i);
		free(uri);
		uri = n;
	}
	char *bad = lc_asprintf("%sn=0", uri);
	check("GET", bad, NULL, 422, "validation_failed");
	free(bad);
	free(uri);
}

int init_router_tests(void)
{
	CU_pSuite s = CU_add_suite("fcgi_router", router_setup, router_teardown);
	if (s == NULL)
		return -1;
	CU_ADD_TEST(s, test_router_matches_literal_path_and_method);
	CU_ADD_TEST(s, test_router_captures_and_decodes_parameters);
	CU_ADD_TEST(s, test_router_ignores_trailing_slash);
	CU_ADD_TEST(s, test_router_unknown_path_is_no_path);
	CU_ADD_TEST(s, test_router_known_path_other_method_lists_allowed_methods);
	CU_ADD_TEST(s, test_router_malformed_escape_does_not_match);
	CU_ADD_TEST(s, test_router_parameter_that_is_not_utf8_does_not_match);
	return 0;
}

int init_request_tests(void)
{
	CU_pSuite s = CU_add_suite("fcgi_request", NULL, NULL);
	if (s == NULL)
		return -1;
	CU_ADD_TEST(s, test_request_path_comes_from_request_uri_without_query);
	CU_ADD_TEST(s, test_request_path_falls_back_to_script_name_and_path_info);
	CU_ADD_TEST(s, test_request_query_is_decoded_and_first_value_wins);
	CU_ADD_TEST(s, test_request_keeps_every_query_parameter_however_many);
	CU_ADD_TEST(s, test_request_finds_the_session_cookie_behind_many_others);
	CU_ADD_TEST(s, test_request_cookies_are_split_trimmed_and_unquoted);
	CU_ADD_TEST(s, test_request_without_cookie_header_has_no_cookies);
	CU_ADD_TEST(s, test_request_bearer_accepts_only_bearer_scheme);
	CU_ADD_TEST(s, test_request_https_detected_from_https_or_scheme);
	CU_ADD_TEST(s, test_body_within_limit_is_read_whole);
	CU_ADD_TEST(s, test_body_announced_over_limit_is_too_large_without_reading);
	CU_ADD_TEST(s, test_body_without_length_over_limit_is_too_large);
	CU_ADD_TEST(s, test_body_shorter_than_content_length_is_invalid);
	CU_ADD_TEST(s, test_body_with_a_bad_content_length_is_invalid);
	CU_ADD_TEST(s, test_cookie_values_are_limited_to_cookie_octets);
	CU_ADD_TEST(s, test_response_renders_status_headers_cookie_and_body);
	CU_ADD_TEST(s, test_response_keeps_every_header);
	CU_ADD_TEST(s, test_response_204_has_no_body_or_content_type);
	return 0;
}

int init_middleware_tests(void)
{
	CU_pSuite errors = CU_add_suite("fcgi_error_mapping", NULL, NULL);
	CU_pSuite s = CU_add_suite("fcgi_pipeline", pipeline_setup, pipeline_teardown);
	if (errors == NULL || s == NULL)
		return -1;
	CU_ADD_TEST(errors, test_error_status_maps_every_code);
	CU_ADD_TEST(errors, test_invalid_with_a_field_maps_to_422);
	CU_ADD_TEST(errors, test_internal_error_body_leaks_no_reason);
	CU_ADD_TEST(s, test_pipeline_unknown_route_is_404);
	CU_ADD_TEST(s, test_pipeline_wrong_method_is_405_with_allow);
	CU_ADD_TEST(s, test_pipeline_oversized_body_is_413_before_authentication);
	CU_ADD_TEST(s, test_pipeline_malformed_json_is_400);
	CU_ADD_TEST(s, test_pipeline_non_object_body_is_400);
	CU_ADD_TEST(s, test_pipeline_missing_required_body_is_400);
	CU_ADD_TEST(s, test_pipeline_no_token_is_401);
	CU_ADD_TEST(s, test_pipeline_public_route_validation_lists_every_failing_field);
	CU_ADD_TEST(s, test_pipeline_query_integers_are_plain_digits);
	CU_ADD_TEST(s, test_pipeline_malformed_query_string_is_400);
	CU_ADD_TEST(s, test_pipeline_query_strings_must_be_utf8_and_bounded);
	return 0;
}

int init_proxy_tests(void);   /* test_proxy.c */
int init_metrics_tests(void); /* test_metrics.c */

int main(void)
{
	const lc_cunit_init_fn inits[] = {
		init_router_tests, init_request_tests, init_middleware_tests, init_proxy_tests,
		init_metrics_tests,
	};

	lc_log_init("test_fcgi_unit", "stderr", LC_LOG_ERROR);
	return lc_cunit_run("test_fcgi_unit", inits, sizeof inits / sizeof inits[0]);
}
