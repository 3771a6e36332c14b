/* fcgi health: GET /api/health for load balancers. MongoDB is pinged through the store;
 * RabbitMQ is checked with a TCP connection to the broker (fcgi_probe_amqp). No detail beyond
 * up/down leaves the process. */
#include "config.h"
#include "middleware.h"
#include "probe.h"
#include "lc_log.h"

#define HEALTH_CONNECT_TIMEOUT_MS 1000

static lc_rc health(fcgi_ctx_t *ctx, lc_err_t *err)
{
	lc_err_t perr;
	lc_err_clear(&perr);
	bool mongo = lc_store_ping(ctx->store, &perr) == LC_OK;
	bool rabbit = fcgi_probe_amqp(lc_config_str(ctx->cfg, "amqp_url"), HEALTH_CONNECT_TIMEOUT_MS);
	if (!mongo)
		LC_WARN("%s: health: MongoDB unreachable: %s", fcgi_request_id(ctx->req), perr.reason);
	if (!rabbit)
		LC_WARN("%s: health: RabbitMQ unreachable", fcgi_request_id(ctx->req));
	json_object *out = json_object_new_object();
	json_object_object_add(out, "status", json_object_new_string(mongo && rabbit ? "ok" : "unavailable"));
	json_object_object_add(out, "mongo", json_object_new_string(mongo ? "up" : "down"));
	json_object_object_add(out, "rabbitmq", json_object_new_string(rabbit ? "up" : "down"));
	return fcgi_ctx_reply(ctx, mongo && rabbit ? 200 : 503, out);
}

const fcgi_route_t fcgi_health_routes[] = {
	{ "GET", "/api/health", FCGI_ROUTE_PUBLIC, { NULL }, NULL, NULL, health },
	FCGI_ROUTE_END
};
