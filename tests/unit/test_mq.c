/* SPDX-License-Identifier: MIT */
/* Tests of lc_mq, the queue wsd's threads hand work to each other with: order, batches, putting
 * one back, the wake-up of a consumer sleeping in lc_mq_take or elsewhere, stop, and a drain
 * that loses nothing while several threads push. */
#include "config.h"
#include "unit_tests.h"
#include "lc_mq.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <CUnit/CUnit.h>

typedef struct num {
	lc_mq_item_t item;
	int v;
} num_t;

static num_t *num_new(int v)
{
	num_t *n = calloc(1, sizeof *n);
	n->v = v;
	return n;
}

/* Pops the head of list (non-empty) and returns its value, freeing it. */
static int pop(struct lc_mq_list *list)
{
	num_t *n = LC_MQ_ENTRY(STAILQ_FIRST(list), num_t, item);
	STAILQ_REMOVE_HEAD(list, link);
	int v = n->v;
	free(n);
	return v;
}

static void test_items_come_out_in_order_in_batches(void)
{
	lc_mq_t *q = lc_mq_new(NULL, NULL);
	for (int i = 0; i < 10; i++)
		lc_mq_push(q, &num_new(i)->item);
	CU_ASSERT_EQUAL(lc_mq_length(q), 10);
	struct lc_mq_list out = STAILQ_HEAD_INITIALIZER(out);
	CU_ASSERT_EQUAL(lc_mq_take(q, &out, 4, false), 4);
	CU_ASSERT_EQUAL(lc_mq_length(q), 6);
	/* A second take appends to what the caller already holds. */
	CU_ASSERT_EQUAL(lc_mq_take(q, &out, 100, false), 6);
	CU_ASSERT_EQUAL(lc_mq_length(q), 0);
	bool ordered = true;
	for (int i = 0; i < 10; i++)
		if (STAILQ_EMPTY(&out) || pop(&out) != i)
			ordered = false;
	CU_ASSERT_TRUE(ordered);
	CU_ASSERT_TRUE(STAILQ_EMPTY(&out));
	CU_ASSERT_EQUAL(lc_mq_take(q, &out, 100, false), 0);
	lc_mq_free(&q);
	CU_ASSERT_PTR_NULL(q);
	lc_mq_free(&q);     /* NULL-safe */
}

static void test_push_front_is_taken_first(void)
{
	lc_mq_t *q = lc_mq_new(NULL, NULL);
	lc_mq_push(q, &num_new(1)->item);
	lc_mq_push(q, &num_new(2)->item);
	struct lc_mq_list out = STAILQ_HEAD_INITIALIZER(out);
	CU_ASSERT_EQUAL(lc_mq_take(q, &out, 1, false), 1);
	/* The consumer could not do it: back at the head, before 2. */
	lc_mq_item_t *it = STAILQ_FIRST(&out);
	STAILQ_REMOVE_HEAD(&out, link);
	lc_mq_push_front(q, it);
	CU_ASSERT_EQUAL(lc_mq_take(q, &out, 100, false), 2);
	CU_ASSERT_EQUAL(pop(&out), 1);
	CU_ASSERT_EQUAL(pop(&out), 2);
	lc_mq_free(&q);
}

static void count_wake(void *arg)
{
	atomic_fetch_add((atomic_int *)arg, 1);
}

static void test_every_push_calls_the_wake_callback(void)
{
	atomic_int wakes = 0;
	lc_mq_t *q = lc_mq_new(count_wake, &wakes);
	lc_mq_push(q, &num_new(1)->item);
	lc_mq_push(q, &num_new(2)->item);
	CU_ASSERT_EQUAL(atomic_load(&wakes), 2);
	struct lc_mq_list out = STAILQ_HEAD_INITIALIZER(out);
	CU_ASSERT_EQUAL(lc_mq_take(q, &out, 1, false), 1);
	/* Putting one back is not news for the consumer: no wake-up. */
	lc_mq_push_front(q, STAILQ_FIRST(&out));
	STAILQ_INIT(&out);
	CU_ASSERT_EQUAL(atomic_load(&wakes), 2);
	lc_mq_take(q, &out, 100, false);
	pop(&out);
	pop(&out);
	lc_mq_free(&q);
}

typedef struct taker {
	lc_mq_t *q;
	size_t n;
	int first;
} taker_t;

