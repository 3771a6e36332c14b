/* CUnit tests of the pure parts of the FastCGI program: route matching, request parsing
 * (path, query, cookies, bearer token, body limit), response rendering, the error mapping and
 * the pipeline stages that answer before any store access (404, 405, 413, 400, 401, 422 on a
 * public route). Standalone runner: api/test_fcgi_unit. */
#include "config.h"
#include "middleware.h"
#include "request.h"
#include "router.h"
#include "lc_json.h"
#include "lc_log.h"

#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

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

static fcgi_router_t *make_router(void)
{
	fcgi_router_t *r = fcgi_router_new();
	fcgi_router_add(r, table_a);
	fcgi_router_add(r, table_b);
	return r;
}

static void test_router_matches_literal_path_and_method(void)
{
	fcgi_router_t *r = make_router();
	const fcgi_route_t *rt = NULL;
	fcgi_params_t p;
	CU_ASSERT_EQUAL(fcgi_router_match(r, "POST", "/api/users", &rt, &p, NULL, 0), FCGI_MATCH_OK);
	CU_ASSERT_PTR_EQUAL(rt, &table_a[1]);
	CU_ASSERT_EQUAL(p.n, 0);
	fcgi_router_free(&r);
	CU_ASSERT_PTR_NULL(r);
}

static void test_router_captures_and_decodes_parameters(void)
{
	fcgi_router_t *r = make_router();
	const fcgi_route_t *rt = NULL;
	fcgi_params_t p;
	CU_ASSERT_EQUAL(fcgi_router_match(r, "GET", "/api/rooms/r%201/messages/m%2F2", &rt, &p, NULL, 0),
			FCGI_MATCH_OK);
	CU_ASSERT_PTR_EQUAL(rt, &table_b[0]);
	CU_ASSERT_STRING_EQUAL(fcgi_params_get(&p, "room"), "r 1");
	CU_ASSERT_STRING_EQUAL(fcgi_params_get(&p, "msg"), "m/2");
	CU_ASSERT_PTR_NULL(fcgi_params_get(&p, "id"));
	fcgi_params_clear(&p);
	fcgi_router_free(&r);
}

static void test_router_ignores_trailing_slash(void)
{
	fcgi_router_t *r = make_router();
	const fcgi_route_t *rt = NULL;
	fcgi_params_t p;
	CU_ASSERT_EQUAL(fcgi_router_match(r, "GET", "/api/users/", &rt, &p, NULL, 0), FCGI_MATCH_OK);
	CU_ASSERT_PTR_EQUAL(rt, &table_a[0]);
	CU_ASSERT_EQUAL(fcgi_router_match(r, "PUT", "/api/users/42/password/", &rt, &p, NULL, 0),
			FCGI_MATCH_OK);
	CU_ASSERT_STRING_EQUAL(fcgi_params_get(&p, "id"), "42");
	fcgi_params_clear(&p);
	fcgi_router_free(&r);
}

static void test_router_unknown_path_is_no_path(void)
{
	fcgi_router_t *r = make_router();
	const fcgi_route_t *rt = NULL;
	fcgi_params_t p;
	CU_ASSERT_EQUAL(fcgi_router_match(r, "GET", "/api/nothing", &rt, &p, NULL, 0), FCGI_MATCH_NO_PATH);
	CU_ASSERT_EQUAL(fcgi_router_match(r, "GET", "/api/users/1/password/x", &rt, &p, NULL, 0),
			FCGI_MATCH_NO_PATH);
	CU_ASSERT_EQUAL(fcgi_router_match(r, "GET", "/api", &rt, &p, NULL, 0), FCGI_MATCH_NO_PATH);
	CU_ASSERT_PTR_NULL(rt);
	fcgi_router_free(&r);
}

