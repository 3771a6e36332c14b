/* livechat-fcgi: the FastCGI responder serving /api/. The web server spawns several of these
 * processes; each handles one request at a time with one store (one MongoDB client pool) and
 * one revocation publisher (one RabbitMQ connection) kept for its whole life, and nothing else
 * kept between requests.
 *   livechat-fcgi [-c FILE] */
#include "config.h"
#include "cli.h"
#include "middleware.h"
#include "lc_log.h"
#include "lc_store.h"

#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INIT_RETRY_MS 5000

static ssize_t read_stream(void *rctx, char *buf, size_t n)
{
	FCGX_Stream *in = rctx;
	int want = n > (size_t)(1 << 20) ? 1 << 20 : (int)n;
	int got = FCGX_GetStr(buf, want, in);
	if (got < 0 || FCGX_GetError(in) != 0)
		return -1;
	return got;
}

static void usage(void)
{
	fprintf(stderr, "usage: livechat-fcgi [-c FILE]\n"
			"  Runs as a FastCGI responder on the socket the web server passes as fd 0.\n");
}

/* SIGTERM (the web server stopping its backends): finish the request in hand, then leave the
 * accept loop and free everything. */
static void on_term(int sig)
{
	(void)sig;
	FCGX_ShutdownPending();
}

int main(int argc, char **argv)
{
	const char *cfg_path = NULL;
	lc_config_t *cfg = NULL;
	lc_store_t *store = NULL;
	fcgi_router_t *router = NULL;
	fcgi_revoke_t *revoke = NULL;
	FCGX_Request fr;
	lc_err_t err;
	int status = fcgi_cli_options(argc, argv, usage, &cfg_path);
	bool initialized = false, accepting = false;
	int64_t last_init = 0;

	if (status >= 0)
		return status;
	if (optind < argc) {
		usage();
		return 2;
	}
	status = 1;
	/* A client that goes away mid-answer must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;   /* no SA_RESTART: accept() must return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	lc_err_clear(&err);
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
	revoke = fcgi_revoke_new(cfg);
	fcgi_app_t app = { .cfg = cfg, .store = store, .router = router, .revoke = revoke };

	if (FCGX_Init() != 0 || FCGX_IsCGI()) {
		LC_ERROR("not started as a FastCGI responder (fd 0 is no listening socket)");
		goto fail;
	}
	if (FCGX_InitRequest(&fr, 0, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		LC_ERROR("cannot initialise libfcgi");
		goto fail;
	}
	accepting = true;
	LC_INFO("livechat-fcgi %s ready (pid %ld)", PACKAGE_VERSION, (long)getpid());
	while (FCGX_Accept_r(&fr) >= 0) {
		/* Indexes and the seed documents; retried until MongoDB answers once, but at most
		 * every INIT_RETRY_MS so an outage does not double every request's wait. */
		if (!initialized && lc_store_now_ms() - last_init >= INIT_RETRY_MS) {
			last_init = lc_store_now_ms();
			initialized = lc_store_init(store, &err) == LC_OK;
			if (!initialized)
				LC_WARN("store initialisation failed (will retry): %s", err.reason);
		}
		fcgi_request_t *req = fcgi_request_new(fr.envp, read_stream, fr.in);
		fcgi_response_t *resp = fcgi_response_new();
		size_t len = 0;
		fcgi_handle(&app, req, resp);
		char *out = fcgi_response_render(resp, &len);
		FCGX_PutStr(out, (int)len, fr.out);
		free(out);
		fcgi_response_free(&resp);
		fcgi_request_free(&req);
		FCGX_Finish_r(&fr);
	}
	LC_INFO("livechat-fcgi (pid %ld) stopping", (long)getpid());
	status = 0;
fail:
	if (accepting)
		FCGX_Free(&fr, 1);
	fcgi_router_free(&router);
	fcgi_revoke_free(&revoke);
	lc_store_free(&store);
	lc_config_free(&cfg);
	return status;
}
