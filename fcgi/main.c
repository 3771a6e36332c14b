/* SPDX-License-Identifier: MIT */
/* livechat-fcgi: the FastCGI responder serving /api/. The web server spawns one or more of
 * these processes; each serves fcgi_threads requests at a time (serve.h) with one store (one
 * MongoDB client pool, shared by the threads) and one revocation publisher (one RabbitMQ
 * connection) kept for its whole life, and nothing else kept between requests.
 * SIGHUP re-reads the config file: log_level, log_target, metrics_allow and trusted_proxies
 * apply at once (reload, fcgi_serve).
 *   livechat-fcgi [-c FILE] [--help] [--version] */
#include "config.h"
#include "cli.h"
#include "middleware.h"
#include "probe.h"
#include "serve.h"
#include "metrics.h"
#include "lc_log.h"
#include "lc_store.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Indexes and seed documents: tried once before serving, then every INIT_RETRY_MS by the main
 * thread until MongoDB answers once, never in a request's path. */
#define INIT_RETRY_MS 5000
/* GET /api/health reports a probe at most this old. */
#define HEALTH_MAX_AGE_MS 1000

static void usage(FILE *f)
{
	fprintf(f, "usage: livechat-fcgi [-c FILE] [--help] [--version]\n"
		   "  Runs as a FastCGI responder on the socket the web server passes as fd 0.\n"
		   "  SIGHUP re-reads the config file and applies log_level, log_target,\n"
		   "  metrics_allow and trusted_proxies; SIGTERM or SIGINT stops it after the\n"
		   "  requests in hand.\n");
}

/* What a SIGHUP changes besides what fcgi_serve holds itself. */
typedef struct reload_ctx {
	const char *path;           /* the config file (NULL: none, environment only) */
	fcgi_metrics_t *metrics;
} reload_ctx_t;

/* SIGHUP, on the main thread of fcgi_serve: the file loaded again (for fcgi_serve), or NULL
 * when it does not load (logged; nothing changes). */
static lc_config_t *reload(void *arg)
{
	const reload_ctx_t *r = arg;
	lc_err_t err;
	lc_err_clear(&err);
	lc_config_t *cfg = lc_config_load(r->path, &err);
	if (cfg == NULL) {
		LC_ERROR("reload: %s: keeping the running configuration", err.reason);
		return NULL;
	}
	if (!lc_log_reload(r->path)) {
		lc_config_free(&cfg);
		return NULL;
	}
	fcgi_metrics_set_allow(r->metrics, lc_config_str(cfg, "metrics_allow"));
	LC_INFO("reload: metrics_allow \"%s\"", lc_config_str(cfg, "metrics_allow"));
	return cfg;
}

/* True once the store is initialised (the tick of fcgi_serve). */
static bool init_store(void *arg)
{
	lc_err_t err;
	lc_err_clear(&err);
	if (lc_store_init(arg, &err) == LC_OK)
		return true;
	LC_WARN("store initialisation failed (will retry): %s", err.reason);
	return false;
}

int main(int argc, char **argv)
{
	const char *cfg_path = NULL;
	lc_config_t *cfg = NULL;
	lc_store_t *store = NULL;
	fcgi_router_t *router = NULL;
	fcgi_revoke_t *revoke = NULL;
	fcgi_probe_cache_t *health = NULL;
	fcgi_throttle_t *throttle = NULL;
	fcgi_metrics_t *metrics = NULL;
	int status = fcgi_cli_options("livechat-fcgi", argc, argv, usage, &cfg_path);

	if (status >= 0)
		return status;
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	status = 1;
	/* A client that goes away mid-answer must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	/* Blocked before the MongoDB driver starts its threads, so every thread inherits the mask
	 * and a SIGHUP or SIGTERM waits for fcgi_serve's sigwait instead of killing the process. */
	sigset_t waited;
	sigemptyset(&waited);
	sigaddset(&waited, SIGHUP);
	sigaddset(&waited, SIGTERM);
	sigaddset(&waited, SIGINT);
	pthread_sigmask(SIG_BLOCK, &waited, NULL);
	if (!fcgi_cli_start("livechat-fcgi", cfg_path, &cfg, &store))
		goto fail;
	router = fcgi_router_new();
	fcgi_router_add(router, fcgi_auth_routes);
	fcgi_router_add(router, fcgi_users_routes);
	fcgi_router_add(router, fcgi_groups_routes);
	fcgi_router_add(router, fcgi_canned_routes);
	fcgi_router_add(router, fcgi_settings_routes);
	fcgi_router_add(router, fcgi_rooms_routes);
	fcgi_router_add(router, fcgi_health_routes);
	fcgi_router_add(router, fcgi_metrics_routes);
	revoke = fcgi_revoke_new(cfg);
	health = fcgi_probe_cache_new(HEALTH_MAX_AGE_MS);
	throttle = fcgi_throttle_new((int)lc_config_int(cfg, "login_concurrency"));
	metrics = fcgi_metrics_new(lc_config_str(cfg, "metrics_allow"));
	fcgi_app_t app = { .cfg = cfg, .store = store, .router = router, .revoke = revoke,
			   .health = health, .throttle = throttle, .metrics = metrics };

	int threads = (int)lc_config_int(cfg, "fcgi_threads");
	LC_INFO("livechat-fcgi %s ready (pid %ld)", PACKAGE_VERSION, (long)getpid());
	bool done = init_store(store);
	reload_ctx_t reload_ctx = { .path = fcgi_cli_config_path(cfg_path), .metrics = metrics };
	fcgi_serve_hooks_t hooks = { .tick = done ? NULL : init_store, .tick_arg = store,
				     .tick_ms = INIT_RETRY_MS, .hup = reload, .hup_arg = &reload_ctx };
	if (fcgi_serve(&app, threads, &hooks))
		status = 0;
	LC_INFO("livechat-fcgi (pid %ld) stopping", (long)getpid());
fail:
	fcgi_probe_cache_free(&health);
	fcgi_throttle_free(&throttle);
	fcgi_metrics_free(&metrics);
	fcgi_router_free(&router);
	fcgi_revoke_free(&revoke);
	lc_store_free(&store);
	lc_config_free(&cfg);
	return status;
}
