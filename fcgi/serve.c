/* SPDX-License-Identifier: MIT */
/* fcgi serve: N threads, each with its own FCGX_Request, wait in FCGX_Accept_r at the same time
 * and serve the request they got beside the others. No mutex around the accept (libfcgi's
 * threaded example takes one for platforms that need accept serialized; Linux wakes one waiter
 * per connection): under load the mutex cost a futex hand-over and a thread wake-up per
 * request (docs/performance.md). Stopping: the main thread sets stopping and wakes every thread
 * still waiting in accept with SIGUSR1 (accept fails with EINTR: FCGI_FAIL_ACCEPT_ON_INTR); a
 * thread serving a request sees stopping when it comes back.
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

/* One serving thread, made by fcgi_serve: in_accept while it may be blocked in accept (the
 * stopping main thread signals it only then, never in the middle of a request). */
typedef struct slot {
	struct server *sv;
	pthread_t tid;
	atomic_bool in_accept;
} slot_t;

/* Made by fcgi_serve on its stack, shared by its threads for the call's duration. */
typedef struct server {
	unsigned magic;
	const fcgi_app_t *app;
	lc_netlist_t *trusted;         /* trusted_proxies, replaced on SIGHUP */
	pthread_rwlock_t trusted_lock; /* read: a request applies trusted; write: SIGHUP swaps it */
	struct slot *slots;            /* one per thread */
	pthread_t main;
	atomic_bool stopping;
	atomic_bool failed;
	atomic_int running;            /* threads not yet out of their loop */
} server_t;

/* The body source a request reads through (read_stream): libfcgi's stream and the bytes taken. */
typedef struct body_src {
	FCGX_Stream *in;
	size_t got;
} body_src_t;

static ssize_t read_stream(void *rctx, char *buf, size_t n)
{
	body_src_t *b = rctx;
	int want = n > (size_t)(1 << 20) ? 1 << 20 : (int)n;
	int got = FCGX_GetStr(buf, want, b->in);
	if (got < 0 || FCGX_GetError(b->in) != 0)
		return -1;
	b->got += (size_t)got;
	return got;
}

/* Whether the request's body was read to the length it announced (0 for a request without
 * one): then only the web server's end-of-input record can follow, sent right behind it. */
static bool body_read_whole(FCGX_Request *fr, size_t got)
{
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", fr->envp);
	if (cl == NULL || *cl < '0' || *cl > '9')
		return false;
	char *end = NULL;
	errno = 0;
	unsigned long long n = strtoull(cl, &end, 10);
	return *end == '\0' && errno == 0 && n == got;
}

/* Serve the request in hand; true when its body was read whole (body_read_whole). */
static bool serve_one(server_t *sv, FCGX_Request *fr)
{
	body_src_t body = { .in = fr->in };
	fcgi_request_t *req = fcgi_request_new(fr->envp, read_stream, &body);
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
	return body_read_whole(fr, body.got);
}

/* Close the connection without libfcgi's lingering close when the web server sent nothing we
 * left unread. libfcgi shuts the socket down and reads until the web server closes its end (so
 * that unread input cannot turn the close into a reset that loses the response): a thread then
 * sleeps until the web server has read the answer, and lighttpd opens one connection per
 * request. With the body read whole (whole), what can still come is the web server's
 * end-of-input record, sent right behind the body (mostly in the buffer of the first read
 * already): read it, and a plain close loses nothing. A request answered before its body was
 * read (413, 401) keeps the lingering close, and never waits here for a client's slow body. */
static void finish(FCGX_Request *fr, bool whole)
{
	if (whole && FCGX_HasSeenEOF(fr->in) != EOF)
		(void)FCGX_GetChar(fr->in);   /* EOF when the input is at its end */
	bool plain = FCGX_HasSeenEOF(fr->in) == EOF;
	if (plain)
		FCGX_Detach(fr);   /* libfcgi 2.4.2: a close without shutdown, nothing else */
	FCGX_Finish_r(fr);
	if (plain)
		FCGX_Attach(fr);   /* a kept connection (FCGI_KEEP_CONN) stays as it was */
}

/* A thread that cannot go on stops the whole process: the web server starts a new one. */
static void fail_all(server_t *sv)
{
	atomic_store(&sv->failed, true);
	pthread_kill(sv->main, SIGTERM);
}

static void *serve_thread(void *arg)
{
	slot_t *me = arg;
	server_t *sv = me->sv;
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
		atomic_store(&me->in_accept, true);
		/* Checked after in_accept is set: a stop that began before it is seen here, one
		 * that begins after it signals this thread (again until it is out). */
		if (atomic_load(&sv->stopping))
			break;
		int rc = FCGX_Accept_r(&fr);
		atomic_store(&me->in_accept, false);
		if (rc < 0) {
			if (!atomic_load(&sv->stopping)) {
				LC_ERROR("FastCGI accept failed (%d): stopping", rc);
				fail_all(sv);
			}
			break;
		}
		finish(&fr, serve_one(sv, &fr));
	}
	atomic_store(&me->in_accept, false);
	FCGX_Free(&fr, 1);
	atomic_fetch_sub(&sv->running, 1);
	return NULL;
}

static void on_wake(int sig)
{
	(void)sig;   /* only interrupts accept() */
}

/* Stop the n threads started: those in accept are woken, the others see stopping when they
 * are done with their request. */
static void stop_threads(server_t *sv, int n)
{
	struct timespec pause = { 0, WAKE_EVERY_MS * 1000000L };
	atomic_store(&sv->stopping, true);
	FCGX_ShutdownPending();
	while (atomic_load(&sv->running) > 0) {
		for (int i = 0; i < n; i++)
			if (atomic_load(&sv->slots[i].in_accept))
				pthread_kill(sv->slots[i].tid, SIGUSR1);
		nanosleep(&pause, NULL);
	}
	for (int i = 0; i < n; i++)
		pthread_join(sv->slots[i].tid, NULL);
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
	sv.slots = lc_calloc((size_t)nthreads, sizeof *sv.slots);
	atomic_store(&sv.running, nthreads);
	for (; started < nthreads; started++) {
		slot_t *sl = &sv.slots[started];
		sl->sv = &sv;
		atomic_init(&sl->in_accept, false);
		if (pthread_create(&sl->tid, NULL, serve_thread, sl) != 0)
			break;
	}
	if (started < nthreads) {
		LC_ERROR("could start only %d of %d threads", started, nthreads);
		atomic_fetch_sub(&sv.running, nthreads - started);
		atomic_store(&sv.failed, true);
	} else {
		LC_INFO("serving with %d thread%s", nthreads, nthreads == 1 ? "" : "s");
		wait_for_stop(&sv, &waited, hooks);
	}
	stop_threads(&sv, started);
	free(sv.slots);
	pthread_rwlock_destroy(&sv.trusted_lock);
	lc_netlist_free(&sv.trusted);
	sv.magic = 0;
	return !atomic_load(&sv.failed);
}