static void test_router_known_path_other_method_lists_allowed_methods(void)
{
	fcgi_router_t *r = make_router();
	const fcgi_route_t *rt = NULL;
	fcgi_params_t p;
	char allow[64];
	CU_ASSERT_EQUAL(fcgi_router_match(r, "DELETE", "/api/users", &rt, &p, allow, sizeof allow),
			FCGI_MATCH_NO_METHOD);
	CU_ASSERT_STRING_EQUAL(allow, "GET, POST");
	fcgi_router_free(&r);
}

static void test_router_malformed_escape_does_not_match(void)
{
	fcgi_router_t *r = make_router();
	const fcgi_route_t *rt = NULL;
	fcgi_params_t p;
	CU_ASSERT_EQUAL(fcgi_router_match(r, "GET", "/api/users/%zz", &rt, &p, NULL, 0), FCGI_MATCH_NO_PATH);
	CU_ASSERT_EQUAL(fcgi_router_match(r, "GET", "/api/users/%00", &rt, &p, NULL, 0), FCGI_MATCH_NO_PATH);
	CU_ASSERT_EQUAL(fcgi_router_match(r, "GET", "/api/users/ab%4", &rt, &p, NULL, 0), FCGI_MATCH_NO_PATH);
	fcgi_router_free(&r);
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
	CU_ASSERT_STRING_EQUAL(fcgi_request_query(req, "page"), "2");
	CU_ASSERT_PTR_NULL(fcgi_request_query(req, "missing"));
	fcgi_request_free(&req);
}

