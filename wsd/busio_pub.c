/* SPDX-License-Identifier: MIT */
/* wsd_busio, the publisher side: wsd_busio_publish (any thread) queues a message; the publisher
 * thread takes what is queued in batches of up to PUB_BATCH_MAX, sends each batch with confirms
 * on a connection of its own (up to PUB_DEPTH batches on the wire at once), sends a failed batch
 * and those after it again after reconnecting, then calls each message's done in order. Also the
 * cap on what waits (wsd_busio_full) and the latency histograms.
 * The consumer side and the bus's life are in busio.c. */
#include "config.h"
#include "busio_priv.h"
#include "lc_alloc.h"
#include "lc_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PUB_BATCH_MAX 256
#define PUB_DEPTH 4     /* batches of a lane on the wire at once, confirms awaited */

/* One per publish, from any thread to a publisher lane; or a barrier (exchange NULL): nothing
 * to publish, its done runs once everything queued before it on the lane is confirmed. */
typedef struct pub {
	lc_mq_item_t item;
	char *exchange, *key, *body, *msg_id;
	size_t len;
	wsd_pub_done_fn done;
	void *arg;
	int64_t queued_us;              /* when wsd_busio_publish queued it (publish latency) */
} pub_t;

static void pub_free(pub_t *p)
{
	free(p->exchange);
	free(p->key);
	free(p->body);
	free(p->msg_id);
	free(p);
}

/* Any thread, before the push: one more message waits. The first that reaches the cap says so
 * (once per episode: until the queue drained, see pub_settled). */
static void pub_counted(wsd_busio_t *b)
{
	size_t n = atomic_fetch_add(&b->unpublished, 1) + 1;
	if (n >= b->pub_max && !atomic_exchange(&b->full, true))
		LC_WARN("publisher: %zu messages wait for RabbitMQ (wsd_publish_queue_max %zu): "
			"refusing new work (unavailable) and leaving inbound deliveries in the broker "
			"until half of them are published", n, b->pub_max);
}

/* Publisher thread: n messages were confirmed or given up. Below half the cap the episode
 * ends: the queue is far enough from the cap that taking work again does not flap. */
static void pub_settled(wsd_busio_t *b, size_t n)
{
	size_t left = atomic_fetch_sub(&b->unpublished, n) - n;
	if (left <= b->pub_max / 2 && atomic_load(&b->full) && atomic_exchange(&b->full, false))
		LC_INFO("publisher: %zu messages wait for RabbitMQ: taking new work again", left);
}

