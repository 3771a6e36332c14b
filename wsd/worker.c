/* wsd_workers: a fixed pool of threads, one FIFO queue per thread; a job's key picks the queue. */
#include "config.h"
#include "worker.h"
#include "lc_alloc.h"
#include "lc_log.h"

#include <stdlib.h>

typedef struct job {
	struct job *next;
	wsd_fn run, done;
	void *arg;
} job_t;

typedef struct wthread {
	pthread_t tid;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	job_t *head, *tail;
	bool stop;
	wsd_workers_t *pool;
} wthread_t;

struct wsd_workers {
	wsd_t *w;
	int n;
	atomic_uint rr;
	wthread_t *t;
};

static void *worker_main(void *p)
{
	wthread_t *t = p;
	for (;;) {
		pthread_mutex_lock(&t->lock);
		while (t->head == NULL && !t->stop)
			pthread_cond_wait(&t->cond, &t->lock);
		if (t->stop) {
			pthread_mutex_unlock(&t->lock);
			break;
		}
		job_t *j = t->head;
		t->head = j->next;
		if (t->head == NULL)
			t->tail = NULL;
		pthread_mutex_unlock(&t->lock);

		j->run(t->pool->w, j->arg);
		if (j->done)
			wsd_post(t->pool->w, j->done, j->arg);
		free(j);
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
		pthread_mutex_init(&t->lock, NULL);
		pthread_cond_init(&t->cond, NULL);
		if (pthread_create(&t->tid, NULL, worker_main, t) != 0) {
			LC_ERROR("cannot start worker thread %d", i);
			abort();
		}
	}
	return pool;
}

void wsd_workers_submit(wsd_workers_t *pool, const char *key, wsd_fn run, wsd_fn done, void *arg)
{
	unsigned idx = key ? wsd_hash(key) % (unsigned)pool->n
			   : atomic_fetch_add(&pool->rr, 1) % (unsigned)pool->n;
	wthread_t *t = &pool->t[idx];
	job_t *j = lc_calloc(1, sizeof *j);
	j->run = run;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&t->lock);
	if (t->tail)
		t->tail->next = j;
	else
		t->head = j;
	t->tail = j;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
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
		job_t *j = t->head;
		while (j) {
			job_t *n = j->next;
			/* w->stop is set: done only frees. */
			if (j->done)
				j->done(pool->w, j->arg);
			free(j);
			j = n;
		}
		pthread_mutex_destroy(&t->lock);
		pthread_cond_destroy(&t->cond);
	}
	free(pool->t);
	free(pool);
	*ppool = NULL;
}