static void test_request_cookies_are_split_trimmed_and_unquoted(void)
{
	char *env[] = { "HTTP_COOKIE=theme=dark;  lc_session=abc-DEF_1 ; quoted=\"v w\";novalue;x=", NULL };
	fcgi_request_t *req = fcgi_request_new(env, NULL, NULL);
	CU_ASSERT_STRING_EQUAL(fcgi_request_cookie(req, "lc_session"), "abc-DEF_1");
	CU_ASSERT_STRING_EQUAL(fcgi_request_cookie(req, "theme"), "dark");
	CU_ASSERT_STRING_EQUAL(fcgi_request_cookie(req, "quoted"), "v w");
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

static void test_request_bearer_accepts_only_bearer_scheme(void)
{
	char *e1[] = { "HTTP_AUTHORIZATION=bearer   tok123", NULL };
	char *e2[] = { "HTTP_AUTHORIZATION=Basic dXNlcjpwdw==", NULL };
	char *e3[] = { "HTTP_AUTHORIZATION=Bearer ", NULL };
	fcgi_request_t *r1 = fcgi_request_new(e1, NULL, NULL);
	fcgi_request_t *r2 = fcgi_request_new(e2, NULL, NULL);
	fcgi_request_t *r3 = fcgi_request_new(e3, NULL, NULL);
	CU_ASSERT_STRING_EQUAL(fcgi_request_bearer(r1), "tok123");
	CU_ASSERT_PTR_NULL(fcgi_request_bearer(r2));
	CU_ASSERT_PTR_NULL(fcgi_request_bearer(r3));
	fcgi_request_free(&r1);
	fcgi_request_free(&r2);
	fcgi_request_free(&r3);
}

static void test_request_https_detected_from_https_or_scheme(void)
{
	char *e1[] = { "HTTPS=on", NULL };
	char *e2[] = { "REQUEST_SCHEME=https", NULL };
	char *e3[] = { "REQUEST_SCHEME=http", NULL };
	fcgi_request_t *r1 = fcgi_request_new(e1, NULL, NULL);
	fcgi_request_t *r2 = fcgi_request_new(e2, NULL, NULL);
	fcgi_request_t *r3 = fcgi_request_new(e3, NULL, NULL);
	CU_ASSERT_TRUE(fcgi_request_is_https(r1));
	CU_ASSERT_TRUE(fcgi_request_is_https(r2));
	CU_ASSERT_FALSE(fcgi_request_is_https(r3));
	fcgi_request_free(&r1);
	fcgi_request_free(&r2);
	fcgi_request_free(&r3);
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

static void test_body_within_limit_is_read_whole(void)
{
	char *env[] = { "CONTENT_LENGTH=11", NULL };
	src_t s = { "{\"a\":12345}", 11, 0, 0 };
	lc_err_t err;
	size_t len = 0;
	fcgi_request_t *req = fcgi_request_new(env, src_read, &s);
	CU_ASSERT_EQUAL(fcgi_request_read_body(req, 1024, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(fcgi_request_body(req, &len), "{\"a\":12345}");
	CU_ASSERT_EQUAL(len, 11);
	fcgi_request_free(&req);
}

static void test_body_announced_over_limit_is_too_large_without_reading(void)
{
	char *env[] = { "CONTENT_LENGTH=2048", NULL };
	src_t s = { "x", 1, 0, 0 };
	lc_err_t err;
	fcgi_request_t *req = fcgi_request_new(env, src_read, &s);
	CU_ASSERT_EQUAL(fcgi_request_read_body(req, 1024, &err), LC_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(s.calls, 0);
	fcgi_request_free(&req);
}

static void test_body_without_length_over_limit_is_too_large(void)
{
	char *env[] = { NULL };
	src_t s = { "0123456789abcdef", 16, 0, 0 };
	lc_err_t err;
	fcgi_request_t *req = fcgi_request_new(env, src_read, &s);
	CU_ASSERT_EQUAL(fcgi_request_read_body(req, 10, &err), LC_ERR_TOO_LARGE);
	CU_ASSERT(s.pos <= 11);
	fcgi_request_free(&req);
}

static void test_body_shorter_than_content_length_is_invalid(void)
{
	char *env[] = { "CONTENT_LENGTH=20", NULL };
	src_t s = { "{}", 2, 0, 0 };
	lc_err_t err;
	fcgi_request_t *req = fcgi_request_new(env, src_read, &s);
	CU_ASSERT_EQUAL(fcgi_request_read_body(req, 1024, &err), LC_ERR_INVALID);
	fcgi_request_free(&req);
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

static void test_pipeline_unknown_route_is_404(void)
{
	char *env[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/api/nope", NULL };
	fcgi_response_t *resp = run(env, NULL);
	CU_ASSERT_EQUAL(fcgi_response_status(resp), 404);
	CU_ASSERT_STRING_EQUAL(error_code(resp), "not_found");
	fcgi_response_free(&resp);
}

static void test_pipeline_wrong_method_is_405_with_allow(void)
{
	char *env[] = { "REQUEST_METHOD=DELETE", "REQUEST_URI=/api/auth/login", NULL };
	fcgi_response_t *resp = run(env, NULL);
	CU_ASSERT_EQUAL(fcgi_response_status(resp), 405);
	CU_ASSERT_STRING_EQUAL(fcgi_response_get_header(resp, "Allow"), "POST");
	CU_ASSERT_STRING_EQUAL(error_code(resp), "method_not_allowed");
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
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/api/auth/login", "CONTENT_LENGTH=9", NULL };
	fcgi_response_t *resp = run(env, "{\"a\": 1,");
	CU_ASSERT_EQUAL(fcgi_response_status(resp), 400);
	CU_ASSERT_STRING_EQUAL(error_code(resp), "bad_request");
	fcgi_response_free(&resp);
}

static void test_pipeline_non_object_body_is_400(void)
{
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/api/auth/login", "CONTENT_LENGTH=7", NULL };
	fcgi_response_t *resp = run(env, "[1,2,3]");
	CU_ASSERT_EQUAL(fcgi_response_status(resp), 400);
	fcgi_response_free(&resp);
}

static void test_pipeline_missing_required_body_is_400(void)
{
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/api/auth/login", NULL };
	fcgi_response_t *resp = run(env, NULL);
	CU_ASSERT_EQUAL(fcgi_response_status(resp), 400);
	fcgi_response_free(&resp);
}

static void test_pipeline_no_token_is_401(void)
{
	char *env[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/api/users?page=1", NULL };
	fcgi_response_t *resp = run(env, NULL);
	CU_ASSERT_EQUAL(fcgi_response_status(resp), 401);
	CU_ASSERT_STRING_EQUAL(error_code(resp), "unauthorized");
	CU_ASSERT_STRING_EQUAL(fcgi_response_get_header(resp, "WWW-Authenticate"), "Bearer");
	fcgi_response_free(&resp);
}

static void test_pipeline_public_route_validation_lists_every_failing_field(void)
{
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/api/auth/login", "CONTENT_LENGTH=27", NULL };
	fcgi_response_t *resp = run(env, "{\"username\":5,\"extra\":true}");
	CU_ASSERT_EQUAL(fcgi_response_status(resp), 422);
	CU_ASSERT_STRING_EQUAL(error_code(resp), "validation_failed");
	const char *body = lc_json_str(fcgi_response_body(resp));
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"field\":\"username\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"field\":\"password\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"field\":\"extra\""));
	fcgi_response_free(&resp);
}

int main(void)
{
	lc_log_init("test_fcgi_unit", "stderr", LC_LOG_ERROR);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite router = CU_add_suite("fcgi_router", NULL, NULL);
	CU_ADD_TEST(router, test_router_matches_literal_path_and_method);
	CU_ADD_TEST(router, test_router_captures_and_decodes_parameters);
	CU_ADD_TEST(router, test_router_ignores_trailing_slash);
	CU_ADD_TEST(router, test_router_unknown_path_is_no_path);
	CU_ADD_TEST(router, test_router_known_path_other_method_lists_allowed_methods);
	CU_ADD_TEST(router, test_router_malformed_escape_does_not_match);
	CU_pSuite request = CU_add_suite("fcgi_request", NULL, NULL);
	CU_ADD_TEST(request, test_request_path_comes_from_request_uri_without_query);
	CU_ADD_TEST(request, test_request_path_falls_back_to_script_name_and_path_info);
	CU_ADD_TEST(request, test_request_query_is_decoded_and_first_value_wins);
	CU_ADD_TEST(request, test_request_cookies_are_split_trimmed_and_unquoted);
	CU_ADD_TEST(request, test_request_without_cookie_header_has_no_cookies);
	CU_ADD_TEST(request, test_request_bearer_accepts_only_bearer_scheme);
	CU_ADD_TEST(request, test_request_https_detected_from_https_or_scheme);
	CU_ADD_TEST(request, test_body_within_limit_is_read_whole);
	CU_ADD_TEST(request, test_body_announced_over_limit_is_too_large_without_reading);
	CU_ADD_TEST(request, test_body_without_length_over_limit_is_too_large);
	CU_ADD_TEST(request, test_body_shorter_than_content_length_is_invalid);
	CU_pSuite response = CU_add_suite("fcgi_response", NULL, NULL);
	CU_ADD_TEST(response, test_response_renders_status_headers_cookie_and_body);
	CU_ADD_TEST(response, test_response_204_has_no_body_or_content_type);
	CU_ADD_TEST(response, test_error_status_maps_every_code);
	CU_ADD_TEST(response, test_invalid_with_a_field_maps_to_422);
	CU_ADD_TEST(response, test_internal_error_body_leaks_no_reason);
	CU_pSuite pipeline = CU_add_suite("fcgi_pipeline", pipeline_setup, pipeline_teardown);
	CU_ADD_TEST(pipeline, test_pipeline_unknown_route_is_404);
	CU_ADD_TEST(pipeline, test_pipeline_wrong_method_is_405_with_allow);
	CU_ADD_TEST(pipeline, test_pipeline_oversized_body_is_413_before_authentication);
	CU_ADD_TEST(pipeline, test_pipeline_malformed_json_is_400);
	CU_ADD_TEST(pipeline, test_pipeline_non_object_body_is_400);
	CU_ADD_TEST(pipeline, test_pipeline_missing_required_body_is_400);
	CU_ADD_TEST(pipeline, test_pipeline_no_token_is_401);
	CU_ADD_TEST(pipeline, test_pipeline_public_route_validation_lists_every_failing_field);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed == 0 ? 0 : 1;
}
