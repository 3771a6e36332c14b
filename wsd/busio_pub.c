/* SPDX-License-Identifier: MIT */
/* wsd_busio, the publisher side: wsd_busio_publish (any thread) queues a message; the publisher
 * thread takes what is queued in batches of up to PUB_BATCH_MAX, publishes each batch with
 * confirms on a connection of its own and retries a failed batch after reconnecting, then calls
 * each message's done. Also the cap on what waits (wsd_busio_full) and the latency histograms.
 * The consumer side and the bus's life are in busio.c. */
#include "config.h"
#include "busio_priv.h"
#include "lc_alloc.h"
#include "lc_log.h"

#include <stdlib.h>
#include <string.h>

#define PUB_BATCH_MAX 256

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

bool wsd_busio_full(wsd_busio_t *b)
{
	return atomic_load(&b->full);
}

void *wsd_busio_pub_main(void *arg)
{
	wsd_pub_lane_t *lane = arg;
	wsd_busio_t *b = lane->b;
	wsd_thread_set(WSD_THREAD_PUBLISHER);
	lc_err_t err;
	lc_bus_t *bus = lc_bus_new_tls(b->url, &b->tls, &err);
	pub_t *batch[PUB_BATCH_MAX];
	struct lc_mq_list taken = STAILQ_HEAD_INITIALIZER(taken);
	lc_bus_msg_t msgs[PUB_BATCH_MAX];
	int64_t stop_deadline = 0;
	bool lost = false;      /* a batch was given up: no later barrier says all went out */

	if (bus == NULL) {
		LC_ERROR("publisher: %s", err.reason);
		return NULL;
	}
	lc_bus_set_backoff(bus, 100, 2000);
	for (;;) {
		size_t n = lc_mq_take(lane->q, &taken, PUB_BATCH_MAX, true);
		if (n == 0)
			break;          /* stopping and nothing left */
		for (size_t i = 0; i < n; i++) {
			batch[i] = LC_MQ_ENTRY(STAILQ_FIRST(&taken), pub_t, item);
			STAILQ_REMOVE_HEAD(&taken, link);
		}
		size_t m = 0;   /* the batch's messages: its barriers publish nothing */
		for (size_t i = 0; i < n; i++) {
			if (batch[i]->exchange == NULL)
				continue;
			msgs[m].exchange = batch[i]->exchange;
			msgs[m].routing_key = batch[i]->key;
			msgs[m].body = batch[i]->body;
			msgs[m].len = batch[i]->len;
			msgs[m].message_id = batch[i]->msg_id;
			msgs[m].transient = lane->transient;
			m++;
		}
		/* The batches before this one are confirmed already (one thread, in order). */
		bool ok = m == 0, warned = false;
		while (!ok) {
			lc_err_clear(&err);
			int64_t t0 = lc_mono_us();
			if (lc_bus_publish_batch(bus, msgs, m, &err) == LC_OK) {
				ok = true;
				if (lane->confirm_lat != NULL)
					wsd_hist_observe(lane->confirm_lat, lc_mono_us() - t0);
				if (warned)
					LC_INFO("publisher: published again");
				break;
			}
			if (atomic_load(&b->stop)) {
				if (stop_deadline == 0)
					stop_deadline = lc_mono_ms() + 2000;
				if (lc_mono_ms() > stop_deadline)
					break;
			}
			if (!warned)
				LC_WARN("publisher: %s (retrying)", err.reason);
			warned = true;
			wsd_busio_sleep_ms(100);
		}
		lost = lost || !ok;
		int64_t now = lc_mono_us();
		for (size_t i = 0; i < n; i++) {
			bool barrier = batch[i]->exchange == NULL;
			if (ok && !barrier)
				wsd_hist_observe(lane->publish_lat, now - batch[i]->queued_us);
			if (batch[i]->done)
				batch[i]->done(b->w, batch[i]->arg, barrier ? !lost : ok);
			pub_free(batch[i]);
		}
		pub_settled(b, n);
	}
	lc_bus_free(&bus);
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
	/* The batch being published counts too: it is not confirmed yet (the drain waits for it). */
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
