/* SPDX-License-Identifier: MIT */
/* fcgi auth: login (behind the throttle of throttle.h), logout and "who am I".
 * Sessions are stored as the SHA-256 of the token only; the token goes to the client once, in
 * the body and in the lc_session cookie. */
#include "config.h"
#include "middleware.h"
#include "throttle.h"
#include "lc_alloc.h"
#include "lc_auth.h"
#include "lc_auth_session.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_time.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool cookie_secure(const fcgi_ctx_t *ctx)
{
	const char *mode = lc_config_str(ctx->cfg, "cookie_secure");
	if (strcmp(mode, "always") == 0)
		return true;
	if (strcmp(mode, "never") == 0)
		return false;
	return fcgi_request_is_https(ctx->req);
}

/* Verify against something even for an unknown username, so the answer takes as long as for a
 * known one and response times do not reveal which usernames exist: the dummy hash has the cost
 * real ones get (pbkdf2_iterations), made once per process. */
static void verify_dummy(fcgi_ctx_t *ctx, const char *password)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;   /* the serving threads */
	static char *dummy;
	pthread_mutex_lock(&lock);
	if (dummy == NULL)
		(void)lc_auth_hash_password("livechat-dummy",
					    (unsigned)lc_config_int(ctx->cfg, "pbkdf2_iterations"),
					    &dummy, NULL);
	pthread_mutex_unlock(&lock);
	if (dummy != NULL)
		(void)lc_auth_verify_password(password, dummy);
}

static lc_rc bad_login(lc_err_t *err)
{
	return lc_err_set(err, LC_ERR_UNAUTHORIZED, "invalid username or password");
}

static lc_rc login(fcgi_ctx_t *ctx, lc_err_t *err)
{
	const char *username = lc_json_get_str(ctx->body, "username", "");
	const char *password = lc_json_get_str(ctx->body, "password", "");
	int64_t ttl_s = lc_config_int(ctx->cfg, "token_ttl");
	int64_t now = lc_real_ms();
	fcgi_throttle_pass_t pass = { 0 };
	json_object *user = NULL, *out = NULL;
	lc_principal_t who = { 0 };
	char token[LC_AUTH_TOKEN_LEN + 1];
	char hash[LC_AUTH_TOKEN_HASH_LEN + 1];
	lc_rc rc;

	/* Refused (429) before any hashing when over a limit or out of slots. */
	rc = fcgi_throttle_begin(ctx->app->throttle, ctx->store, ctx->cfg, ctx->req, ctx->resp,
				 username, &pass, err);
	if (rc != LC_OK)
		goto fail;
	rc = lc_store_user_get_credentials(ctx->store, username, &user, err);
	if (rc == LC_ERR_NOT_FOUND) {
		verify_dummy(ctx, password);
		rc = bad_login(err);
		goto fail;
	}
	if (rc != LC_OK)
		goto fail;
	if (!lc_auth_verify_password(password, lc_json_get_str(user, "password_hash", "")) ||
	    !lc_json_get_bool(user, "active", false)) {
		rc = bad_login(err);
		goto fail;
	}
	fcgi_throttle_end(&pass);
	if ((rc = fcgi_throttle_success(&pass, ctx->store, err)) != LC_OK)
		goto fail;
	if ((rc = lc_auth_new_token(token, err)) != LC_OK)
		goto fail;
	lc_auth_token_hash(token, hash);
	rc = lc_store_session_create(ctx->store, hash, lc_json_get_str(user, "id", ""),
				     now + ttl_s * 1000, err);
	if (rc != LC_OK)
		goto fail;
	/* The answer says what the session says, through the check every request makes. */
	if ((rc = lc_auth_session_check(ctx->store, hash, &who, err)) != LC_OK)
		goto fail;
	out = json_object_new_object();
	json_object_object_add(out, "token", json_object_new_string(token));
	json_object_object_add(out, "expires_at", json_object_new_int64(who.expires_at));
	json_object_object_add(out, "user", json_object_get(who.user));
	json_object_object_add(out, "permissions", json_object_get(who.permissions));
	fcgi_response_set_cookie(ctx->resp, FCGI_SESSION_COOKIE, token, ttl_s, cookie_secure(ctx));
	fcgi_ctx_reply(ctx, 200, out);
fail:
	fcgi_throttle_end(&pass);
	json_object_put(user);
	lc_auth_principal_clear(&who);
	return rc;
}

static lc_rc logout(fcgi_ctx_t *ctx, lc_err_t *err)
{
	lc_rc rc = lc_store_session_delete(ctx->store, ctx->token_hash, err);
	if (rc != LC_OK && rc != LC_ERR_NOT_FOUND)
		return rc;
	lc_err_clear(err);
	/* The websocket opened with this token closes now, not at the next periodic check. */
	fcgi_revoke_user(ctx->app->revoke, ctx->user_id);
	fcgi_response_set_cookie(ctx->resp, FCGI_SESSION_COOKIE, "", 0, cookie_secure(ctx));
	return fcgi_ctx_reply(ctx, 204, NULL);
}

static lc_rc me(fcgi_ctx_t *ctx, lc_err_t *err)
{
	json_object *out = json_object_new_object();
	json_object_object_add(out, "user", json_object_get(ctx->user));
	json_object_object_add(out, "permissions",
			       ctx->perms ? json_object_get(ctx->perms) : json_object_new_array());
	json_object_object_add(out, "expires_at", json_object_new_int64(ctx->expires_at));
	return fcgi_ctx_reply(ctx, 200, out);
}

static const lc_vrule_t login_rules[] = {
	{ "username", LC_V_STRING, true, 1, 64, NULL, NULL },
	{ "password", LC_V_STRING, true, 1, 1024, NULL, NULL },
	LC_VRULE_END
};

const fcgi_route_t fcgi_auth_routes[] = {
	{ "POST", "/api/auth/login", FCGI_ROUTE_PUBLIC | FCGI_ROUTE_BODY, { NULL }, login_rules, NULL,
	  login },
	{ "POST", "/api/auth/logout", 0, { NULL }, NULL, NULL, logout },
	{ "GET", "/api/auth/me", 0, { NULL }, NULL, NULL, me },
	FCGI_ROUTE_END
};
