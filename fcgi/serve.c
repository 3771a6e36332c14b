/* SPDX-License-Identifier: MIT */
/* fcgi serve: N threads, each with its own FCGX_Request, take turns in FCGX_Accept_r under one
 * mutex (as libfcgi's threaded example does: accept on the shared socket is serialized) and
 * serve the request they got at the same time as the others. Stopping: the main thread sets
 * stopping and wakes the one thread waiting in accept with SIGUSR1 (accept fails with EINTR:
 * FCGI_FAIL_ACCEPT_ON_INTR); the others see stopping when they come back for the mutex.
 * SIGHUP is taken by the same sigwait, so its hook runs on the main thread, never in a handler;
 * the trusted_proxies list it brings replaces the old one under a write lock, so a serving thread
 * sees the old list or the new one, never one being built or freed. */
#include "config.h"
#include "serve.h"
#include "proxy.h"
#include "lc_alloc.h"
#include "lc_log.h"

#include <fcgiapp.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SERVE_MAGIC 0x53525631u   /* "SRV1" */
/* How often the stopping main thread re-sends the wake-up (one sent just before the thread
 * entered accept is lost). */
#define WAKE_EVERY_MS 50

/* Made by fcgi_serve on its stack, shared by its threads for the call's duration. */
typedef struct server {
	unsigned magic;
	const fcgi_app_t *app;
	lc_netlist_t *trusted;         /* trusted_proxies, replaced on SIGHUP */
	pthread_rwlock_t trusted_lock; /* read: a request applies trusted; write: SIGHUP swaps it */
	pthread_mutex_t accept_lock;   /* one thread in FCGX_Accept_r at a time */
	pthread_mutex_t state_lock;    /* guards in_accept and acceptor */
	bool in_accept;
	pthread_t acceptor;            /* the thread in FCGX_Accept_r when in_accept */
	pthread_t main;
	atomic_bool stopping;
	atomic_bool failed;
	atomic_int running;            /* threads not yet out of their loop */
} server_t;

static ssize_t read_stream(void *rctx, char *buf, size_t n)
{
	FCGX_Stream *in = rctx;
	int want = n > (size_t)(1 << 20) ? 1 << 20 : (int)n;
	int got = FCGX_GetStr(buf, want, in);
	if (got < 0 || FCGX_GetError(in) != 0)
		return -1;
	return got;
}

static void serve_one(server_t *sv, FCGX_Request *fr)
{
	fcgi_request_t *req = fcgi_request_new(fr->envp, read_stream, fr->in);
	fcgi_response_t *resp = fcgi_response_new();
	size_t len = 0;
	pthread_rwlock_rdlock(&sv->trusted_lock);
	fcgi_proxy_apply(req, sv->trusted);
	pthread_rwlock_unlock(&sv->trusted_lock);
	fcgi_handle(sv->app, req, resp);
	char *out = fcgi_response_render(resp, &len);
	FCGX_PutStr(out, (int)len, fr->out);
	free(out);
	fcgi_response_free(&resp);
	fcgi_request_free(&req);
}

static void set_acceptor(server_t *sv, bool in)
{
	pthread_mutex_lock(&sv->state_lock);
	sv->in_accept = in;
	sv->acceptor = pthread_self();
	pthread_mutex_unlock(&sv->state_lock);
}

/* A thread that cannot go on stops the whole process: the web server starts a new one. */
static void fail_all(server_t *sv)
{
	atomic_store(&sv->failed, true);
	pthread_kill(sv->main, SIGTERM);
}

