/* SPDX-License-Identifier: MIT */
/* wsd_busio: RabbitMQ for the daemon, on two threads with one lc_bus_t each.
 * - publisher: batches everything queued and publishes it with confirms; retries a failed batch
 *   after reconnecting, so a message once queued is published (maybe twice; ids dedup).
 * - consumer: declares the topology (docs/topology.md), consumes the shared inbound queue and this
 *   node's queue, and performs the binds, unbinds, acks and rejects the loop asks for.
 * The bus is the bottom layer: what it receives goes up through the callbacks the layer above
 * gave wsd_busio_new (wsd_busio_ops_t), never to a module by name. Inbound deliveries go to
 * ops->inbound on the consumer thread; node-queue deliveries are acked at once and posted to the
 * loop (ops->node_event), except the room writer's answers (ops->answer, consumer thread). */
#ifndef WSD_BUSIO_H
#define WSD_BUSIO_H

#include "wsd.h"
#include "hist.h"
#include "lc_bus.h"

/* Called on the publisher thread once the message is confirmed (ok) or dropped at shutdown. */
typedef void (*wsd_pub_done_fn)(wsd_t *w, void *arg, bool ok);

/* What the layer above does with what the consumer receives (docs/topology.md, "Inside one
 * node"). Every delivery is taken over by the callback it is given to. */
typedef struct wsd_busio_ops {
	/* Loop (posted): the node queue is declared, at start or again on a new connection
	 * (events published meanwhile are lost: catch up). arg is NULL. */
	wsd_fn ready;
	/* Loop (posted): an event of the node queue, already acked; arg: lc_bus_delivery_t *. */
	wsd_fn node_event;
	/* Consumer thread: a room writer's answer to this node's command (key node.<node_id>);
	 * it may wake a worker that waits for it, so it does not go through the loop. */
	void (*answer)(wsd_t *w, lc_bus_delivery_t *d);
	/* Consumer thread: a delivery of the shared inbound queue, acked later by whoever takes
	 * it (wsd_busio_ack once it is stored and forwarded). */
	void (*inbound)(wsd_t *w, lc_bus_delivery_t *d);
	/* Consumer thread, after each poll of the inbound queue: the generation of its connection
	 * (0: not connected). A new or lost connection ends this node's turn as the active
	 * consumer (the room writer stops taking its own node's commands in process). */
	void (*inbound_gen)(wsd_t *w, uint64_t gen);
} wsd_busio_ops_t;

/* A bus for w on url (checked now: a typo stops start-up); ops (all set) must outlive it.
 * NULL and err on a bad URL. */
wsd_busio_t *wsd_busio_new(wsd_t *w, const char *url, const wsd_busio_ops_t *ops,
			   lc_err_t *err);
/* Starts its threads (the consumer and the two publisher lanes). */
void wsd_busio_start(wsd_busio_t *b);
/* Stops the threads (the publisher first tries for up to 2 s to flush what is queued). */
void wsd_busio_free(wsd_busio_t **b);

/* Any thread. body is taken over (malloc'd, NUL-terminated); msg_id copied (may be NULL). */
void wsd_busio_publish(wsd_busio_t *b, const char *exchange, const char *key, char *body,
		       const char *msg_id, wsd_pub_done_fn done, void *arg);
/* Any thread: done runs (publisher thread) once everything queued before it on the same lane
 * is confirmed, with ok false if the lane gave up any of it (at shutdown: then every later
 * barrier says false too); nothing is published for it (no broker message: cheaper than
 * publishing a marker and waiting for its confirm). */
void wsd_busio_after_queued(wsd_busio_t *b, wsd_pub_done_fn done, void *arg);
/* Any thread: publish a JSON object (serialized; obj is not taken). Uses the "id" field as the
 * AMQP message id when present. */
void wsd_busio_publish_json(wsd_busio_t *b, const char *exchange, const char *key,
			    json_object *obj, wsd_pub_done_fn done, void *arg);
/* Any thread: a frame stored nowhere (an agent's typing), on a publisher lane of its own (its
 * own connection and thread): it does not wait behind the batches and confirms of what is
 * stored, and keeps no order with them. No done: it may be lost with the connection. */
void wsd_busio_publish_ephemeral(wsd_busio_t *b, const char *exchange, const char *key,
				 json_object *obj);
/* Any thread: bind / unbind this node's queue. done (may be NULL) runs on the loop after the
 * bind succeeded (binds are retried until they do). */
void wsd_busio_bind(wsd_busio_t *b, const char *exchange, const char *key, wsd_fn done,
		    void *arg);
void wsd_busio_unbind(wsd_busio_t *b, const char *exchange, const char *key);
/* Any thread: claim (claim true) or give back this node's lease on queue (lc_bus_claim_queue)
 * on the node queue's connection, so that it lasts no longer than that connection. A claim
 * sets *held (true: taken) and then posts done(arg) to the loop; giving back has no answer.
 * Neither is retried. */
void wsd_busio_lease(wsd_busio_t *b, const char *queue, bool claim, bool *held, wsd_fn done,
		     void *arg);
/* A worker (it blocks): whether another connection holds the lease on queue, asked on a
 * connection of its own (a refused passive declare closes the channel). LC_OK: free;
 * LC_ERR_CONFLICT: held; else the broker could not be asked. */
lc_rc wsd_busio_lease_probe(wsd_busio_t *b, const char *queue, lc_err_t *err);
/* Any thread: acknowledge / reject (no requeue) / requeue a delivery; takes it over. */
void wsd_busio_ack(wsd_busio_t *b, lc_bus_delivery_t *d);
void wsd_busio_reject(wsd_busio_t *b, lc_bus_delivery_t *d, bool requeue);
/* A wsd_pub_done_fn whose arg is an lc_bus_delivery_t: acked once the publish is confirmed
 * (what was forwarded is in the broker), else freed unacked (the broker redelivers it). */
void wsd_busio_ack_when_confirmed(wsd_t *w, void *arg, bool ok);
/* Any thread: true while wsd_publish_queue_max messages (or more) wait for RabbitMQ, until half
 * of them went out: refuse new work that would publish (frames: unavailable; the consumer
 * leaves inbound deliveries in the broker meanwhile). Publishing itself never refuses. */
bool wsd_busio_full(wsd_busio_t *b);
/* Any thread: false while this node has no connection to RabbitMQ (as the consumer last saw). */
bool wsd_busio_linked(wsd_busio_t *b);
/* True once the consumer declared everything (the node queue exists and is bound). */
bool wsd_busio_ready(wsd_busio_t *b);
/* Any thread, for the metrics: the latency from wsd_busio_publish to the broker's confirm (per
 * message), and of one confirmed batch (publish + confirms); the messages waiting to be
 * published (queued, or in the batch not confirmed yet: what wsd_publish_queue_max bounds).
 * The ephemeral lane's (typing: wsd_busio_publish_ephemeral) per message, apart. */
const wsd_hist_t *wsd_busio_publish_latency(wsd_busio_t *b);
const wsd_hist_t *wsd_busio_confirm_latency(wsd_busio_t *b);
const wsd_hist_t *wsd_busio_ephemeral_latency(wsd_busio_t *b);
size_t wsd_busio_queued(wsd_busio_t *b);

#endif
