/* SPDX-License-Identifier: MIT */
/* fcgi health: GET /api/health for load balancers: MongoDB pinged through the store, RabbitMQ
 * checked with a TCP connection to the broker (fcgi_probe_amqp), both through the process's
 * probe cache, so the answer is at most a second old and a burst of health checks costs the
 * servers one probe a second. GET /api/live answers that the process serves, touching no
 * server. No detail beyond up/down leaves the process. */
#include "config.h"
#include "middleware.h"
#include "probe.h"

#define HEALTH_CONNECT_TIMEOUT_MS 1000

static lc_rc health(fcgi_ctx_t *ctx, lc_err_t *err)
{
	bool mongo = false, rabbit = false;
	(void)err;
	fcgi_probe_cache_get(ctx->app->health, ctx->store, lc_config_str(ctx->cfg, "amqp_url"),
			     HEALTH_CONNECT_TIMEOUT_MS, &mongo, &rabbit);
	json_object *out = json_object_new_object();
	json_object_object_add(out, "status", json_object_new_string(mongo && rabbit ? "ok" : "unavailable"));
	json_object_object_add(out, "mongo", json_object_new_string(mongo ? "up" : "down"));
	json_object_object_add(out, "rabbitmq", json_object_new_string(rabbit ? "up" : "down"));
	return fcgi_ctx_reply(ctx, mongo && rabbit ? 200 : 503, out);
}

static lc_rc live(fcgi_ctx_t *ctx, lc_err_t *err)
{
	(void)err;
	json_object *out = json_object_new_object();
	json_object_object_add(out, "status", json_object_new_string("ok"));
	return fcgi_ctx_reply(ctx, 200, out);
}

const fcgi_route_t fcgi_health_routes[] = {
	{ "GET", "/api/health", FCGI_ROUTE_PUBLIC, { NULL }, NULL, NULL, health },
	{ "GET", "/api/live", FCGI_ROUTE_PUBLIC, { NULL }, NULL, NULL, live },
	FCGI_ROUTE_END
};
