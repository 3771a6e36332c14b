/* SPDX-License-Identifier: MIT */
/* fcgi serve: the accept loop of livechat-fcgi, run by several threads at once, so one process
 * answers several requests at the same time (lighttpd sends a backend as many at once as it
 * has connections; Apache's mod_fcgid sends one at a time, whatever the count). */
#ifndef FCGI_SERVE_H
#define FCGI_SERVE_H

#include <stdbool.h>
#include "middleware.h"
#include "lc_config.h"

/* Called by the serving (main) thread every tick_ms until it returns true (then no more). */
typedef bool (*fcgi_serve_tick_fn)(void *arg);

/* What the waiting (main) thread runs besides waiting; each function may be NULL. */
typedef struct fcgi_serve_hooks {
	fcgi_serve_tick_fn tick;   /* every tick_ms until it returns true */
	void *tick_arg;
	int tick_ms;
	/* On each SIGHUP: the config file loaded again (given to fcgi_serve, which applies
	 * trusted_proxies from it and frees it), or NULL when it did not load (logged). */
	lc_config_t *(*hup)(void *arg);
	void *hup_arg;
} fcgi_serve_hooks_t;

/* Serve FastCGI requests on fd 0 with nthreads threads, each running fcgi_handle with app
 * (which must be thread-safe: it is). The calling thread waits for SIGTERM or SIGINT (blocked,
 * with SIGHUP, in every thread from here on), running the hooks meanwhile. Then every thread
 * finishes the request in hand and the call returns: true after a signal, false when libfcgi
 * failed (not a FastCGI responder, accept failed), logged. */
bool fcgi_serve(const fcgi_app_t *app, int nthreads, const fcgi_serve_hooks_t *hooks);

#endif