static void *take_waiting(void *arg)
{
	taker_t *t = arg;
	struct lc_mq_list out = STAILQ_HEAD_INITIALIZER(out);
	t->n = lc_mq_take(t->q, &out, 100, true);
	t->first = -1;
	if (t->n > 0)
		t->first = pop(&out);
	while (!STAILQ_EMPTY(&out))
		pop(&out);
	return NULL;
}

static void nap_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };
	nanosleep(&ts, NULL);
}

static void test_a_waiting_consumer_wakes_on_push(void)
{
	taker_t t = { lc_mq_new(NULL, NULL), 0, 0 };
	pthread_t tid;
	pthread_create(&tid, NULL, take_waiting, &t);
	nap_ms(30);     /* let it sleep in lc_mq_take first (if it has not, it takes at once) */
	lc_mq_push(t.q, &num_new(7)->item);
	pthread_join(tid, NULL);
	CU_ASSERT_EQUAL(t.n, 1);
	CU_ASSERT_EQUAL(t.first, 7);
	lc_mq_free(&t.q);
}

static void test_stop_wakes_a_waiting_consumer_with_nothing(void)
{
	taker_t t = { lc_mq_new(NULL, NULL), 99, 0 };
	pthread_t tid;
	pthread_create(&tid, NULL, take_waiting, &t);
	nap_ms(30);
	lc_mq_stop(t.q);
	pthread_join(tid, NULL);
	CU_ASSERT_EQUAL(t.n, 0);
	/* Stopped, a waiting take still gets what is queued, and returns at once when empty. */
	lc_mq_push(t.q, &num_new(3)->item);
	take_waiting(&t);
	CU_ASSERT_EQUAL(t.n, 1);
	CU_ASSERT_EQUAL(t.first, 3);
	take_waiting(&t);
	CU_ASSERT_EQUAL(t.n, 0);
	lc_mq_free(&t.q);
}

#define PUSHERS 4
#define PER_PUSHER 5000

typedef struct pusher {
	lc_mq_t *q;
	int id;
} pusher_t;

static void *push_many(void *arg)
{
	pusher_t *p = arg;
	for (int i = 0; i < PER_PUSHER; i++)
		lc_mq_push(p->q, &num_new(p->id * PER_PUSHER + i)->item);
	return NULL;
}

static void test_drain_while_pushing_loses_nothing_and_keeps_each_order(void)
{
	lc_mq_t *q = lc_mq_new(NULL, NULL);
	pthread_t tid[PUSHERS];
	pusher_t ps[PUSHERS];
	for (int i = 0; i < PUSHERS; i++) {
		ps[i] = (pusher_t){ q, i };
		pthread_create(&tid[i], NULL, push_many, &ps[i]);
	}
	int last[PUSHERS] = { -1, -1, -1, -1 };
	int got = 0;
	bool ordered = true;
	while (got < PUSHERS * PER_PUSHER) {
		struct lc_mq_list out = STAILQ_HEAD_INITIALIZER(out);
		lc_mq_take(q, &out, 64, true);
		while (!STAILQ_EMPTY(&out)) {
			int v = pop(&out);
			int who = v / PER_PUSHER, seq = v % PER_PUSHER;
			if (seq != last[who] + 1)
				ordered = false;
			last[who] = seq;
			got++;
		}
	}
	for (int i = 0; i < PUSHERS; i++)
		pthread_join(tid[i], NULL);
	CU_ASSERT_TRUE(ordered);
	CU_ASSERT_EQUAL(got, PUSHERS * PER_PUSHER);
	CU_ASSERT_EQUAL(lc_mq_length(q), 0);
	lc_mq_free(&q);
}

int init_mq_tests(void)
{
	CU_pSuite s = CU_add_suite("mq", NULL, NULL);
	if (s == NULL)
		return 1;
	CU_ADD_TEST(s, test_items_come_out_in_order_in_batches);
	CU_ADD_TEST(s, test_push_front_is_taken_first);
	CU_ADD_TEST(s, test_every_push_calls_the_wake_callback);
	CU_ADD_TEST(s, test_a_waiting_consumer_wakes_on_push);
	CU_ADD_TEST(s, test_stop_wakes_a_waiting_consumer_with_nothing);
	CU_ADD_TEST(s, test_drain_while_pushing_loses_nothing_and_keeps_each_order);
	return CU_get_error() == CUE_SUCCESS ? 0 : 1;
}
