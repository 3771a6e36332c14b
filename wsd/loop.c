/* SPDX-License-Identifier: MIT */
/* wsd_loop: the lws event loop thread as the other threads see it. It remembers which thread that
 * is, so loop-only functions assert they run there (WSD_ASSERT_LOOP, as Varnish's ASSERT_CLI),
 * and it holds the queue of completions the other threads post to it (wsd_post), run when
 * lws_cancel_service wakes the loop (LWS_CALLBACK_EVENT_WAIT_CANCELLED, listener.c). */
#include "config.h"
#include "wsd.h"
#include "lc_alloc.h"

#include <stdlib.h>

/* One per wsd_post, freed once run. */
typedef struct post {
	lc_mq_item_t item;
	wsd_fn fn;
	void *arg;
	int64_t posted_us;
} post_t;

/* Held by a wake-up from its read of w->lws to the end of lws_cancel_service, and by the loop
 * while it takes the context away at the end (wsd_loop_context_destroy): without it a worker or
 * the consumer posting during shutdown called lws_cancel_service on a context being destroyed
 * (found by ThreadSanitizer). One per process is enough: wake-ups are short and rare. */
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;

/* lws_cancel_service is the one lws call any thread may make. Before the context exists (start-up)
 * and after it is gone (shutdown) the posts wait; the loop drains them on its next wake-up, or
 * wsd_loop_free does. */
static void wake_loop(void *arg)
{
	wsd_t *w = arg;
	pthread_mutex_lock(&wake_lock);
	if (w->lws)
		lws_cancel_service(w->lws);
	pthread_mutex_unlock(&wake_lock);
}

void wsd_loop_context_destroy(wsd_t *w)
{
	WSD_ASSERT_LOOP(w);
	pthread_mutex_lock(&wake_lock);
	struct lws_context *ctx = w->lws;
	w->lws = NULL;
	pthread_mutex_unlock(&wake_lock);
	/* Outside the lock: closing the connections may post, whose wake-up then finds no context. */
	if (ctx != NULL)
		lws_context_destroy(ctx);
}

static _Thread_local wsd_thread_t this_thread;

void wsd_thread_set(wsd_thread_t role, const char *name)
{
	this_thread = role;
	if (name != NULL)
		pthread_setname_np(pthread_self(), name);
}

wsd_thread_t wsd_thread(void)
{
	return this_thread;
}

void wsd_loop_init(wsd_t *w)
{
	w->loop_tid = pthread_self();
	wsd_thread_set(WSD_THREAD_LOOP, NULL);
	w->posts = lc_mq_new(wake_loop, w);
}

void wsd_loop_free(wsd_t *w)
{
	WSD_ASSERT_LOOP(w);
	if (w->posts == NULL)
		return;
	wsd_drain_posts(w);
	lc_mq_free(&w->posts);
}

bool wsd_on_loop(const wsd_t *w)
{
	return pthread_equal(pthread_self(), w->loop_tid) != 0;
}

void wsd_post(wsd_t *w, wsd_fn fn, void *arg)
{
	post_t *p = lc_malloc(sizeof *p);
	p->fn = fn;
	p->arg = arg;
	p->posted_us = lc_mono_us();
	lc_mq_push(w->posts, &p->item);
}

void wsd_drain_posts(wsd_t *w)
{
	WSD_ASSERT_LOOP(w);
	struct lc_mq_list run = STAILQ_HEAD_INITIALIZER(run);
	lc_mq_take(w->posts, &run, SIZE_MAX, false);
	while (!STAILQ_EMPTY(&run)) {
		lc_mq_item_t *it = STAILQ_FIRST(&run);
		STAILQ_REMOVE_HEAD(&run, link);
		post_t *p = LC_MQ_ENTRY(it, post_t, item);
		wsd_hist_observe(&w->post_wait, lc_mono_us() - p->posted_us);
		p->fn(w, p->arg);
		free(p);
	}
}