void wsd_busio_lane_wake(void *arg)
{
	wsd_pub_lane_t *lane = arg;
	uint64_t one = 1;
	if (atomic_exchange(&lane->sleeping, false))
		while (write(lane->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
			;
}

bool wsd_busio_full(wsd_busio_t *b)
{
	return atomic_load(&b->full);
}

/* ---- the publisher thread: up to PUB_DEPTH batches on the wire at once. A batch is sent as
 * soon as it is taken, without waiting for the confirms of those before it (a persistent
 * message's confirm waits for the broker's disk, and the broker delivers it before that); the
 * batches complete in order, each once all of its messages are confirmed. When one fails, it
 * and every batch after it are sent again, in order, on the next connection. */

/* One batch taken from the lane: its publishes and barriers, in order. */
typedef struct flight {
	pub_t *p[PUB_BATCH_MAX];
	size_t n;
	size_t m;                       /* its messages (a barrier publishes nothing) */
	lc_bus_sent_t *sent;            /* NULL: not on the wire (no message, or to send again) */
	int64_t sent_us;
} flight_t;

typedef struct publisher {
	wsd_pub_lane_t *lane;
	lc_bus_t *bus;
	flight_t f[PUB_DEPTH];          /* a ring: count batches from head, oldest first */
	lc_bus_msg_t msgs[PUB_BATCH_MAX];   /* the batch being sent */
	size_t head, count;
	bool failing;                   /* a batch failed: the ring waits to be sent again */
	bool warned;
	bool lost;                      /* a batch was given up: no later barrier says all went out */
	int64_t stop_deadline;
	lc_err_t err;
} publisher_t;

/* Take what the lane holds (waiting for it when nothing is in flight) as the newest batch. */
static size_t take(publisher_t *pb, bool wait)
{
	struct lc_mq_list taken = STAILQ_HEAD_INITIALIZER(taken);
	size_t n = lc_mq_take(pb->lane->q, &taken, PUB_BATCH_MAX, wait);
	if (n == 0)
		return 0;
	flight_t *f = &pb->f[(pb->head + pb->count++) % PUB_DEPTH];
	f->n = n;
	f->m = 0;
	f->sent = NULL;
	for (size_t i = 0; i < n; i++) {
		pub_t *p = LC_MQ_ENTRY(STAILQ_FIRST(&taken), pub_t, item);
		STAILQ_REMOVE_HEAD(&taken, link);
		f->p[i] = p;
		f->m += p->exchange != NULL;
	}
	return n;
}

static bool send_flight(publisher_t *pb, flight_t *f)
{
	if (f->m == 0 || f->sent != NULL)
		return true;
	size_t m = 0;
	for (size_t i = 0; i < f->n; i++) {
		pub_t *p = f->p[i];
		if (p->exchange != NULL)
			pb->msgs[m++] = (lc_bus_msg_t){ p->exchange, p->key, p->body, p->len,
							p->msg_id, pb->lane->transient };
	}
	lc_err_clear(&pb->err);
	if (lc_bus_send(pb->bus, pb->msgs, m, &f->sent, &pb->err) != LC_OK)
		return false;
	f->sent_us = lc_mono_us();
	return true;
}

/* A batch failed: none of those in flight counts as sent any more. */
static void fail_all(publisher_t *pb)
{
	for (size_t i = 0; i < pb->count; i++)
		lc_bus_sent_free(&pb->f[(pb->head + i) % PUB_DEPTH].sent);
	if (!pb->warned)
		LC_WARN("publisher: %s (retrying)", pb->err.reason);
	pb->warned = true;
	pb->failing = true;
}

/* Send every batch in flight again, oldest first; false when one failed again. */
static bool send_again(publisher_t *pb)
{
	for (size_t i = 0; i < pb->count; i++)
		if (!send_flight(pb, &pb->f[(pb->head + i) % PUB_DEPTH]))
			return false;
	pb->failing = false;
	return true;
}

/* The oldest batch is confirmed (ok) or given up: its done callbacks run. */
static void complete(publisher_t *pb, bool ok)
{
	wsd_pub_lane_t *lane = pb->lane;
	flight_t *f = &pb->f[pb->head];
	int64_t now = lc_mono_us();
	pb->lost = pb->lost || !ok;
	if (ok && f->sent != NULL && lane->confirm_lat != NULL)
		wsd_hist_observe(lane->confirm_lat, now - f->sent_us);
	lc_bus_sent_free(&f->sent);
	for (size_t i = 0; i < f->n; i++) {
		bool barrier = f->p[i]->exchange == NULL;
		if (ok && !barrier)
			wsd_hist_observe(lane->publish_lat, now - f->p[i]->queued_us);
		if (f->p[i]->done)
			f->p[i]->done(lane->b->w, f->p[i]->arg, barrier ? !pb->lost : ok);
		pub_free(f->p[i]);
	}
	pub_settled(lane->b, f->n);
	pb->head = (pb->head + 1) % PUB_DEPTH;
	pb->count--;
}

/* Wait for the oldest batch's confirms; while the ring has room, a new publish ends the wait
 * too (the lane's wake_fd: lane_wake writes it only while this thread says it sleeps). */
static void settle_oldest(publisher_t *pb)
{
	wsd_pub_lane_t *lane = pb->lane;
	flight_t *f = &pb->f[pb->head];
	if (f->sent == NULL) {
		complete(pb, true);     /* no message: every batch before it is confirmed */
		return;
	}
	bool room = pb->count < PUB_DEPTH;
	int wait_ms = 1000;
	if (room) {
		atomic_store(&lane->sleeping, true);
		if (lc_mq_length(lane->q) > 0)
			wait_ms = 0;
	}
	lc_rc rc = lc_bus_sent_check(pb->bus, f->sent, wait_ms, room ? lane->wake_fd : -1,
				     &pb->err);
	if (room && !atomic_exchange(&lane->sleeping, false)) {
		uint64_t n;
		while (read(lane->wake_fd, &n, sizeof n) < 0 && errno == EINTR)
			;
	}
	if (rc == LC_ERR_TIMEOUT)
		return;
	if (rc != LC_OK) {
		fail_all(pb);
		return;
	}
	complete(pb, true);
	if (pb->warned)
		LC_INFO("publisher: published again");
	pb->warned = false;
}

void *wsd_busio_pub_main(void *arg)
{
	wsd_pub_lane_t *lane = arg;
	wsd_busio_t *b = lane->b;
	wsd_thread_set(WSD_THREAD_PUBLISHER, lane->transient ? "wsd-pub-ephem" : "wsd-pub-stored");
	publisher_t *pb = lc_calloc(1, sizeof *pb);
	pb->lane = lane;
	pb->bus = lc_bus_new_tls(b->url, &b->tls, &pb->err);
	if (pb->bus == NULL) {
		LC_ERROR("publisher: %s", pb->err.reason);
		free(pb);
		return NULL;
	}
	lc_bus_set_backoff(pb->bus, 100, 2000);
	for (;;) {
		if (pb->count < PUB_DEPTH && take(pb, pb->count == 0) > 0 && !pb->failing &&
		    !send_flight(pb, &pb->f[(pb->head + pb->count - 1) % PUB_DEPTH]))
			fail_all(pb);
		if (pb->count == 0)
			break;          /* stopping and nothing left */
		if (!pb->failing) {
			settle_oldest(pb);
			continue;
		}
		if (atomic_load(&b->stop)) {
			if (pb->stop_deadline == 0)
				pb->stop_deadline = lc_mono_ms() + 2000;
			if (lc_mono_ms() > pb->stop_deadline) {
				while (pb->count > 0)
					complete(pb, false);
				pb->failing = false;
				continue;
			}
		}
		wsd_busio_sleep_ms(100);
		if (!send_again(pb))
			fail_all(pb);
	}
	lc_bus_free(&pb->bus);
	free(pb);
	return NULL;
}

static void publish_on(wsd_busio_t *b, int lane, const char *exchange, const char *key,
		       char *body, const char *msg_id, wsd_pub_done_fn done, void *arg)
{
	pub_t *p = lc_calloc(1, sizeof *p);
	p->exchange = lc_strdup(exchange);
	p->key = lc_strdup(key);
	p->body = body;
	p->len = body ? strlen(body) : 0;
	p->msg_id = lc_strdup(msg_id);
	p->done = done;
	p->arg = arg;
	/* Past the cap too: a publish asked for here belongs to work already accepted (a stored
	 * message, an acked delivery's forward). New work is refused upstream (wsd_busio_full). */
	pub_counted(b);
	p->queued_us = lc_mono_us();
	lc_mq_push(b->lanes[lane].q, &p->item);
}

void wsd_busio_publish(wsd_busio_t *b, const char *exchange, const char *key, char *body,
		       const char *msg_id, wsd_pub_done_fn done, void *arg)
{
	LC_ASSERT(exchange != NULL && body != NULL);
	publish_on(b, WSD_LANE_STORED, exchange, key, body, msg_id, done, arg);
}

void wsd_busio_after_queued(wsd_busio_t *b, wsd_pub_done_fn done, void *arg)
{
	publish_on(b, WSD_LANE_STORED, NULL, NULL, NULL, NULL, done, arg);
}

static char *body_of(json_object *obj, const char **id)
{
	json_object *v;
	*id = NULL;
	if (json_object_object_get_ex(obj, "id", &v) && json_object_is_type(v, json_type_string))
		*id = json_object_get_string(v);
	return lc_strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
							JSON_C_TO_STRING_NOSLASHESCAPE));
}

