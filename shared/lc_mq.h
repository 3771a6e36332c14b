/* SPDX-License-Identifier: MIT */
/* lc_mq: a queue from any thread to one consumer thread: a mutex, a <sys/queue.h> STAILQ of
 * items the caller embeds in its own structs, and a wake-up. A consumer that sleeps in
 * lc_mq_take is woken by the queue's condition variable; one that sleeps elsewhere (the lws event
 * loop in poll) by the wake callback given to lc_mq_new. Items come out in the order they went in
 * (lc_mq_push_front puts one back at the head). The queue owns no item: lc_mq_free leaves those
 * still queued to the caller, who takes them first. */
#ifndef LC_MQ_H
#define LC_MQ_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

/* Embed one in each queued struct; LC_MQ_ENTRY gets the struct back. */
typedef struct lc_mq_item {
	STAILQ_ENTRY(lc_mq_item) link;
} lc_mq_item_t;
STAILQ_HEAD(lc_mq_list, lc_mq_item);

#define LC_MQ_ENTRY(item, type, member) ((type *)(void *)((char *)(item) - offsetof(type, member)))

typedef struct lc_mq lc_mq_t;

/* A new, empty queue. wake (may be NULL) is called after each push, on the pushing thread and
 * outside the queue's lock, with wake_arg. Never NULL (allocation failure aborts). */
lc_mq_t *lc_mq_new(void (*wake)(void *wake_arg), void *wake_arg);
/* Frees the queue (NULL-safe; NULLs *q). Items still queued are not touched: take them first. */
void lc_mq_free(lc_mq_t **q);

/* Any thread: append item and wake the consumer. */
void lc_mq_push(lc_mq_t *q, lc_mq_item_t *item);
/* Any thread: put item back at the head (the consumer could not do it yet); no wake-up. */
void lc_mq_push_front(lc_mq_t *q, lc_mq_item_t *item);
/* Move up to max items, oldest first, to the tail of out (an initialised list); returns how
 * many. wait: first sleep until an item is queued or lc_mq_stop was called (then 0 when the
 * queue is empty). */
size_t lc_mq_take(lc_mq_t *q, struct lc_mq_list *out, size_t max, bool wait);
/* Any thread: wake the consumers waiting in lc_mq_take, and make later waits return at once. */
void lc_mq_stop(lc_mq_t *q);
/* Any thread: items queued now (may change at once; for logs and tests). */
size_t lc_mq_length(lc_mq_t *q);

#endif
