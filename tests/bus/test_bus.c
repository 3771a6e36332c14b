/* SPDX-License-Identifier: MIT */
/* Tests of lc_bus against real RabbitMQ: the shared broker at $LIVECHAT_AMQP_URL (names unique
 * to this run, deleted at the end) and, for the broker-restart test, a private node started by
 * bus/rabbit-node.sh on free ports, so the shared broker is never stopped. */
#include "config.h"
#include "lc_bus.h"
#include "lc_log.h"
#include "cunit_run.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <CUnit/Basic.h>

#define POLL_MS 5000            /* a delivery that is due arrives well within this */
#define EMPTY_MS 500            /* "nothing more comes": a poll this long times out */

static const char *shared_url;
static char names[32][96];       /* what this run created on the shared broker */
static int nnames;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A unique name for this run and test: lc-test-bus-<pid>-<what>. */
static const char *name(const char *what)
{
	LC_ASSERT(nnames < (int)(sizeof(names) / sizeof(names[0])));
	snprintf(names[nnames], sizeof(names[0]), "lc-test-bus-%ld-%s", (long)getpid(), what);
	return names[nnames++];
}

static lc_bus_t *bus_open(const char *url)
{
	lc_err_t err;
	lc_bus_t *bus = lc_bus_new(url, &err);

	if (bus == NULL)
		fprintf(stderr, "\n  lc_bus_new(%s): %s\n", url, err.reason);
	return bus;
}

/* Exchange ex (direct) and queue q bound with key, all transient. */
static bool topology(lc_bus_t *bus, const char *ex, const char *q, const char *key)
{
	lc_err_t err;

	if (lc_bus_declare_exchange(bus, ex, "direct", false, &err) != LC_OK ||
	    lc_bus_declare_queue(bus, q, false, false, false, &err) != LC_OK ||
	    lc_bus_bind(bus, q, ex, key, &err) != LC_OK) {
		fprintf(stderr, "\n  topology: %s\n", err.reason);
		return false;
	}
	return true;
}

static lc_rc poll_one(lc_bus_t *bus, int ms, lc_bus_delivery_t **d)
{
	lc_err_t err;
	lc_rc rc = lc_bus_poll(bus, ms, d, &err);

	if (rc != LC_OK && rc != LC_ERR_TIMEOUT)
		fprintf(stderr, "\n  poll: %s: %s\n", lc_rc_name(rc), err.reason);
	return rc;
}

static lc_rc publish(lc_bus_t *bus, const char *ex, const char *key, const char *body,
		     const char *id)
{
	lc_err_t err;
	lc_rc rc = lc_bus_publish(bus, ex, key, body, strlen(body), id, &err);

	if (rc != LC_OK)
		fprintf(stderr, "\n  publish: %s: %s\n", lc_rc_name(rc), err.reason);
	return rc;
}

static void drop(const char *ex, const char *q)
{
	lc_bus_t *bus = bus_open(shared_url);
	lc_err_t err;

	CU_ASSERT_FATAL(bus != NULL);
	CU_ASSERT_EQUAL(lc_bus_delete_queue(bus, q, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_bus_delete_exchange(bus, ex, &err), LC_OK);
	lc_bus_free(&bus);
}

static void test_published_message_is_confirmed_consumed_and_gone_once_acked(void)
{
	const char *ex = name("ack-ex"), *q = name("ack-q");
	lc_bus_t *pub = bus_open(shared_url), *con = bus_open(shared_url);
	lc_bus_delivery_t *d = NULL;
	lc_err_t err;

	CU_ASSERT_FATAL(pub != NULL && con != NULL);
	CU_ASSERT_FATAL(topology(pub, ex, q, "k"));
	CU_ASSERT_EQUAL(publish(pub, ex, "k", "{\"n\":1}", "m-1"), LC_OK);
	CU_ASSERT_EQUAL(lc_bus_consume(con, q, 10, &err), LC_OK);
	CU_ASSERT_TRUE(lc_bus_is_connected(con));
	CU_ASSERT_EQUAL_FATAL(poll_one(con, POLL_MS, &d), LC_OK);
	CU_ASSERT_STRING_EQUAL(d->body, "{\"n\":1}");
	CU_ASSERT_EQUAL(d->len, 7);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d->message_id);
	CU_ASSERT_STRING_EQUAL(d->message_id, "m-1");
	CU_ASSERT_STRING_EQUAL(d->exchange, ex);
	CU_ASSERT_STRING_EQUAL(d->routing_key, "k");
	CU_ASSERT_FALSE(d->redelivered);
	CU_ASSERT_EQUAL(d->gen, lc_bus_generation(con));
	CU_ASSERT_EQUAL(lc_bus_ack(con, d, &err), LC_OK);
	lc_bus_delivery_free(&d);
	CU_ASSERT_PTR_NULL(d);
	CU_ASSERT_EQUAL(poll_one(con, EMPTY_MS, &d), LC_ERR_TIMEOUT);
	/* A new consumer sees nothing either: the broker got the ack. */
	lc_bus_free(&con);
	CU_ASSERT_PTR_NULL(con);
	con = bus_open(shared_url);
	CU_ASSERT_EQUAL(lc_bus_consume(con, q, 10, &err), LC_OK);
	CU_ASSERT_EQUAL(poll_one(con, EMPTY_MS, &d), LC_ERR_TIMEOUT);
	lc_bus_free(&con);
	lc_bus_free(&pub);
	drop(ex, q);
}

/* One consumer thread on two connections (wsd's node and inbound queues): lc_bus_wait wakes for a
 * delivery on either, or for the eventfd, at once; with nothing, at its timeout. */
