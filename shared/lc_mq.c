/* SPDX-License-Identifier: MIT */
/* lc_mq: the mutex + queue + wake-up that wsd's threads hand work to each other with (lc_mq.h). */
#include "config.h"
#include "lc_mq.h"
#include "lc_alloc.h"
#include "lc_err.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define LC_MQ_MAGIC 0x6c636d71u

struct lc_mq {
	uint32_t magic;
	pthread_mutex_t lock;
	pthread_cond_t cond;            /* signalled on push and stop: the consumer in lc_mq_take */
	struct lc_mq_list items;
	size_t n;
	bool stop;
	void (*wake)(void *arg);
	void *wake_arg;
};

lc_mq_t *lc_mq_new(void (*wake)(void *wake_arg), void *wake_arg)
{
	lc_mq_t *q = lc_calloc(1, sizeof *q);
	q->magic = LC_MQ_MAGIC;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	STAILQ_INIT(&q->items);
	q->wake = wake;
	q->wake_arg = wake_arg;
	return q;
}

void lc_mq_free(lc_mq_t **pq)
{
	if (pq == NULL || *pq == NULL)
		return;
	lc_mq_t *q = *pq;
	LC_CHECK_OBJ(q, LC_MQ_MAGIC);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	q->magic = 0;
	free(q);
	*pq = NULL;
}

void lc_mq_push(lc_mq_t *q, lc_mq_item_t *item)
{
	LC_CHECK_OBJ(q, LC_MQ_MAGIC);
	pthread_mutex_lock(&q->lock);
	STAILQ_INSERT_TAIL(&q->items, item, link);
	q->n++;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	if (q->wake)
		q->wake(q->wake_arg);
}

void lc_mq_push_front(lc_mq_t *q, lc_mq_item_t *item)
{
	LC_CHECK_OBJ(q, LC_MQ_MAGIC);
	pthread_mutex_lock(&q->lock);
	STAILQ_INSERT_HEAD(&q->items, item, link);
	q->n++;
	pthread_mutex_unlock(&q->lock);
}

size_t lc_mq_take(lc_mq_t *q, struct lc_mq_list *out, size_t max, bool wait)
{
	LC_CHECK_OBJ(q, LC_MQ_MAGIC);
	size_t n = 0;
	pthread_mutex_lock(&q->lock);
	while (wait && STAILQ_EMPTY(&q->items) && !q->stop)
		pthread_cond_wait(&q->cond, &q->lock);
	if (max >= q->n) {
		/* All of it (the usual case): one splice, not one move per item. */
		n = q->n;
		STAILQ_CONCAT(out, &q->items);
		q->n = 0;
	} else {
		for (; n < max; n++) {
			lc_mq_item_t *it = STAILQ_FIRST(&q->items);
			STAILQ_REMOVE_HEAD(&q->items, link);
			STAILQ_INSERT_TAIL(out, it, link);
		}
		q->n -= n;
	}
	pthread_mutex_unlock(&q->lock);
	return n;
}

void lc_mq_stop(lc_mq_t *q)
{
	LC_CHECK_OBJ(q, LC_MQ_MAGIC);
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

size_t lc_mq_length(lc_mq_t *q)
{
	LC_CHECK_OBJ(q, LC_MQ_MAGIC);
	pthread_mutex_lock(&q->lock);
	size_t n = q->n;
	pthread_mutex_unlock(&q->lock);
	return n;
}
