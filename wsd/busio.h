/* SPDX-License-Identifier: MIT */
/* wsd_busio: RabbitMQ for the daemon, on two threads with one lc_bus_t each.
 * - publisher: batches everything queued and publishes it with confirms; retries a failed batch
 *   after reconnecting, so a message once queued is published (maybe twice; ids dedup).
 * - consumer: declares the topology (docs/topology.md), consumes the shared inbound queue and this
 *   node's queue, and performs the binds, unbinds, acks and rejects the loop asks for.
 * Inbound deliveries go to wsd_gateway_inbound (on the consumer thread, which hands them to a
 * worker); node-queue deliveries are acked at once and handed to the loop (wsd_room_event). */
#ifndef WSD_BUSIO_H
#define WSD_BUSIO_H

#include "wsd.h"
#include "lc_bus.h"

/* Called on the publisher thread once the message is confirmed (ok) or dropped at shutdown. */
typedef void (*wsd_pub_done_fn)(wsd_t *w, void *arg, bool ok);

wsd_busio_t *wsd_busio_new(wsd_t *w, const char *url, lc_err_t *err);
/* Starts both threads. */
void wsd_busio_start(wsd_busio_t *b);
/* Stops the threads (the publisher first tries for up to 2 s to flush what is queued). */
void wsd_busio_free(wsd_busio_t **b);

/* Any thread. body is taken over (malloc'd, NUL-terminated); msg_id copied (may be NULL). */
void wsd_busio_publish(wsd_busio_t *b, const char *exchange, const char *key, char *body,
		       const char *msg_id, wsd_pub_done_fn done, void *arg);
/* Any thread: publish a JSON object (serialized; obj is not taken). Uses the "id" field as the
 * AMQP message id when present. */
void wsd_busio_publish_json(wsd_busio_t *b, const char *exchange, const char *key,
			    json_object *obj, wsd_pub_done_fn done, void *arg);
/* Any thread: bind / unbind this node's queue. done (may be NULL) runs on the loop after the
 * bind succeeded (binds are retried until they do). */
void wsd_busio_bind(wsd_busio_t *b, const char *exchange, const char *key, wsd_fn done,
		    void *arg);
void wsd_busio_unbind(wsd_busio_t *b, const char *exchange, const char *key);
/* Any thread: acknowledge / reject (no requeue) / requeue a delivery; takes it over. */
void wsd_busio_ack(wsd_busio_t *b, lc_bus_delivery_t *d);
void wsd_busio_reject(wsd_busio_t *b, lc_bus_delivery_t *d, bool requeue);
/* A wsd_pub_done_fn whose arg is an lc_bus_delivery_t: acked once the publish is confirmed
 * (what was forwarded is in the broker), else freed unacked (the broker redelivers it). */
void wsd_busio_ack_when_confirmed(wsd_t *w, void *arg, bool ok);
/* Any thread: false while this node has no connection to RabbitMQ (as the consumer last saw). */
bool wsd_busio_linked(wsd_busio_t *b);
/* True once the consumer declared everything (the node queue exists and is bound). */
bool wsd_busio_ready(wsd_busio_t *b);

#endif
