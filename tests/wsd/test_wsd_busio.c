/* SPDX-License-Identifier: MIT */
/* Tests of wsd_busio's publisher lane (wsd/busio_pub.c) against the real RabbitMQ at
 * $LIVECHAT_AMQP_URL: a barrier (wsd_busio_after_queued) runs once everything queued before it
 * is in the broker, publishes nothing, and says when what came before it was given up. Only the
 * lane's thread runs (no consumer: these tests declare their own exchange and queue, names
 * unique to this run, deleted at the end). */
#include "config.h"
#include "busio_priv.h"
#include "cunit_run.h"
#include "lc_alloc.h"
#include "lc_bus.h"
#include "lc_config.h"

#include <CUnit/Basic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT_S 10               /* a barrier that is due runs well within this */

static const char *shared_url;
static char ex_name[96], q_name[96];

/* What a barrier's done saw, handed to the test's thread. */
typedef struct seen {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool ran, ok;
	int runs;
	uint32_t in_queue;      /* the queue's messages when done ran (UINT32_MAX: not read) */
	lc_bus_t *probe;        /* read from done (publisher thread) while the test waits */
	const char *queue;
} seen_t;

static void seen_init(seen_t *s, lc_bus_t *probe, const char *queue)
{
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->in_queue = UINT32_MAX;
	s->probe = probe;
	s->queue = queue;
}

static void seen_destroy(seen_t *s)
{
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
}

static void barrier_done(wsd_t *w, void *arg, bool ok)
{
	(void)w;
	seen_t *s = arg;
	uint32_t n = UINT32_MAX, consumers = 0;
	if (s->probe != NULL && lc_bus_queue_counts(s->probe, s->queue, &n, &consumers, NULL) != LC_OK)
		n = UINT32_MAX;
	pthread_mutex_lock(&s->mu);
	s->ran = true;
	s->runs++;
	s->ok = ok;
	s->in_queue = n;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static bool seen_wait(seen_t *s)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_S;
	pthread_mutex_lock(&s->mu);
	while (!s->ran && pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0)
		;
	bool ran = s->ran;
	pthread_mutex_unlock(&s->mu);
	return ran;
}

static void never(wsd_t *w, void *arg)
{
	(void)w;
	(void)arg;
	CU_FAIL("the consumer does not run in these tests");
}

static void never_delivery(wsd_t *w, lc_bus_delivery_t *d)
{
	(void)w;
	(void)d;
	CU_FAIL("the consumer does not run in these tests");
}

static const wsd_busio_ops_t ops = {
	.ready = never, .node_event = never, .answer = never_delivery, .inbound = never_delivery,
};

/* A daemon with only what the bus reads (its config and node id) and a bus on url whose stored
 * lane runs. */
typedef struct rig {
	wsd_t w;
	wsd_busio_t *b;
} rig_t;

static bool rig_start(rig_t *r, const char *url)
{
	lc_err_t err;
	memset(r, 0, sizeof *r);
	r->w.magic = WSD_MAGIC;
	r->w.cfg = lc_config_new_defaults(&err);
	snprintf(r->w.node_id, sizeof r->w.node_id, "test-busio-%ld", (long)getpid());
	if (r->w.cfg == NULL || (r->b = wsd_busio_new(&r->w, url, &ops, &err)) == NULL) {
		fprintf(stderr, "\n  rig: %s\n", err.reason);
		lc_config_free(&r->w.cfg);
		return false;
	}
	wsd_pub_lane_t *lane = &r->b->lanes[WSD_LANE_STORED];
	return pthread_create(&lane->tid, NULL, wsd_busio_pub_main, lane) == 0;
}

/* Stops the lane the way wsd_busio_free does (it tries for up to 2 s to publish what waits,
 * then gives it up) and frees the bus. */
static void rig_stop(rig_t *r)
{
	atomic_store(&r->b->stop, true);
	lc_mq_stop(r->b->lanes[WSD_LANE_STORED].q);
	pthread_join(r->b->lanes[WSD_LANE_STORED].tid, NULL);
	wsd_busio_free(&r->b);
	lc_config_free(&r->w.cfg);
}

/* The test's exchange and queue (bound to every key), empty. */
static lc_bus_t *topology(void)
{
	lc_err_t err;
	lc_bus_t *bus = lc_bus_new(shared_url, &err);
	if (bus == NULL ||
	    lc_bus_declare_exchange(bus, ex_name, "topic", false, &err) != LC_OK ||
	    lc_bus_declare_queue(bus, q_name, false, false, false, &err) != LC_OK ||
	    lc_bus_bind(bus, q_name, ex_name, "#", &err) != LC_OK ||
	    lc_bus_purge(bus, q_name, &err) != LC_OK) {
		fprintf(stderr, "\n  topology: %s\n", err.reason);
		lc_bus_free(&bus);
	}
	return bus;
}