static void test_wait_wakes_for_either_connection_or_the_wake_fd_and_times_out_otherwise(void)
{
	const char *ex = name("wait-ex"), *q1 = name("wait-q1"), *q2 = name("wait-q2");
	lc_bus_t *pub = bus_open(shared_url), *a = bus_open(shared_url), *b = bus_open(shared_url);
	lc_bus_delivery_t *d = NULL;
	lc_err_t err;
	uint64_t one = 1;
	int efd = eventfd(0, EFD_NONBLOCK);
	int64_t t0;

	CU_ASSERT_FATAL(pub != NULL && a != NULL && b != NULL && efd >= 0);
	CU_ASSERT_FATAL(topology(pub, ex, q1, "one"));
	CU_ASSERT_FATAL(topology(pub, ex, q2, "two"));
	CU_ASSERT_EQUAL(lc_bus_consume(a, q1, 10, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_bus_consume(b, q2, 10, &err), LC_OK);
	lc_bus_t *const both[] = { a, b };

	t0 = now_ms();
	CU_ASSERT_FALSE(lc_bus_wait(both, 2, efd, 300));
	CU_ASSERT_TRUE(now_ms() - t0 >= 290);

	/* A delivery on the second: the wait ends long before its 5 s. */
	CU_ASSERT_EQUAL(publish(pub, ex, "two", "{\"n\":2}", NULL), LC_OK);
	t0 = now_ms();
	CU_ASSERT_TRUE(lc_bus_wait(both, 2, efd, 5000));
	CU_ASSERT_TRUE(now_ms() - t0 < 2000);
	CU_ASSERT_EQUAL(poll_one(a, 0, &d), LC_ERR_TIMEOUT);
	CU_ASSERT_EQUAL_FATAL(poll_one(b, 0, &d), LC_OK);
	CU_ASSERT_STRING_EQUAL(d->body, "{\"n\":2}");
	CU_ASSERT_EQUAL(lc_bus_ack(b, d, &err), LC_OK);
	lc_bus_delivery_free(&d);

	/* The same on the first; a NULL entry is skipped. */
	lc_bus_t *const first[] = { NULL, a };
	CU_ASSERT_EQUAL(publish(pub, ex, "one", "{\"n\":1}", NULL), LC_OK);
	t0 = now_ms();
	CU_ASSERT_TRUE(lc_bus_wait(first, 2, -1, 5000));
	CU_ASSERT_TRUE(now_ms() - t0 < 2000);
	CU_ASSERT_EQUAL_FATAL(poll_one(a, 0, &d), LC_OK);
	CU_ASSERT_EQUAL(lc_bus_ack(a, d, &err), LC_OK);
	lc_bus_delivery_free(&d);

	/* Read already: nothing left to wake for but the eventfd. */
	t0 = now_ms();
	CU_ASSERT_FALSE(lc_bus_wait(both, 2, efd, 200));
	CU_ASSERT_EQUAL(write(efd, &one, sizeof one), (ssize_t)sizeof one);
	t0 = now_ms();
	CU_ASSERT_TRUE(lc_bus_wait(both, 2, efd, 5000));
	CU_ASSERT_TRUE(now_ms() - t0 < 2000);

	close(efd);
	lc_bus_free(&a);
	lc_bus_free(&b);
	lc_bus_free(&pub);
	drop(ex, q1);
	lc_bus_t *c = bus_open(shared_url);
	CU_ASSERT_EQUAL(lc_bus_delete_queue(c, q2, &err), LC_OK);
	lc_bus_free(&c);
}

static void test_unacked_message_is_redelivered_to_the_next_consumer(void)
{
	const char *ex = name("redeliver-ex"), *q = name("redeliver-q");
	lc_bus_t *pub = bus_open(shared_url), *con = bus_open(shared_url);
	lc_bus_delivery_t *d = NULL;
	lc_err_t err;

	CU_ASSERT_FATAL(pub != NULL && con != NULL);
	CU_ASSERT_FATAL(topology(pub, ex, q, "k"));
	CU_ASSERT_EQUAL(publish(pub, ex, "k", "{\"x\":\"unacked\"}", NULL), LC_OK);
	CU_ASSERT_EQUAL(lc_bus_consume(con, q, 1, &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(poll_one(con, POLL_MS, &d), LC_OK);
	CU_ASSERT_FALSE(d->redelivered);
	CU_ASSERT_PTR_NULL(d->message_id);
	lc_bus_delivery_free(&d);
	lc_bus_free(&con);      /* closes the connection without an ack */

	con = bus_open(shared_url);
	CU_ASSERT_EQUAL(lc_bus_consume(con, q, 1, &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(poll_one(con, POLL_MS, &d), LC_OK);
	CU_ASSERT_STRING_EQUAL(d->body, "{\"x\":\"unacked\"}");
	CU_ASSERT_TRUE(d->redelivered);
	CU_ASSERT_EQUAL(lc_bus_ack(con, d, &err), LC_OK);
	lc_bus_delivery_free(&d);
	CU_ASSERT_EQUAL(poll_one(con, EMPTY_MS, &d), LC_ERR_TIMEOUT);
	lc_bus_free(&con);
	lc_bus_free(&pub);
	drop(ex, q);
}

/* Six deliveries; a batch acks the first two (one frame, multiple=true), the fourth and the
 * fifth (one by one: the third is still unsettled). Closing the consumer gives back the third and
 * the sixth only: the multiple ack did not take the third. Acking what was settled already is
 * skipped, not a channel error. */
static void test_ack_batch_acks_exactly_the_deliveries_given(void)
{
	const char *ex = name("ackb-ex"), *q = name("ackb-q");
	lc_bus_t *pub = bus_open(shared_url), *con = bus_open(shared_url);
	lc_bus_delivery_t *d[6] = { NULL };
	lc_err_t err;
	char body[32];

	CU_ASSERT_FATAL(pub != NULL && con != NULL);
	CU_ASSERT_FATAL(topology(pub, ex, q, "k"));
	for (int i = 0; i < 6; i++) {
		snprintf(body, sizeof body, "{\"n\":%d}", i);
		CU_ASSERT_EQUAL(publish(pub, ex, "k", body, NULL), LC_OK);
	}
	CU_ASSERT_EQUAL(lc_bus_consume(con, q, 10, &err), LC_OK);
	for (int i = 0; i < 6; i++)
		CU_ASSERT_EQUAL_FATAL(poll_one(con, POLL_MS, &d[i]), LC_OK);
	const lc_bus_delivery_t *batch[] = { d[4], d[0], d[3], d[1] };
	CU_ASSERT_EQUAL(lc_bus_ack_batch(con, batch, 4, &err), LC_OK);
	const lc_bus_delivery_t *again[] = { d[0] };
	CU_ASSERT_EQUAL(lc_bus_ack_batch(con, again, 1, &err), LC_OK);
	CU_ASSERT_EQUAL(publish(pub, ex, "k", "{\"n\":6}", NULL), LC_OK);
	lc_bus_delivery_t *x = NULL;
	CU_ASSERT_EQUAL_FATAL(poll_one(con, POLL_MS, &x), LC_OK);   /* the channel is still open */
	CU_ASSERT_STRING_EQUAL(x->body, "{\"n\":6}");
	lc_bus_delivery_free(&x);
	for (int i = 0; i < 6; i++)
		lc_bus_delivery_free(&d[i]);
	lc_bus_free(&con);      /* closes without settling 2, 5 and 6 */

	con = bus_open(shared_url);
	CU_ASSERT_EQUAL(lc_bus_consume(con, q, 10, &err), LC_OK);
	const char *expect[] = { "{\"n\":2}", "{\"n\":5}", "{\"n\":6}" };
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL_FATAL(poll_one(con, POLL_MS, &d[i]), LC_OK);
		CU_ASSERT_STRING_EQUAL(d[i]->body, expect[i]);
	}
	const lc_bus_delivery_t *rest[] = { d[2], d[1], d[0] };
	CU_ASSERT_EQUAL(lc_bus_ack_batch(con, rest, 3, &err), LC_OK);
	for (int i = 0; i < 3; i++)
		lc_bus_delivery_free(&d[i]);
	CU_ASSERT_EQUAL(poll_one(con, EMPTY_MS, &x), LC_ERR_TIMEOUT);
	lc_bus_free(&con);
	con = bus_open(shared_url);     /* nothing left unacked either */
	CU_ASSERT_EQUAL(lc_bus_consume(con, q, 10, &err), LC_OK);
	CU_ASSERT_EQUAL(poll_one(con, EMPTY_MS, &x), LC_ERR_TIMEOUT);
	lc_bus_free(&con);
	lc_bus_free(&pub);
	drop(ex, q);
}

static void test_nack_with_requeue_redelivers_and_without_requeue_drops(void)
{
	const char *ex = name("nack-ex"), *q = name("nack-q");
	lc_bus_t *bus = bus_open(shared_url);
	lc_bus_delivery_t *d = NULL;
	lc_err_t err;

	/* One bus both publishes and consumes: deliveries arriving while it waits for a publisher
	 * confirm are kept for the next poll. */
	CU_ASSERT_FATAL(bus != NULL);
	CU_ASSERT_FATAL(topology(bus, ex, q, "k"));
	CU_ASSERT_EQUAL(lc_bus_consume(bus, q, 5, &err), LC_OK);
	CU_ASSERT_EQUAL(publish(bus, ex, "k", "{\"try\":1}", "n-1"), LC_OK);
	CU_ASSERT_EQUAL_FATAL(poll_one(bus, POLL_MS, &d), LC_OK);
	CU_ASSERT_FALSE(d->redelivered);
	CU_ASSERT_EQUAL(lc_bus_nack(bus, d, true, &err), LC_OK);
	lc_bus_delivery_free(&d);

	CU_ASSERT_EQUAL_FATAL(poll_one(bus, POLL_MS, &d), LC_OK);
	CU_ASSERT_STRING_EQUAL(d->body, "{\"try\":1}");
	CU_ASSERT_STRING_EQUAL(d->message_id, "n-1");
	CU_ASSERT_TRUE(d->redelivered);
	CU_ASSERT_EQUAL(lc_bus_nack(bus, d, false, &err), LC_OK);
	lc_bus_delivery_free(&d);
	CU_ASSERT_EQUAL(poll_one(bus, EMPTY_MS, &d), LC_ERR_TIMEOUT);
	lc_bus_free(&bus);
	drop(ex, q);
}

static void test_batch_of_1000_is_confirmed_and_consumed_in_order(void)
{
	enum { N = 1000 };
	const char *ex = name("batch-ex"), *q = name("batch-q");
	lc_bus_t *pub = bus_open(shared_url), *con = bus_open(shared_url);
	static char bodies[N][32], ids[N][16];
	lc_bus_msg_t msgs[N];
	lc_bus_delivery_t *d = NULL;
	lc_err_t err;
	int i, in_order = 0;
	int64_t t0;

	CU_ASSERT_FATAL(pub != NULL && con != NULL);
	CU_ASSERT_FATAL(topology(pub, ex, q, "b"));
	for (i = 0; i < N; i++) {
		snprintf(bodies[i], sizeof(bodies[i]), "{\"i\":%d}", i);
		snprintf(ids[i], sizeof(ids[i]), "b-%d", i);
		msgs[i] = (lc_bus_msg_t){ ex, "b", bodies[i], strlen(bodies[i]), ids[i], false };
	}
	t0 = now_ms();
	CU_ASSERT_EQUAL(lc_bus_publish_batch(pub, msgs, N, &err), LC_OK);
	fprintf(stderr, "\n  [batch of %d confirmed in %lld ms]", N, (long long)(now_ms() - t0));
	CU_ASSERT_EQUAL(lc_bus_consume(con, q, 200, &err), LC_OK);
	for (i = 0; i < N; i++) {
		if (poll_one(con, POLL_MS, &d) != LC_OK)
			break;
		if (strcmp(d->body, bodies[i]) == 0 && d->message_id != NULL &&
		    strcmp(d->message_id, ids[i]) == 0)
			in_order++;
		CU_ASSERT_EQUAL(lc_bus_ack(con, d, &err), LC_OK);
		lc_bus_delivery_free(&d);
	}
	CU_ASSERT_EQUAL(i, N);
	CU_ASSERT_EQUAL(in_order, N);
	CU_ASSERT_EQUAL(poll_one(con, EMPTY_MS, &d), LC_ERR_TIMEOUT);
	lc_bus_free(&con);
	lc_bus_free(&pub);
	drop(ex, q);
}

/* Check s until its confirms are in (or POLL_MS passed). */
static lc_rc sent_wait(lc_bus_t *bus, lc_bus_sent_t *s, lc_err_t *err)
{
	int64_t until = now_ms() + POLL_MS;
	lc_rc rc;

	while ((rc = lc_bus_sent_check(bus, s, 100, -1, err)) == LC_ERR_TIMEOUT && now_ms() < until)
		;
	return rc;
}

/* lc_bus_send: three batches on the wire before any of their confirms is awaited; each is
 * confirmed on its own and the consumer gets them in order. Then a batch the broker refuses (a
 * missing exchange: it closes the channel) and one sent behind it on that channel: the first is
 * NOT_FOUND, the second cannot be confirmed any more (UNAVAILABLE, not a wait); sent again, it
 * is, and arrives once. One confirmed before the refusal stays confirmed. */
static void test_pipelined_batches_confirm_in_order_and_a_refused_one_fails_those_behind(void)
{
	enum { B = 3, N = 50 };
	const char *ex = name("pipe-ex"), *q = name("pipe-q");
	lc_bus_t *pub = bus_open(shared_url), *con = bus_open(shared_url);
	static char bodies[B][N][32];
	lc_bus_msg_t msgs[B][N];
	lc_bus_msg_t bad = { "lc-test-bus-no-such-exchange", "p", "{}", 2, NULL, false };
	lc_bus_msg_t before = { ex, "p", "{\"before\":1}", 12, "before-1", true };
	lc_bus_msg_t after = { ex, "p", "{\"after\":1}", 11, "after-1", false };
	lc_bus_sent_t *s[B] = { NULL }, *refused = NULL, *behind = NULL;
	lc_bus_delivery_t *d = NULL;
	lc_err_t err;
	int b, i, in_order = 0;

	CU_ASSERT_FATAL(pub != NULL && con != NULL);
	CU_ASSERT_FATAL(topology(pub, ex, q, "p"));
	for (b = 0; b < B; b++)
		for (i = 0; i < N; i++) {
			snprintf(bodies[b][i], sizeof(bodies[b][i]), "{\"b\":%d,\"i\":%d}", b, i);
			msgs[b][i] = (lc_bus_msg_t){ ex, "p", bodies[b][i], strlen(bodies[b][i]),
						     NULL, false };
		}
	for (b = 0; b < B; b++)
		CU_ASSERT_EQUAL_FATAL(lc_bus_send(pub, msgs[b], N, &s[b], &err), LC_OK);
	for (b = 0; b < B; b++) {
		CU_ASSERT_EQUAL(sent_wait(pub, s[b], &err), LC_OK);
		lc_bus_sent_free(&s[b]);
		CU_ASSERT_PTR_NULL(s[b]);
	}
	CU_ASSERT_EQUAL(lc_bus_consume(con, q, 200, &err), LC_OK);
	for (i = 0; i < B * N; i++) {
		if (poll_one(con, POLL_MS, &d) != LC_OK)
			break;
		if (strcmp(d->body, bodies[i / N][i % N]) == 0)
			in_order++;
		CU_ASSERT_EQUAL(lc_bus_ack(con, d, &err), LC_OK);
		lc_bus_delivery_free(&d);
	}
	CU_ASSERT_EQUAL(in_order, B * N);

	/* before: confirmed (transient: once routed) well before the refusal closes the channel;
	 * its confirm, read while checking the refused batch, still counts after the close. */
	CU_ASSERT_EQUAL_FATAL(lc_bus_send(pub, &before, 1, &s[0], &err), LC_OK);
	usleep(300 * 1000);
	CU_ASSERT_EQUAL_FATAL(lc_bus_send(pub, &bad, 1, &refused, &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(lc_bus_send(pub, &after, 1, &behind, &err), LC_OK);
	CU_ASSERT_EQUAL(sent_wait(pub, refused, &err), LC_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "404"));
	CU_ASSERT_EQUAL(sent_wait(pub, behind, &err), LC_ERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(sent_wait(pub, s[0], &err), LC_OK);
	lc_bus_sent_free(&s[0]);
	lc_bus_sent_free(&refused);
	lc_bus_sent_free(&behind);
	CU_ASSERT_EQUAL_FATAL(lc_bus_send(pub, &after, 1, &behind, &err), LC_OK);
	CU_ASSERT_EQUAL(sent_wait(pub, behind, &err), LC_OK);
	/* Freed after its bus: it forgot the bus when the bus went. */
	lc_bus_free(&pub);
	lc_bus_sent_free(&behind);
	CU_ASSERT_EQUAL_FATAL(poll_one(con, POLL_MS, &d), LC_OK);
	CU_ASSERT_STRING_EQUAL(d->body, "{\"before\":1}");
	CU_ASSERT_EQUAL(lc_bus_ack(con, d, &err), LC_OK);
	lc_bus_delivery_free(&d);
	CU_ASSERT_EQUAL_FATAL(poll_one(con, POLL_MS, &d), LC_OK);
	CU_ASSERT_STRING_EQUAL(d->body, "{\"after\":1}");
	CU_ASSERT_EQUAL(lc_bus_ack(con, d, &err), LC_OK);
	lc_bus_delivery_free(&d);
	CU_ASSERT_EQUAL(poll_one(con, EMPTY_MS, &d), LC_ERR_TIMEOUT);
	lc_bus_free(&con);
	drop(ex, q);
}

static void test_unbound_key_no_longer_routes(void)
{
	const char *ex = name("unbind-ex"), *q = name("unbind-q");
	lc_bus_t *bus = bus_open(shared_url);
	lc_bus_delivery_t *d = NULL;
	lc_err_t err;

	CU_ASSERT_FATAL(bus != NULL);
	CU_ASSERT_FATAL(topology(bus, ex, q, "keep"));
	CU_ASSERT_EQUAL(lc_bus_bind(bus, q, ex, "gone", &err), LC_OK);
	CU_ASSERT_EQUAL(lc_bus_unbind(bus, q, ex, "gone", &err), LC_OK);
	/* Unroutable messages are still confirmed (no mandatory flag): they just vanish. */
	CU_ASSERT_EQUAL(publish(bus, ex, "gone", "{\"k\":\"gone\"}", NULL), LC_OK);
	CU_ASSERT_EQUAL(publish(bus, ex, "keep", "{\"k\":\"keep\"}", NULL), LC_OK);
	CU_ASSERT_EQUAL(lc_bus_consume(bus, q, 10, &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(poll_one(bus, POLL_MS, &d), LC_OK);
	CU_ASSERT_STRING_EQUAL(d->body, "{\"k\":\"keep\"}");
	CU_ASSERT_EQUAL(lc_bus_ack(bus, d, &err), LC_OK);
	lc_bus_delivery_free(&d);
	CU_ASSERT_EQUAL(poll_one(bus, EMPTY_MS, &d), LC_ERR_TIMEOUT);
	lc_bus_free(&bus);
	drop(ex, q);
}

static void test_publish_to_missing_exchange_is_not_found_and_bus_carries_on(void)
{
	const char *ex = name("missing-ex"), *q = name("missing-q");
	lc_bus_t *bus = bus_open(shared_url);
	lc_bus_delivery_t *d = NULL;
	lc_err_t err;
	uint64_t gen;

	CU_ASSERT_FATAL(bus != NULL);
	CU_ASSERT_FATAL(topology(bus, ex, q, "k"));
	CU_ASSERT_EQUAL(lc_bus_consume(bus, q, 10, &err), LC_OK);
	gen = lc_bus_generation(bus);
	CU_ASSERT_EQUAL(lc_bus_publish(bus, "lc-test-bus-no-such-exchange", "k", "{}", 2, NULL, &err),
			LC_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "404"));
	/* The channel is re-opened (a new generation) and the consumer re-registered. */
	CU_ASSERT_EQUAL(publish(bus, ex, "k", "{\"after\":\"404\"}", NULL), LC_OK);
	CU_ASSERT(lc_bus_generation(bus) > gen);
	CU_ASSERT_EQUAL_FATAL(poll_one(bus, POLL_MS, &d), LC_OK);
	CU_ASSERT_STRING_EQUAL(d->body, "{\"after\":\"404\"}");
	CU_ASSERT_EQUAL(lc_bus_ack(bus, d, &err), LC_OK);
	lc_bus_delivery_free(&d);
	lc_bus_free(&bus);
	drop(ex, q);
}

/* Bind q (declared by the caller) to a fresh direct exchange ex with key. */
static bool bind_to(lc_bus_t *bus, const char *ex, const char *q, const char *key)
{
	lc_err_t err;

	if (lc_bus_declare_exchange(bus, ex, "direct", false, &err) != LC_OK ||
	    lc_bus_bind(bus, q, ex, key, &err) != LC_OK) {
		fprintf(stderr, "\n  bind_to: %s\n", err.reason);
		return false;
	}
	return true;
}

static void test_queue_arguments_take_effect_and_other_arguments_conflict(void)
{
	const char *ex = name("args-ex"), *q = name("args-q");
	const lc_bus_arg_t limit[] = {
		{ .key = "x-max-length", .type = LC_BUS_ARG_INT, .i = 2 },
		{ .key = "x-overflow", .type = LC_BUS_ARG_STRING, .s = "reject-publish" },
	};
	const lc_bus_arg_t other[] = { { .key = "x-max-length", .type = LC_BUS_ARG_INT, .i = 3 } };
	const lc_bus_arg_t bad_type[] = { { .key = "x-max-length", .type = 0 } };
	const lc_bus_arg_t no_key[] = { { .key = NULL, .type = LC_BUS_ARG_BOOL, .b = true } };
	const lc_bus_arg_t no_string[] = { { .key = "x-overflow", .type = LC_BUS_ARG_STRING } };
	lc_bus_t *bus = bus_open(shared_url);
	lc_err_t err;

	CU_ASSERT_FATAL(bus != NULL);
	CU_ASSERT_EQUAL_FATAL(lc_bus_declare_queue_args(bus, q, false, false, false, limit, 2, &err),
			      LC_OK);
	CU_ASSERT_FATAL(bind_to(bus, ex, q, "k"));
	/* Two fit; the broker refuses the third (x-overflow reject-publish: a nack). */
	CU_ASSERT_EQUAL(publish(bus, ex, "k", "{\"n\":1}", NULL), LC_OK);
	CU_ASSERT_EQUAL(publish(bus, ex, "k", "{\"n\":2}", NULL), LC_OK);
	CU_ASSERT_EQUAL(lc_bus_publish(bus, ex, "k", "{\"n\":3}", 7, NULL, &err), LC_ERR_UNAVAILABLE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "rejected"));
	/* Other arguments for the same queue: 406 PRECONDITION_FAILED, and the bus carries on. */
	CU_ASSERT_EQUAL(lc_bus_declare_queue_args(bus, q, false, false, false, other, 1, &err),
			LC_ERR_CONFLICT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "406"));
	CU_ASSERT_EQUAL(lc_bus_declare_queue(bus, q, false, false, false, &err), LC_ERR_CONFLICT);
	CU_ASSERT_EQUAL(lc_bus_declare_queue_args(bus, q, false, false, false, limit, 2, &err), LC_OK);
	/* Arguments the bus refuses before asking the broker. */
	CU_ASSERT_EQUAL(lc_bus_declare_queue_args(bus, q, false, false, false, bad_type, 1, &err),
			LC_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(err.field, "args");
	CU_ASSERT_EQUAL(lc_bus_declare_queue_args(bus, q, false, false, false, no_key, 1, &err),
			LC_ERR_INVALID);
	CU_ASSERT_EQUAL(lc_bus_declare_queue_args(bus, q, false, false, false, no_string, 1, &err),
			LC_ERR_INVALID);
	CU_ASSERT_EQUAL(lc_bus_declare_queue_args(bus, q, false, false, false, NULL, 1, &err),
			LC_ERR_INVALID);
	CU_ASSERT_EQUAL(lc_bus_declare_queue_args(bus, q, false, false, false, limit,
						  LC_BUS_ARG_MAX + 1, &err), LC_ERR_INVALID);
	lc_bus_free(&bus);
	drop(ex, q);
}

/* A lease: one connection holds it, the others see it held and cannot take it nor give it back;
 * it is free once given back or once its connection closes. A refused claim or release touches
 * nothing else of its connection: a consumer there (of an auto-delete queue, which a closed
 * channel would delete) still gets its messages, and the generation does not move. */
static void test_lease_is_held_by_one_connection_until_given_back_or_closed(void)
{
	const char *ex = name("lease-ex"), *q = name("lease-q"), *lease = name("lease");
	lc_bus_t *a = bus_open(shared_url), *b = bus_open(shared_url), *c = bus_open(shared_url);
	lc_bus_delivery_t *d = NULL;
	uint32_t msgs = 0, cons = 0;
	lc_err_t err;

	CU_ASSERT_FATAL(a != NULL && b != NULL && c != NULL);
	/* b consumes an exclusive auto-delete queue, as a node consumes its own. */
	CU_ASSERT_FATAL(lc_bus_declare_exchange(b, ex, "topic", false, &err) == LC_OK);
	CU_ASSERT_FATAL(lc_bus_declare_queue(b, q, false, true, true, &err) == LC_OK);
	CU_ASSERT_FATAL(lc_bus_bind(b, q, ex, "k", &err) == LC_OK);
	CU_ASSERT_FATAL(lc_bus_consume(b, q, 10, &err) == LC_OK);
	uint64_t gen = lc_bus_generation(b);

	CU_ASSERT_EQUAL(lc_bus_queue_counts(c, lease, &msgs, &cons, &err), LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(lc_bus_claim_queue(a, lease, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_bus_claim_queue(b, lease, &err), LC_ERR_CONFLICT);
	CU_ASSERT_EQUAL(lc_bus_release_queue(b, lease, &err), LC_ERR_CONFLICT);
	CU_ASSERT_EQUAL(lc_bus_queue_counts(c, lease, &msgs, &cons, &err), LC_ERR_CONFLICT);
	/* The refused connection goes on: same generation, its consumer still gets what comes. */
	CU_ASSERT_EQUAL(publish(c, ex, "k", "{\"n\":1}", NULL), LC_OK);
	CU_ASSERT_EQUAL(poll_one(b, 5000, &d), LC_OK);
	CU_ASSERT_EQUAL(lc_bus_generation(b), gen);
	if (d != NULL) {
		CU_ASSERT_EQUAL(lc_bus_ack(b, d, &err), LC_OK);
		lc_bus_delivery_free(&d);
	}
	/* The holder may claim it again; given back, it is free for another. */
	CU_ASSERT_EQUAL(lc_bus_claim_queue(a, lease, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_bus_release_queue(a, lease, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_bus_queue_counts(c, lease, &msgs, &cons, &err), LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(lc_bus_claim_queue(b, lease, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_bus_claim_queue(a, lease, &err), LC_ERR_CONFLICT);
	/* Its connection closed: free again. */
	lc_bus_free(&b);
	CU_ASSERT_EQUAL(lc_bus_queue_counts(c, lease, &msgs, &cons, &err), LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(lc_bus_claim_queue(a, lease, &err), LC_OK);
	lc_bus_free(&a);
	CU_ASSERT_EQUAL(lc_bus_delete_exchange(c, ex, &err), LC_OK);
	lc_bus_free(&c);
}

/* Poll c until nothing comes for EMPTY_MS; count what came (not acked), keep the first. */
static int drain_count(lc_bus_t *c, lc_bus_delivery_t **first)
{
	lc_bus_delivery_t *d = NULL;
	int n = 0;

	while (poll_one(c, EMPTY_MS, &d) == LC_OK) {
		if (n++ == 0 && first != NULL)
			*first = d;
		else
			lc_bus_delivery_free(&d);
	}
	return n;
}

static void test_single_active_consumer_gets_everything_and_the_next_takes_over(void)
{
	const char *ex = name("sac-ex"), *q = name("sac-q");
	const lc_bus_arg_t sac[] = { { .key = "x-single-active-consumer", .type = LC_BUS_ARG_BOOL,
				       .b = true } };
	lc_bus_t *pub = bus_open(shared_url), *c1 = bus_open(shared_url), *c2 = bus_open(shared_url);
	lc_bus_delivery_t *d = NULL;
	lc_err_t err;
	int i;

	CU_ASSERT_FATAL(pub != NULL && c1 != NULL && c2 != NULL);
	CU_ASSERT_EQUAL_FATAL(lc_bus_declare_queue_args(pub, q, false, false, false, sac, 1, &err),
			      LC_OK);
	CU_ASSERT_FATAL(bind_to(pub, ex, q, "k"));
	/* Both consume (each declares the queue the same way first); the first one is active. */
	CU_ASSERT_EQUAL(lc_bus_declare_queue_args(c1, q, false, false, false, sac, 1, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_bus_consume(c1, q, 100, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_bus_declare_queue_args(c2, q, false, false, false, sac, 1, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_bus_consume(c2, q, 100, &err), LC_OK);
	for (i = 0; i < 6; i++) {
		char body[16];

		snprintf(body, sizeof(body), "{\"i\":%d}", i);
		CU_ASSERT_EQUAL(publish(pub, ex, "k", body, NULL), LC_OK);
	}
	CU_ASSERT_EQUAL(drain_count(c1, NULL), 6);
	CU_ASSERT_EQUAL(poll_one(c2, EMPTY_MS, &d), LC_ERR_TIMEOUT);
	/* The active consumer goes away without acking: the broker hands everything, in order, to
	 * the other one. */
	lc_bus_free(&c1);
	CU_ASSERT_EQUAL(drain_count(c2, &d), 6);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(d->body, "{\"i\":0}");
	CU_ASSERT_TRUE(d->redelivered);
	lc_bus_delivery_free(&d);
	lc_bus_free(&c2);
	lc_bus_free(&pub);
	drop(ex, q);
}

static void test_bad_arguments_are_invalid_not_crashes(void)
{
	lc_bus_t *bus = bus_open(shared_url);
	lc_bus_delivery_t *d = NULL;
	lc_err_t err;
	char longname[300];

	CU_ASSERT_FATAL(bus != NULL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CU_ASSERT_EQUAL(lc_bus_declare_queue(bus, "", false, false, false, &err), LC_ERR_INVALID);
	CU_ASSERT_EQUAL(lc_bus_declare_queue(bus, NULL, false, false, false, &err), LC_ERR_INVALID);
	CU_ASSERT_EQUAL(lc_bus_declare_queue(bus, longname, false, false, false, &err),
			LC_ERR_INVALID);
	CU_ASSERT_EQUAL(lc_bus_declare_exchange(bus, "lc-test-bus-x", "bogus", false, &err),
			LC_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(err.field, "type");
	CU_ASSERT_EQUAL(lc_bus_bind(bus, "q", NULL, "k", &err), LC_ERR_INVALID);
	CU_ASSERT_EQUAL(lc_bus_publish(bus, NULL, "k", "{}", 2, NULL, &err), LC_ERR_INVALID);
	CU_ASSERT_EQUAL(lc_bus_publish(bus, "", "k", NULL, 5, NULL, &err), LC_ERR_INVALID);
	CU_ASSERT_EQUAL(lc_bus_ack(bus, NULL, &err), LC_ERR_INVALID);
	CU_ASSERT_EQUAL(lc_bus_consume(bus, "", 1, &err), LC_ERR_INVALID);
	/* Consuming a queue that does not exist: the broker's 404, and the bus still works. */
	CU_ASSERT_EQUAL(lc_bus_consume(bus, "lc-test-bus-no-such-queue", 1, &err), LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(poll_one(bus, 200, &d), LC_ERR_TIMEOUT);
	lc_bus_free(&bus);
	lc_bus_free(&bus);      /* NULL is fine */
}

/* amqps:// is taken (TLS on connect, tests/api/backend-tls.test.mjs); TLS files that cannot be used
 * are refused at once, naming the key. */
static void test_amqps_url_accepted_bad_tls_files_invalid(void)
{
	lc_bus_tls_t tls = { .ca_file = "/nonexistent/ca.pem" };
	lc_err_t err;
	lc_bus_t *bus = lc_bus_new("amqps://u:p@localhost/", &err);

	CU_ASSERT_PTR_NOT_NULL(bus);
	lc_bus_free(&bus);
	CU_ASSERT_PTR_NULL(lc_bus_new_tls("amqps://localhost/", &tls, &err));
	CU_ASSERT_EQUAL(err.code, LC_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(err.field, "amqp_tls_ca");
	tls = (lc_bus_tls_t){ .cert_file = "/etc/hostname" };
	CU_ASSERT_PTR_NULL(lc_bus_new_tls("amqps://localhost/", &tls, &err));
	CU_ASSERT_EQUAL(err.code, LC_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(err.field, "amqp_tls_key");
	tls = (lc_bus_tls_t){ .ca_file = "", .cert_file = "", .key_file = "" };
	bus = lc_bus_new_tls("amqps://localhost/", &tls, &err);
	CU_ASSERT_PTR_NOT_NULL(bus);
	lc_bus_free(&bus);
}

static void test_malformed_url_gives_null_and_invalid(void)
{
	static const char *const bad[] = {
		"", "http://127.0.0.1:5672/", "amqp://127.0.0.1:notaport/", "amqp://127.0.0.1:99999/",
		"amqpx://127.0.0.1/", "127.0.0.1:5672", "amqp://[::1/",
	};
	size_t i;
	lc_err_t err;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lc_bus_t *bus = lc_bus_new(bad[i], &err);

		CU_ASSERT_PTR_NULL(bus);
		CU_ASSERT_EQUAL(err.code, LC_ERR_INVALID);
		if (bus != NULL || err.code != LC_ERR_INVALID)
			fprintf(stderr, "\n  accepted: %s\n", bad[i]);
		lc_bus_free(&bus);
	}
	CU_ASSERT_PTR_NULL(lc_bus_new(NULL, &err));
	CU_ASSERT_EQUAL(err.code, LC_ERR_INVALID);
}

/* A loopback port nobody listens on (bound, then closed). */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void test_closed_port_is_unavailable_at_once(void)
{
	char url[64];
	lc_bus_t *bus;
	lc_err_t err;
	int64_t t0;
	int port = free_port();

	CU_ASSERT_FATAL(port > 0);
	snprintf(url, sizeof(url), "amqp://guest:guest@127.0.0.1:%d/", port);
	bus = bus_open(url);    /* connects lazily: a daemon may start before its broker */
	CU_ASSERT_FATAL(bus != NULL);
	CU_ASSERT_FALSE(lc_bus_is_connected(bus));
	t0 = now_ms();
	CU_ASSERT_EQUAL(lc_bus_connect(bus, &err), LC_ERR_UNAVAILABLE);
	fprintf(stderr, "\n  [refused in %lld ms: %s]", (long long)(now_ms() - t0), err.reason);
	/* Within the backoff window the next calls fail without touching the network. */
	CU_ASSERT_EQUAL(lc_bus_publish(bus, "x", "k", "{}", 2, NULL, &err), LC_ERR_UNAVAILABLE);
	/* Declarations made meanwhile are kept for the connect that will come. */
	CU_ASSERT_EQUAL(lc_bus_declare_queue(bus, "lc-test-bus-later", false, false, false, &err),
			LC_ERR_UNAVAILABLE);
	CU_ASSERT_FALSE(lc_bus_is_connected(bus));
	CU_ASSERT_EQUAL(lc_bus_generation(bus), 0);
	lc_bus_free(&bus);
}

/* The default reconnect backoff stops doubling at 2 s: a broker back after an outage is found
 * again within ~2 s (issue 11, item 16), however long it was away. */
static void test_reconnect_backoff_is_capped_at_two_seconds(void)
{
	char url[64];
	lc_err_t err;
	long long next = 0, most = 0;
	int port = free_port();

	CU_ASSERT_FATAL(port > 0);
	snprintf(url, sizeof(url), "amqp://guest:guest@127.0.0.1:%d/", port);
	lc_bus_t *bus = bus_open(url);
	CU_ASSERT_FATAL(bus != NULL);
	/* Failed attempts: 100, 200, 400, 800, 1600 ms, then the cap (5 s before the fix). */
	for (int i = 0; i < 7; i++) {
		CU_ASSERT_EQUAL(lc_bus_connect(bus, &err), LC_ERR_UNAVAILABLE);
		CU_ASSERT_EQUAL(lc_bus_publish(bus, "x", "k", "{}", 2, NULL, &err), LC_ERR_UNAVAILABLE);
		const char *at = strstr(err.reason, "next attempt in ");
		CU_ASSERT_FATAL(at != NULL);
		next = atoll(at + strlen("next attempt in "));
		most = next > most ? next : most;
		long long ms = next + 5;
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "\n  [longest backoff after 7 failures: %lld ms]", most);
	CU_ASSERT(most > 1000);
	CU_ASSERT(most <= 2000);
	lc_bus_free(&bus);
}

static void test_silent_listener_fails_after_the_handshake_timeout(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char url[64];
	lc_bus_t *bus;
	lc_err_t err;
	int64_t t0, took;

	/* Listens (the kernel completes the TCP handshake) but never speaks AMQP. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
			listen(fd, 4) == 0 && getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	snprintf(url, sizeof(url), "amqp://guest:guest@127.0.0.1:%d/", ntohs(sa.sin_port));
	bus = bus_open(url);
	CU_ASSERT_FATAL(bus != NULL);
	t0 = now_ms();
	CU_ASSERT_EQUAL(lc_bus_connect(bus, &err), LC_ERR_UNAVAILABLE);
	took = now_ms() - t0;
	fprintf(stderr, "\n  [silent broker given up after %lld ms: %s]", (long long)took, err.reason);
	/* Not a timing goal: proof that the wait is bounded at all (5 s handshake timeout). */
	CU_ASSERT(took < 30000);
	lc_bus_free(&bus);
	close(fd);
}

static void test_wrong_password_is_unauthorized(void)
{
	char url[256];
	const char *at = strchr(shared_url, '@');
	lc_bus_t *bus;
	lc_err_t err;

	CU_ASSERT_FATAL(at != NULL);
	snprintf(url, sizeof(url), "amqp://guest:wrong-password%s", at);
	bus = bus_open(url);
	CU_ASSERT_FATAL(bus != NULL);
	CU_ASSERT_EQUAL(lc_bus_connect(bus, &err), LC_ERR_UNAUTHORIZED);
	CU_ASSERT_PTR_NULL(strstr(err.reason, "wrong-password"));
	lc_bus_free(&bus);
}

/* ---- the broker-restart suite: a private node ---- */

static char node_dir[128];
static char node_url[96];
static bool node_up;

static int node(const char *cmd)
{
	char line[512];
	int rc;

	snprintf(line, sizeof(line), "sh '%s' %s '%s'", LC_BUS_NODE_SCRIPT, cmd, node_dir);
	rc = system(line);
	if (rc != 0)
		fprintf(stderr, "\n  rabbit-node.sh %s failed (%d)\n", cmd, rc);
	return rc;
}

static int node_port, node_dist;

static int node_start(void)
{
	char line[512];

	snprintf(line, sizeof(line), "sh '%s' start '%s' %d %d %ld", LC_BUS_NODE_SCRIPT, node_dir,
		 node_port, node_dist, (long)getpid());
	if (system(line) != 0) {
		fprintf(stderr, "\ntest_bus: the private RabbitMQ node did not start (%s)\n", line);
		return 1;
	}
	return 0;
}

static int restart_suite_init(void)
{
	int64_t t0 = now_ms();

	node_port = free_port();
	node_dist = free_port();
	if (node_port <= 0 || node_dist <= 0 || node_port == node_dist)
		return 1;
	snprintf(node_dir, sizeof(node_dir), "/tmp/lc-bus-node-%ld", (long)getpid());
	snprintf(node_url, sizeof(node_url), "amqp://guest:guest@127.0.0.1:%d/", node_port);
	if (node_start() != 0) {
		node("stop");
		return 1;
	}
	node_up = true;
	fprintf(stderr, "\n  [private node on port %d up in %lld ms]", node_port,
		(long long)(now_ms() - t0));
	return 0;
}

static int restart_suite_cleanup(void)
{
	if (node_dir[0] != '\0')
		node("stop");
	node_up = false;
	return 0;
}

/* The transient topology of the restart tests; the queue has an argument, which the replay must
 * declare again. */
static const lc_bus_arg_t restart_args[] = {
	{ .key = "x-max-length", .type = LC_BUS_ARG_INT, .i = 1000 }
};

static bool restart_topology(lc_bus_t *bus)
{
	lc_err_t err;

	if (lc_bus_declare_queue_args(bus, "lc-restart-q", false, false, false, restart_args, 1,
				      &err) != LC_OK) {
		fprintf(stderr, "\n  restart topology: %s\n", err.reason);
		return false;
	}
	return bind_to(bus, "lc-restart-ex", "lc-restart-q", "a");
}

/* Break the broker with `down`, bring it back with `up` (NULL: start the node again), and check
 * that a publisher and a consumer that were busy before carry on without help. */
static void survive(const char *down, const char *up)
{
	lc_bus_t *pub = bus_open(node_url), *con = bus_open(node_url), *chk;
	lc_bus_delivery_t *d1 = NULL, *d = NULL;
	lc_err_t err;
	lc_rc rc;
	int64_t t0, deadline;
	bool after_seen = false, unbound_seen = false;
	uint64_t gen1;

	CU_ASSERT_FATAL(node_up && pub != NULL && con != NULL);
	lc_bus_set_backoff(pub, 50, 500);
	lc_bus_set_backoff(con, 50, 500);
	/* Transient exchange and queue: the restarted broker forgets them, only replay brings
	 * them back. The unbound key must stay unbound after the replay. */
	CU_ASSERT_FATAL(restart_topology(pub));
	CU_ASSERT_EQUAL(lc_bus_bind(pub, "lc-restart-q", "lc-restart-ex", "b", &err), LC_OK);
	CU_ASSERT_EQUAL(lc_bus_unbind(pub, "lc-restart-q", "lc-restart-ex", "b", &err), LC_OK);
	CU_ASSERT_FATAL(restart_topology(con));
	CU_ASSERT_EQUAL(lc_bus_consume(con, "lc-restart-q", 10, &err), LC_OK);
	CU_ASSERT_EQUAL(publish(pub, "lc-restart-ex", "a", "{\"m\":\"before\"}", NULL), LC_OK);
	CU_ASSERT_EQUAL_FATAL(poll_one(con, POLL_MS, &d1), LC_OK);
	gen1 = d1->gen;

	t0 = now_ms();
	CU_ASSERT_EQUAL_FATAL(node(down), 0);
	/* The consumer learns of it (connection.close from the broker, or EOF). */
	deadline = now_ms() + 20000;
	do
		rc = lc_bus_poll(con, 1000, &d, &err);
	while (rc == LC_ERR_TIMEOUT && now_ms() < deadline);
	CU_ASSERT_EQUAL(rc, LC_ERR_UNAVAILABLE);
	CU_ASSERT_FALSE(lc_bus_is_connected(con));
	CU_ASSERT_EQUAL(lc_bus_publish(pub, "lc-restart-ex", "a", "{}", 2, NULL, &err),
			LC_ERR_UNAVAILABLE);
	CU_ASSERT_EQUAL_FATAL(up != NULL ? node(up) : node_start(), 0);

	/* The publisher reconnects, re-declares, and the next publish is confirmed. */
	deadline = now_ms() + 30000;
	while ((rc = lc_bus_publish(pub, "lc-restart-ex", "b", "{\"m\":\"unbound\"}", 15, NULL,
				    &err)) != LC_OK && now_ms() < deadline)
		usleep(100 * 1000);
	CU_ASSERT_EQUAL_FATAL(rc, LC_OK);
	CU_ASSERT_EQUAL(publish(pub, "lc-restart-ex", "a", "{\"m\":\"after\"}", "after-1"), LC_OK);

	/* The consumer reconnects on its own and gets the new message. */
	deadline = now_ms() + 30000;
	while (!after_seen && now_ms() < deadline) {
		rc = lc_bus_poll(con, 1000, &d, &err);
		if (rc != LC_OK)
			continue;
		if (strcmp(d->body, "{\"m\":\"after\"}") == 0) {
			after_seen = true;
			CU_ASSERT(d->gen > gen1);
			CU_ASSERT_EQUAL(d->gen, lc_bus_generation(con));
			/* The delivery from before the restart: ignored, no harm to the new channel. */
			CU_ASSERT_EQUAL(lc_bus_ack(con, d1, &err), LC_OK);
			CU_ASSERT_EQUAL(lc_bus_ack(con, d, &err), LC_OK);
		} else {
			if (strcmp(d->body, "{\"m\":\"unbound\"}") == 0)
				unbound_seen = true;
			CU_ASSERT_EQUAL(lc_bus_ack(con, d, &err), LC_OK);
		}
		lc_bus_delivery_free(&d);
	}
	fprintf(stderr, "\n  [%s survived: broker down to message consumed in %lld ms]", down,
		(long long)(now_ms() - t0));
	CU_ASSERT_TRUE(after_seen);
	CU_ASSERT_FALSE(unbound_seen);
	/* Had the stale ack reached the new channel, the broker would have closed it (406). */
	CU_ASSERT_EQUAL(poll_one(con, EMPTY_MS, &d), LC_ERR_TIMEOUT);
	CU_ASSERT_TRUE(lc_bus_is_connected(con));
	/* The replayed queue has its arguments: the same ones are accepted, none are not. */
	chk = bus_open(node_url);
	CU_ASSERT_FATAL(chk != NULL);
	CU_ASSERT_EQUAL(lc_bus_declare_queue_args(chk, "lc-restart-q", false, false, false,
						  restart_args, 1, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_bus_declare_queue(chk, "lc-restart-q", false, false, false, &err),
			LC_ERR_CONFLICT);
	lc_bus_free(&chk);
	lc_bus_delivery_free(&d1);
	lc_bus_free(&con);
	lc_bus_free(&pub);
}

static void test_broker_restart_is_survived_with_topology_redeclared(void)
{
	survive("stop_app", "start_app");
}

static void test_killed_broker_is_survived_once_it_is_back(void)
{
	survive("kill", NULL);
}

static void test_idle_publisher_reconnects_silently_after_broker_closed_it(void)
{
	lc_bus_t *pub = bus_open(node_url);
	lc_err_t err;
	uint64_t gen;

	CU_ASSERT_FATAL(node_up && pub != NULL);
	CU_ASSERT_EQUAL(lc_bus_declare_exchange(pub, "lc-idle-ex", "fanout", false, &err), LC_OK);
	CU_ASSERT_EQUAL(publish(pub, "lc-idle-ex", "", "{}", NULL), LC_OK);
	gen = lc_bus_generation(pub);
	CU_ASSERT_EQUAL_FATAL(node("close_all"), 0);
	usleep(1000 * 1000);    /* the connection.close reaches our socket */
	/* The close is noticed before publishing: a fresh connection, no error for the caller. */
	CU_ASSERT_EQUAL(publish(pub, "lc-idle-ex", "", "{\"after\":\"close\"}", NULL), LC_OK);
	CU_ASSERT(lc_bus_generation(pub) > gen);
	lc_bus_free(&pub);
}

/* The replay record through many changes (a node binds one key per widget customer and unbinds
 * it when the customer leaves): after binds, unbinds, a key bound again after its unbind and a
 * key bound twice, a new connection declares exactly the bindings held, each once. */
static void test_replay_declares_exactly_the_bindings_held_after_many_changes(void)
{
	enum { N = 2000 };
	static char keys[N][32];
	static lc_bus_msg_t msgs[N];
	static int seen[N];
	lc_bus_t *bus = bus_open(node_url);
	lc_bus_delivery_t *d = NULL;
	lc_err_t err;
	int i, fails = 0, wrong = 0, got = 0;
	uint64_t gen;

	CU_ASSERT_FATAL(node_up && bus != NULL);
	lc_bus_set_backoff(bus, 50, 500);
	/* Exclusive and auto-delete: the queue and its bindings go with the connection, so only
	 * the replay can bring them back. */
	CU_ASSERT_EQUAL_FATAL(lc_bus_declare_exchange(bus, "lc-many-ex", "topic", false, &err),
			      LC_OK);
	CU_ASSERT_EQUAL_FATAL(lc_bus_declare_queue(bus, "lc-many-q", false, true, true, &err),
			      LC_OK);
	for (i = 0; i < N; i++) {
		snprintf(keys[i], sizeof keys[i], "widget.k%05d", i);
		fails += lc_bus_bind(bus, "lc-many-q", "lc-many-ex", keys[i], &err) != LC_OK;
	}
	for (i = 1; i < N; i += 2)
		fails += lc_bus_unbind(bus, "lc-many-q", "lc-many-ex", keys[i], &err) != LC_OK;
	fails += lc_bus_bind(bus, "lc-many-q", "lc-many-ex", keys[1], &err) != LC_OK;
	fails += lc_bus_bind(bus, "lc-many-q", "lc-many-ex", keys[0], &err) != LC_OK;
	CU_ASSERT_EQUAL_FATAL(fails, 0);
	gen = lc_bus_generation(bus);
	CU_ASSERT_EQUAL_FATAL(node("close_all"), 0);
	usleep(1000 * 1000);    /* the connection.close reaches our socket */
	/* The publish finds the connection closed, connects again and replays the record first. */
	for (i = 0; i < N; i++)
		msgs[i] = (lc_bus_msg_t){ .exchange = "lc-many-ex", .routing_key = keys[i],
					  .body = keys[i], .len = strlen(keys[i]) };
	CU_ASSERT_EQUAL_FATAL(lc_bus_publish_batch(bus, msgs, N, &err), LC_OK);
	CU_ASSERT(lc_bus_generation(bus) > gen);
	CU_ASSERT_EQUAL_FATAL(lc_bus_consume(bus, "lc-many-q", 500, &err), LC_OK);
	while (poll_one(bus, EMPTY_MS, &d) == LC_OK) {
		i = strncmp(d->body, "widget.k", 8) == 0 ? atoi(d->body + 8) : -1;
		if (i >= 0 && i < N)
			seen[i]++;
		else
			wrong++;
		got++;
		CU_ASSERT_EQUAL(lc_bus_ack(bus, d, &err), LC_OK);
		lc_bus_delivery_free(&d);
	}
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT_EQUAL(got, N / 2 + 1);
	for (i = 0, fails = 0; i < N; i++)
		fails += seen[i] != (i % 2 == 0 || i == 1);
	CU_ASSERT_EQUAL(fails, 0);
	lc_bus_free(&bus);
}

static void test_frozen_broker_publish_gives_up_then_recovers(void)
{
	lc_bus_t *pub = bus_open(node_url);
	lc_err_t err;
	lc_rc rc;
	int64_t t0, took, deadline;

	CU_ASSERT_FATAL(node_up && pub != NULL);
	lc_bus_set_backoff(pub, 50, 500);
	CU_ASSERT_EQUAL(lc_bus_declare_exchange(pub, "lc-frozen-ex", "fanout", false, &err), LC_OK);
	CU_ASSERT_EQUAL(publish(pub, "lc-frozen-ex", "", "{}", NULL), LC_OK);
	CU_ASSERT_EQUAL_FATAL(node("freeze"), 0);
	t0 = now_ms();
	rc = lc_bus_publish(pub, "lc-frozen-ex", "", "{}", 2, NULL, &err);
	took = now_ms() - t0;
	fprintf(stderr, "\n  [frozen broker: publish gave up after %lld ms: %s]", (long long)took,
		err.reason);
	CU_ASSERT_EQUAL(rc, LC_ERR_UNAVAILABLE);
	CU_ASSERT(took < 60000);        /* bounded at all (10 s confirm timeout), not a goal */
	CU_ASSERT_EQUAL_FATAL(node("thaw"), 0);
	deadline = now_ms() + 30000;
	while ((rc = lc_bus_publish(pub, "lc-frozen-ex", "", "{}", 2, NULL, &err)) != LC_OK &&
	       now_ms() < deadline)
		usleep(100 * 1000);
	CU_ASSERT_EQUAL(rc, LC_OK);
	lc_bus_free(&pub);
}

static int shared_suite_init(void)
{
	shared_url = getenv("LIVECHAT_AMQP_URL");
	if (shared_url == NULL || *shared_url == '\0') {
		fprintf(stderr, "test_bus: LIVECHAT_AMQP_URL is not set (tests/test-env.sh sets it)\n");
		return 1;
	}
	return 0;
}

/* Delete whatever this run created on the shared broker, also after a test stopped halfway. */
static int shared_suite_cleanup(void)
{
	lc_bus_t *bus = lc_bus_new(shared_url, NULL);
	int i;

	if (bus == NULL)
		return 1;
	for (i = 0; i < nnames; i++) {
		size_t n = strlen(names[i]);

		if (n > 3 && strcmp(names[i] + n - 3, "-ex") == 0)
			lc_bus_delete_exchange(bus, names[i], NULL);
		else
			lc_bus_delete_queue(bus, names[i], NULL);
	}
	lc_bus_free(&bus);
	return 0;
}

int init_bus_tests(void);

int init_bus_tests(void)
{
	CU_pSuite s = CU_add_suite("bus", shared_suite_init, shared_suite_cleanup);
	CU_pSuite r;

	if (s == NULL ||
	    !CU_add_test(s, "malformed URL gives NULL and INVALID",
			 test_malformed_url_gives_null_and_invalid) ||
	    !CU_add_test(s, "amqps URL accepted, bad TLS files INVALID",
			 test_amqps_url_accepted_bad_tls_files_invalid) ||
	    !CU_add_test(s, "closed port is UNAVAILABLE at once",
			 test_closed_port_is_unavailable_at_once) ||
	    !CU_add_test(s, "reconnect backoff is capped at 2 s",
			 test_reconnect_backoff_is_capped_at_two_seconds) ||
	    !CU_add_test(s, "silent listener fails after the handshake timeout",
			 test_silent_listener_fails_after_the_handshake_timeout) ||
	    !CU_add_test(s, "wrong password is UNAUTHORIZED", test_wrong_password_is_unauthorized) ||
	    !CU_add_test(s, "bad arguments are INVALID, not crashes",
			 test_bad_arguments_are_invalid_not_crashes) ||
	    !CU_add_test(s, "published message is confirmed, consumed, gone once acked",
			 test_published_message_is_confirmed_consumed_and_gone_once_acked) ||
	    !CU_add_test(s, "wait wakes for either connection or the wake fd, times out otherwise",
			 test_wait_wakes_for_either_connection_or_the_wake_fd_and_times_out_otherwise) ||
	    !CU_add_test(s, "unacked message is redelivered to the next consumer",
			 test_unacked_message_is_redelivered_to_the_next_consumer) ||
	    !CU_add_test(s, "ack batch acks exactly the deliveries given",
			 test_ack_batch_acks_exactly_the_deliveries_given) ||
	    !CU_add_test(s, "nack with requeue redelivers, without requeue drops",
			 test_nack_with_requeue_redelivers_and_without_requeue_drops) ||
	    !CU_add_test(s, "batch of 1000 is confirmed and consumed in order",
			 test_batch_of_1000_is_confirmed_and_consumed_in_order) ||
	    !CU_add_test(s, "pipelined batches confirm in order; a refused one fails those behind",
			 test_pipelined_batches_confirm_in_order_and_a_refused_one_fails_those_behind) ||
	    !CU_add_test(s, "unbound key no longer routes", test_unbound_key_no_longer_routes) ||
	    !CU_add_test(s, "publish to a missing exchange is NOT_FOUND and the bus carries on",
			 test_publish_to_missing_exchange_is_not_found_and_bus_carries_on) ||
	    !CU_add_test(s, "queue arguments take effect; other arguments conflict",
			 test_queue_arguments_take_effect_and_other_arguments_conflict) ||
	    !CU_add_test(s, "single active consumer gets everything, the next takes over",
			 test_single_active_consumer_gets_everything_and_the_next_takes_over) ||
	    !CU_add_test(s, "a lease is held by one connection until given back or closed",
			 test_lease_is_held_by_one_connection_until_given_back_or_closed))
		return -1;
	r = CU_add_suite("bus broker restart (private node)", restart_suite_init,
			 restart_suite_cleanup);
	if (r == NULL ||
	    !CU_add_test(r, "broker restart is survived with the topology re-declared",
			 test_broker_restart_is_survived_with_topology_redeclared) ||
	    !CU_add_test(r, "killed broker (kill -9) is survived once it is back",
			 test_killed_broker_is_survived_once_it_is_back) ||
	    !CU_add_test(r, "idle publisher reconnects silently after the broker closed it",
			 test_idle_publisher_reconnects_silently_after_broker_closed_it) ||
	    !CU_add_test(r, "replay declares exactly the bindings held after many changes",
			 test_replay_declares_exactly_the_bindings_held_after_many_changes) ||
	    !CU_add_test(r, "frozen broker: publish gives up, then recovers",
			 test_frozen_broker_publish_gives_up_then_recovers))
		return -1;
	return 0;
}

int main(void)
{
	const lc_cunit_init_fn inits[] = { init_bus_tests };

	lc_log_init("test_bus", "stderr", LC_LOG_ERROR);
	return lc_cunit_run("test_bus", inits, 1);
}