static void *serve_thread(void *arg)
{
	server_t *sv = arg;
	FCGX_Request fr;
	LC_CHECK_OBJ(sv, SERVE_MAGIC);
	/* Named, so ps -L and /proc/PID/task/N/comm tell the serving threads from the driver's. */
	pthread_setname_np(pthread_self(), "fcgi-serve");
	if (FCGX_InitRequest(&fr, 0, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		LC_ERROR("cannot initialise a libfcgi request");
		fail_all(sv);
		atomic_fetch_sub(&sv->running, 1);
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&sv->accept_lock);
		if (atomic_load(&sv->stopping)) {
			pthread_mutex_unlock(&sv->accept_lock);
			break;
		}
		set_acceptor(sv, true);
		int rc = FCGX_Accept_r(&fr);
		set_acceptor(sv, false);
		pthread_mutex_unlock(&sv->accept_lock);
		if (rc < 0) {
			if (!atomic_load(&sv->stopping)) {
				LC_ERROR("FastCGI accept failed (%d): stopping", rc);
				fail_all(sv);
			}
			break;
		}
		serve_one(sv, &fr);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
	atomic_fetch_sub(&sv->running, 1);
	return NULL;
}

static void on_wake(int sig)
{
	(void)sig;   /* only interrupts accept() */
}

/* Stop every thread: the one in accept is woken, the others see stopping. */
static void stop_threads(server_t *sv, pthread_t *threads, int n)
{
	struct timespec pause = { 0, WAKE_EVERY_MS * 1000000L };
	atomic_store(&sv->stopping, true);
	FCGX_ShutdownPending();
	while (atomic_load(&sv->running) > 0) {
		pthread_mutex_lock(&sv->state_lock);
		if (sv->in_accept)
			pthread_kill(sv->acceptor, SIGUSR1);
		pthread_mutex_unlock(&sv->state_lock);
		nanosleep(&pause, NULL);
	}
	for (int i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
}

/* trusted_proxies of cfg (checked by the config loader: a bad list is a bug). */
static lc_netlist_t *trusted_of(const lc_config_t *cfg)
{
	char why[LC_ERR_REASON_MAX];
	lc_netlist_t *list = lc_netlist_parse(lc_config_str(cfg, "trusted_proxies"), why, sizeof why);
	LC_ASSERT(list != NULL);
	return list;
}

/* SIGHUP: the hook reloads; trusted_proxies of the file it loaded replaces the running list. */
static void hup(server_t *sv, const fcgi_serve_hooks_t *h)
{
	lc_config_t *cfg = h->hup != NULL ? h->hup(h->hup_arg) : NULL;
	if (cfg == NULL)
		return;
	lc_netlist_t *fresh = trusted_of(cfg);
	pthread_rwlock_wrlock(&sv->trusted_lock);
	lc_netlist_t *old = sv->trusted;
	sv->trusted = fresh;
	pthread_rwlock_unlock(&sv->trusted_lock);
	lc_netlist_free(&old);
	LC_INFO("reload: trusted_proxies \"%s\"", lc_config_str(cfg, "trusted_proxies"));
	lc_config_free(&cfg);
}

/* Wait for SIGTERM/SIGINT (blocked with SIGHUP in waited), running the tick hook every tick_ms
 * until it is done and the hup hook on each SIGHUP. */
static void wait_for_stop(server_t *sv, const sigset_t *waited, const fcgi_serve_hooks_t *h)
{
	bool ticking = h->tick != NULL;
	for (;;) {
		int sig = -1;
		if (!ticking) {
			if (sigwait(waited, &sig) != 0)
				continue;
		} else {
			struct timespec ts = { h->tick_ms / 1000, (long)(h->tick_ms % 1000) * 1000000L };
			sig = sigtimedwait(waited, NULL, &ts);
			if (sig < 0) {
				if (errno == EAGAIN && h->tick(h->tick_arg))
					ticking = false;
				continue;
			}
		}
		if (sig != SIGHUP)
			return;
		hup(sv, h);
	}
}

bool fcgi_serve(const fcgi_app_t *app, int nthreads, const fcgi_serve_hooks_t *hooks)
{
	server_t sv = { .magic = SERVE_MAGIC, .app = app, .main = pthread_self() };
	sigset_t waited;
	struct sigaction sa;
	int started = 0;

	LC_ASSERT(nthreads > 0);
	if (FCGX_Init() != 0 || FCGX_IsCGI()) {
		LC_ERROR("not started as a FastCGI responder (fd 0 is no listening socket)");
		return false;
	}
	sv.trusted = trusted_of(app->cfg);
	pthread_rwlock_init(&sv.trusted_lock, NULL);
	pthread_mutex_init(&sv.accept_lock, NULL);
	pthread_mutex_init(&sv.state_lock, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_wake;   /* no SA_RESTART: accept() must return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	/* Blocked here, so inherited blocked by every thread: only sigwait below takes them. */
	sigemptyset(&waited);
	sigaddset(&waited, SIGTERM);
	sigaddset(&waited, SIGINT);
	sigaddset(&waited, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &waited, NULL);
	pthread_t *threads = lc_calloc((size_t)nthreads, sizeof *threads);
	atomic_store(&sv.running, nthreads);
	for (; started < nthreads; started++)
		if (pthread_create(&threads[started], NULL, serve_thread, &sv) != 0)
			break;
	if (started < nthreads) {
		LC_ERROR("could start only %d of %d threads", started, nthreads);
		atomic_fetch_sub(&sv.running, nthreads - started);
		atomic_store(&sv.failed, true);
	} else {
		LC_INFO("serving with %d thread%s", nthreads, nthreads == 1 ? "" : "s");
		wait_for_stop(&sv, &waited, hooks);
	}
	stop_threads(&sv, threads, started);
	free(threads);
	pthread_mutex_destroy(&sv.accept_lock);
	pthread_mutex_destroy(&sv.state_lock);
	pthread_rwlock_destroy(&sv.trusted_lock);
	lc_netlist_free(&sv.trusted);
	sv.magic = 0;
	return !atomic_load(&sv.failed);
}