static void test_a_barrier_runs_once_what_was_queued_before_it_is_in_the_broker(void)
{
	enum { N = 300 };       /* more than one batch of the lane (PUB_BATCH_MAX 256) */
	lc_bus_t *probe = topology();
	CU_ASSERT_PTR_NOT_NULL_FATAL(probe);
	rig_t r;
	CU_ASSERT_TRUE_FATAL(rig_start(&r, shared_url));
	seen_t s;
	seen_init(&s, probe, q_name);
	for (int i = 0; i < N; i++)
		wsd_busio_publish(r.b, ex_name, "m", lc_asprintf("{\"n\":%d}", i), NULL, NULL, NULL);
	wsd_busio_after_queued(r.b, barrier_done, &s);
	CU_ASSERT_TRUE(seen_wait(&s));
	CU_ASSERT_TRUE(s.ok);
	CU_ASSERT_EQUAL(s.in_queue, N);         /* all confirmed, so all routed, before it ran */
	/* Nothing was published for the barrier: the queue bound to every key holds the N. */
	uint32_t n = 0, consumers = 0;
	sleep(1);
	CU_ASSERT_EQUAL(lc_bus_queue_counts(probe, q_name, &n, &consumers, NULL), LC_OK);
	CU_ASSERT_EQUAL(n, N);
	CU_ASSERT_EQUAL(wsd_busio_queued(r.b), 0);
	rig_stop(&r);
	CU_ASSERT_EQUAL(s.runs, 1);
	seen_destroy(&s);
	lc_bus_free(&probe);
}

static void test_a_barrier_with_nothing_before_it_runs_without_a_broker_round_trip(void)
{
	rig_t r;
	CU_ASSERT_TRUE_FATAL(rig_start(&r, shared_url));
	seen_t first, second;
	seen_init(&first, NULL, NULL);
	seen_init(&second, NULL, NULL);
	wsd_busio_after_queued(r.b, barrier_done, &first);
	wsd_busio_after_queued(r.b, barrier_done, &second);
	CU_ASSERT_TRUE(seen_wait(&first));
	CU_ASSERT_TRUE(seen_wait(&second));
	CU_ASSERT_TRUE(first.ok);
	CU_ASSERT_TRUE(second.ok);
	rig_stop(&r);
	seen_destroy(&first);
	seen_destroy(&second);
}

static void test_a_barrier_behind_what_was_given_up_says_so(void)
{
	/* A broker that is not there (a closed port): the lane retries until it stops, then gives
	 * up the message, and the barrier behind it reports ok false (its delivery is not acked:
	 * the broker redelivers it). The barrier comes once the lane retries the message's batch,
	 * so it is in a batch of its own, with nothing to publish. */
	rig_t r;
	CU_ASSERT_TRUE_FATAL(rig_start(&r, "amqp://guest:guest@127.0.0.1:1/"));
	seen_t s;
	seen_init(&s, NULL, NULL);
	wsd_busio_publish(r.b, ex_name, "m", lc_strdup("{}"), NULL, NULL, NULL);
	usleep(200 * 1000);
	wsd_busio_after_queued(r.b, barrier_done, &s);
	usleep(200 * 1000);
	pthread_mutex_lock(&s.mu);
	CU_ASSERT_FALSE(s.ran);                 /* still waiting for the message before it */
	pthread_mutex_unlock(&s.mu);
	rig_stop(&r);
	CU_ASSERT_TRUE(s.ran);
	CU_ASSERT_FALSE(s.ok);
	CU_ASSERT_EQUAL(s.runs, 1);
	seen_destroy(&s);
}

static int suite_init(void)
{
	shared_url = getenv("LIVECHAT_AMQP_URL");
	if (shared_url == NULL || *shared_url == '\0') {
		fprintf(stderr, "test_wsd_busio: LIVECHAT_AMQP_URL is not set (tests/test-env.sh sets it)\n");
		return 1;
	}
	snprintf(ex_name, sizeof ex_name, "lc-test-busio-%ld-ex", (long)getpid());
	snprintf(q_name, sizeof q_name, "lc-test-busio-%ld-q", (long)getpid());
	return 0;
}

static int suite_cleanup(void)
{
	lc_bus_t *bus = lc_bus_new(shared_url, NULL);
	if (bus == NULL)
		return 1;
	lc_bus_delete_queue(bus, q_name, NULL);
	lc_bus_delete_exchange(bus, ex_name, NULL);
	lc_bus_free(&bus);
	return 0;
}

static int init_busio_tests(void)
{
	CU_pSuite s = CU_add_suite("wsd_busio publisher lane", suite_init, suite_cleanup);
	if (s == NULL)
		return 1;
	CU_ADD_TEST(s, test_a_barrier_runs_once_what_was_queued_before_it_is_in_the_broker);
	CU_ADD_TEST(s, test_a_barrier_with_nothing_before_it_runs_without_a_broker_round_trip);
	CU_ADD_TEST(s, test_a_barrier_behind_what_was_given_up_says_so);
	return 0;
}

int main(void)
{
	const lc_cunit_init_fn inits[] = { init_busio_tests };
	return lc_cunit_run("test_wsd_busio", inits, 1);
}