void wsd_busio_publish_ephemeral(wsd_busio_t *b, const char *exchange, const char *key,
				 json_object *obj)
{
	const char *id;
	char *body = body_of(obj, &id);
	publish_on(b, WSD_LANE_EPHEMERAL, exchange, key, body, id, NULL, NULL);
}

void wsd_busio_publish_json(wsd_busio_t *b, const char *exchange, const char *key,
			    json_object *obj, wsd_pub_done_fn done, void *arg)
{
	const char *id;
	char *body = body_of(obj, &id);
	wsd_busio_publish(b, exchange, key, body, id, done, arg);
}

const wsd_hist_t *wsd_busio_publish_latency(wsd_busio_t *b)
{
	return &b->publish_lat;
}

const wsd_hist_t *wsd_busio_ephemeral_latency(wsd_busio_t *b)
{
	return &b->ephemeral_lat;
}

const wsd_hist_t *wsd_busio_confirm_latency(wsd_busio_t *b)
{
	return &b->confirm_lat;
}

size_t wsd_busio_queued(wsd_busio_t *b)
{
	/* The batches in flight count too: they are not confirmed yet (the drain waits for them). */
	return atomic_load(&b->unpublished);
}


void wsd_busio_pub_drain(wsd_busio_t *b)
{
	struct lc_mq_list left = STAILQ_HEAD_INITIALIZER(left);
	for (int l = 0; l < WSD_LANES; l++)
		lc_mq_take(b->lanes[l].q, &left, SIZE_MAX, false);
	while (!STAILQ_EMPTY(&left)) {
		pub_t *p = LC_MQ_ENTRY(STAILQ_FIRST(&left), pub_t, item);
		STAILQ_REMOVE_HEAD(&left, link);
		if (p->done)
			p->done(b->w, p->arg, false);
		pub_free(p);
	}
}
