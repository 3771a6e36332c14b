/* SPDX-License-Identifier: MIT */
/* wsd_workers: a fixed pool of threads, one FIFO queue per thread; a job's key picks the queue.
 * A job that asks to be retried is parked in its thread's held list until its backoff passes;
 * the queued retry jobs with the same key are skipped (kept in order) while it is held. */
#include "config.h"
#include "worker.h"
#include "lc_alloc.h"
#include "lc_log.h"

#include <stdlib.h>
#include <sys/queue.h>
#include <time.h>

#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 2000

/* One per submit; in its thread's queue, then (a retry that failed) in its held list. */
typedef struct job {
	TAILQ_ENTRY(job) link;  /* queue or held: one at a time */
	wsd_fn run, done;
	wsd_try_fn try_run;
	void *arg;
	uint32_t key;           /* hash of the key (equal keys, equal hashes: enough to wait) */
	bool keyed;
	int64_t not_before;     /* held: monotonic ms of the next try */
	int delay_ms;
} job_t;
TAILQ_HEAD(jobs, job);

typedef struct wthread {
	pthread_t tid;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct jobs queue;
	struct jobs held; /* jobs to try again (few: one per failing key) */
	bool stop;
	wsd_workers_t *pool;
} wthread_t;

struct wsd_workers {
	wsd_t *w;
	int n;
	atomic_uint rr;
	atomic_size_t pending;   /* jobs submitted and not yet finished (the metrics' queue depth) */
	wthread_t *t;
};

/* Only retried jobs wait behind a held one (the inbound messages of one customer, whose order
 * matters); the other jobs of its key go on and fail or succeed by themselves. */
static bool key_held(const wthread_t *t, const job_t *j)
{
	if (!j->keyed || j->try_run == NULL)
		return false;
	const job_t *h;
	TAILQ_FOREACH(h, &t->held, link)
		if (h->key == j->key)
			return true;
	return false;
}

/* Under t->lock: the next job to run (a held one that is due first, then the first queued one
 * whose key is not held), or NULL; *wait_ms: how long until a held one is due (-1: none). */
static job_t *next_job(wthread_t *t, int64_t *wait_ms)
{
	int64_t now = lc_mono_ms();
	job_t *j;
	*wait_ms = -1;
	TAILQ_FOREACH(j, &t->held, link) {
		if (j->not_before <= now) {
			TAILQ_REMOVE(&t->held, j, link);
			return j;
		}
		if (*wait_ms < 0 || j->not_before - now < *wait_ms)
			*wait_ms = j->not_before - now;
	}
	TAILQ_FOREACH(j, &t->queue, link) {
		if (key_held(t, j))
			continue;
		TAILQ_REMOVE(&t->queue, j, link);
		return j;
	}
	return NULL;
}

static void wait_for(wthread_t *t, int64_t ms)
{
	if (ms < 0) {
		pthread_cond_wait(&t->cond, &t->lock);
		return;
	}
	struct timespec ts = lc_mono_after(ms);
	pthread_cond_timedwait(&t->cond, &t->lock, &ts);
}

static void *worker_main(void *p)
{
	wthread_t *t = p;
	wsd_t *w = t->pool->w;
	char name[16];
	snprintf(name, sizeof name, "wsd-worker-%d", (int)(t - t->pool->t));
	wsd_thread_set(WSD_THREAD_WORKER, name);
	for (;;) {
		job_t *j = NULL;
		pthread_mutex_lock(&t->lock);
		while (!t->stop) {
			int64_t wait_ms;
			if ((j = next_job(t, &wait_ms)) != NULL)
				break;
			wait_for(t, wait_ms);
		}
		pthread_mutex_unlock(&t->lock);
		if (j == NULL)
			break;   /* stopping */

		if (j->try_run != NULL) {
			bool ok = j->try_run(w, j->arg) || w->stop;
			pthread_mutex_lock(&t->lock);
			if (!ok) {
				j->delay_ms = j->delay_ms ? j->delay_ms * 2 : RETRY_FIRST_MS;
				if (j->delay_ms > RETRY_MAX_MS)
					j->delay_ms = RETRY_MAX_MS;
				j->not_before = lc_mono_ms() + j->delay_ms;
			}
			/* The others held here fail or succeed for the same reason (MongoDB is down
			 * or back): they back off with this one, or go at once. Held jobs thus cost
			 * one try per backoff, and the other jobs get the worker in between. */
			job_t *h;
			TAILQ_FOREACH(h, &t->held, link) {
				if (ok)
					h->not_before = 0;
				else if (h->not_before < j->not_before)
					h->not_before = j->not_before;
			}
			if (!ok)
				TAILQ_INSERT_HEAD(&t->held, j, link);
			pthread_mutex_unlock(&t->lock);
			if (!ok)
				continue;
		} else {
			j->run(w, j->arg);
		}
		if (j->done)
			wsd_post(w, j->done, j->arg);
		free(j);
		atomic_fetch_sub_explicit(&t->pool->pending, 1, memory_order_relaxed);
	}
	return NULL;
}

