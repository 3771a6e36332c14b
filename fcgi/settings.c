/* SPDX-License-Identifier: MIT */
/* fcgi settings: read and patch the runtime settings document (keys and rules in
 * shared/lc_settings.h; validation happens in the pipeline with lc_settings_rules). */
#include "config.h"
#include "middleware.h"
#include "revoke.h"
#include "lc_settings.h"

static lc_rc get_settings(fcgi_ctx_t *ctx, lc_err_t *err)
{
	json_object *out = NULL;
	lc_rc rc = lc_store_settings_get(ctx->store, &out, err);
	return fcgi_ctx_reply_rc(ctx, rc, 200, out);
}

static lc_rc patch_settings(fcgi_ctx_t *ctx, lc_err_t *err)
{
	json_object *out = NULL;
	lc_rc rc = lc_store_settings_update(ctx->store, ctx->body, &out, err);
	if (rc == LC_OK)
		fcgi_revoke_settings(ctx->app->revoke);   /* every wsd node reads them now */
	return fcgi_ctx_reply_rc(ctx, rc, 200, out);
}

const fcgi_route_t fcgi_settings_routes[] = {
	{ "GET", "/api/settings", 0, { "settings.read" }, NULL, NULL, get_settings },
	{ "PATCH", "/api/settings", FCGI_ROUTE_BODY, { "settings.write" }, lc_settings_rules, NULL,
	  patch_settings },
	FCGI_ROUTE_END
};