wsd_workers_t *wsd_workers_new(wsd_t *w, int nthreads)
{
	wsd_workers_t *pool = lc_calloc(1, sizeof *pool);
	pool->w = w;
	pool->n = nthreads < 1 ? 1 : nthreads;
	pool->t = lc_calloc((size_t)pool->n, sizeof *pool->t);
	for (int i = 0; i < pool->n; i++) {
		wthread_t *t = &pool->t[i];
		t->pool = pool;
		TAILQ_INIT(&t->queue);
		TAILQ_INIT(&t->held);
		pthread_mutex_init(&t->lock, NULL);
		lc_cond_init_mono(&t->cond);
		if (pthread_create(&t->tid, NULL, worker_main, t) != 0) {
			LC_ERROR("cannot start worker thread %d", i);
			abort();
		}
	}
	return pool;
}

static void submit(wsd_workers_t *pool, const char *key, job_t *j)
{
	uint32_t h = key ? wsd_hash(key) : 0;
	unsigned idx = key ? h % (unsigned)pool->n
			   : atomic_fetch_add(&pool->rr, 1) % (unsigned)pool->n;
	wthread_t *t = &pool->t[idx];
	j->key = h;
	j->keyed = key != NULL;
	atomic_fetch_add_explicit(&pool->pending, 1, memory_order_relaxed);
	pthread_mutex_lock(&t->lock);
	TAILQ_INSERT_TAIL(&t->queue, j, link);
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

void wsd_workers_submit(wsd_workers_t *pool, const char *key, wsd_fn run, wsd_fn done, void *arg)
{
	job_t *j = lc_calloc(1, sizeof *j);
	j->run = run;
	j->done = done;
	j->arg = arg;
	submit(pool, key, j);
}

void wsd_workers_submit_retry(wsd_workers_t *pool, const char *key, wsd_try_fn run, wsd_fn done,
			      void *arg)
{
	LC_ASSERT(key != NULL);
	job_t *j = lc_calloc(1, sizeof *j);
	j->try_run = run;
	j->done = done;
	j->arg = arg;
	submit(pool, key, j);
}

size_t wsd_workers_pending(wsd_workers_t *pool)
{
	return atomic_load_explicit(&pool->pending, memory_order_relaxed);
}

static void drop_list(wsd_workers_t *pool, struct jobs *list)
{
	job_t *j;
	while ((j = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, j, link);
		/* w->stop is set: done only frees. */
		if (j->done)
			j->done(pool->w, j->arg);
		free(j);
	}
}

void wsd_workers_free(wsd_workers_t **ppool)
{
	if (ppool == NULL || *ppool == NULL)
		return;
	wsd_workers_t *pool = *ppool;
	for (int i = 0; i < pool->n; i++) {
		wthread_t *t = &pool->t[i];
		pthread_mutex_lock(&t->lock);
		t->stop = true;
		pthread_cond_signal(&t->cond);
		pthread_mutex_unlock(&t->lock);
	}
	for (int i = 0; i < pool->n; i++) {
		wthread_t *t = &pool->t[i];
		pthread_join(t->tid, NULL);
		drop_list(pool, &t->held);
		drop_list(pool, &t->queue);
		pthread_mutex_destroy(&t->lock);
		pthread_cond_destroy(&t->cond);
	}
	free(pool->t);
	free(pool);
	*ppool = NULL;
}

char *wsd_workers_customer_key(const char *channel, const char *customer_id)
{
	return lc_asprintf("%s\n%s", channel ? channel : "", customer_id ? customer_id : "");
}

void wsd_workers_submit_customer(wsd_t *w, const char *channel, const char *customer_id, wsd_fn run,
				 wsd_fn done, void *arg)
{
	char *key = wsd_workers_customer_key(channel, customer_id);
	wsd_workers_submit(w->workers, key, run, done, arg);
	free(key);
}
