/* SPDX-License-Identifier: MIT */
/* lc_bus: RabbitMQ over rabbitmq-c. One lc_bus_t is one AMQP connection with one channel and is
 * NOT thread-safe: a program uses one for publishing and another for consuming, each from one
 * thread. Declarations (exchanges, queues, bindings, consumers) are recorded and replayed after
 * every reconnect; a lost connection is re-opened with exponential backoff (100 ms .. 2 s) on the
 * next call. Messages are published persistent with publisher confirms; consumers use manual
 * acknowledgements. The topology livechat uses is in docs/topology.md; how the client behaves
 * (confirms, acks, reconnect and replay, every timeout) in docs/bus-client.md. */
#ifndef LC_BUS_H
#define LC_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lc_config.h"
#include "lc_err.h"

typedef struct lc_bus lc_bus_t;

/* One received message. Made by lc_bus_poll; wsd posts it between threads through void *, so it
 * carries a magic number checked where it comes back (LC_CAST_OBJ, lc_err.h). */
typedef struct lc_bus_delivery {
	uint32_t magic;
#define LC_BUS_DELIVERY_MAGIC 0x62646c76u
	uint64_t tag;           /* delivery tag, valid on connection generation `gen` only */
	uint64_t gen;           /* the connection generation it arrived on */
	bool redelivered;
	char *exchange;
	char *routing_key;
	char *body;             /* NUL-terminated copy of the body (len bytes before the NUL) */
	size_t len;
	char *message_id;       /* AMQP message-id property, or NULL */
} lc_bus_delivery_t;

/* url: amqp://user:pass@host:port/vhost, or amqps://... (TLS, port 5671 by default) for which
 * the system's CAs are trusted. Connects lazily (first call), so a daemon can start while the
 * broker is down. NULL + err for a malformed URL. */
lc_bus_t *lc_bus_new(const char *url, lc_err_t *err);
/* TLS settings for an amqps:// URL (ignored for amqp://): PEM file paths, NULL or "" for none.
 * The broker's certificate and host name are always verified: against ca_file's CAs, or the
 * system's when there is none. cert_file + key_file (unencrypted): a client certificate for
 * brokers that ask for one (both or neither). */
typedef struct lc_bus_tls {
	const char *ca_file;
	const char *cert_file;
	const char *key_file;
} lc_bus_tls_t;
/* lc_bus_new with TLS settings (copied; tls may be NULL). A missing or unreadable file is
 * found at the first connect: LC_ERR_INVALID naming the key. */
lc_bus_t *lc_bus_new_tls(const char *url, const lc_bus_tls_t *tls, lc_err_t *err);
/* tls from cfg's amqp_tls_ca, amqp_tls_cert, amqp_tls_key (borrowed from cfg). */
void lc_bus_tls_from_config(const lc_config_t *cfg, lc_bus_tls_t *tls);
/* lc_bus_new_tls with cfg's amqp_url and TLS keys: what every livechat program connects with. */
lc_bus_t *lc_bus_new_config(const lc_config_t *cfg, lc_err_t *err);
void lc_bus_free(lc_bus_t **bus);

/* Connect now if not connected (honours backoff). UNAVAILABLE when the broker cannot be reached. */
lc_rc lc_bus_connect(lc_bus_t *bus, lc_err_t *err);
bool lc_bus_is_connected(const lc_bus_t *bus);
/* Incremented on each successful (re)connect, and when the channel is re-opened after the
 * broker closed it (delivery tags are per channel). */
uint64_t lc_bus_generation(const lc_bus_t *bus);
/* Smallest and largest reconnect backoff in ms (tests shrink it). */
void lc_bus_set_backoff(lc_bus_t *bus, int min_ms, int max_ms);

/* Declarations: performed now when connected (or connect first) and recorded for replay.
 * type: "direct", "topic", "fanout". An empty queue name is not allowed (name queues yourself). */
lc_rc lc_bus_declare_exchange(lc_bus_t *bus, const char *name, const char *type, bool durable,
			      lc_err_t *err);
/* exclusive+auto_delete queues are for per-process queues; durable for shared ones.
 * Queue arguments: lc_bus_declare_queue_args below. */
lc_rc lc_bus_declare_queue(lc_bus_t *bus, const char *name, bool durable, bool exclusive,
			   bool auto_delete, lc_err_t *err);
/* A queue argument (x-arguments of queue.declare): a string, a 64-bit integer or a boolean. */
typedef enum lc_bus_arg_type { LC_BUS_ARG_STRING = 1, LC_BUS_ARG_INT, LC_BUS_ARG_BOOL } lc_bus_arg_type;
typedef struct lc_bus_arg {
	const char *key;        /* e.g. "x-single-active-consumer" */
	lc_bus_arg_type type;
	const char *s;          /* LC_BUS_ARG_STRING */
	int64_t i;              /* LC_BUS_ARG_INT */
	bool b;                 /* LC_BUS_ARG_BOOL */
} lc_bus_arg_t;
#define LC_BUS_ARG_MAX 16
/* lc_bus_declare_queue with arguments (args may be NULL when n is 0; at most LC_BUS_ARG_MAX).
 * The arguments are copied into the replay record. Redeclaring an existing queue with other
 * arguments is refused by the broker: LC_ERR_CONFLICT (406 PRECONDITION_FAILED), and the queue
 * keeps its old arguments. A bad key, type or string: LC_ERR_INVALID. */
lc_rc lc_bus_declare_queue_args(lc_bus_t *bus, const char *name, bool durable, bool exclusive,
				bool auto_delete, const lc_bus_arg_t *args, size_t n, lc_err_t *err);
/* Messages ready and consumers of an existing queue (a passive declare: nothing is created or
 * recorded). LC_ERR_NOT_FOUND when there is no such queue. */
lc_rc lc_bus_queue_counts(lc_bus_t *bus, const char *queue, uint32_t *messages,
			  uint32_t *consumers, lc_err_t *err);
lc_rc lc_bus_bind(lc_bus_t *bus, const char *queue, const char *exchange, const char *key,
		  lc_err_t *err);
/* Also removes the binding from the replay record. */
lc_rc lc_bus_unbind(lc_bus_t *bus, const char *queue, const char *exchange, const char *key,
		    lc_err_t *err);
lc_rc lc_bus_purge(lc_bus_t *bus, const char *queue, lc_err_t *err);
/* Deleting a queue also forgets its bindings and consumer; deleting an exchange forgets the
 * bindings to it. Deleting what does not exist is LC_OK (RabbitMQ 3.10 says delete-ok). */
lc_rc lc_bus_delete_queue(lc_bus_t *bus, const char *queue, lc_err_t *err);
lc_rc lc_bus_delete_exchange(lc_bus_t *bus, const char *name, lc_err_t *err);
/* A lease: declare the queue exclusive and auto-delete on this connection, without recording
 * it, so it lasts as long as this connection (or until lc_bus_release_queue) and a new
 * connection does not take it again by itself. LC_ERR_CONFLICT while another connection holds
 * it. Both run on a channel of their own, so a refusal (the broker closes that channel) leaves
 * the consumers, the acks and the generation alone. Others see a held lease as
 * LC_ERR_CONFLICT from lc_bus_queue_counts, a free one as LC_ERR_NOT_FOUND. */
lc_rc lc_bus_claim_queue(lc_bus_t *bus, const char *queue, lc_err_t *err);
/* Give the lease back (delete the queue); LC_OK when nobody held it, LC_ERR_CONFLICT when
 * another connection does (it keeps it). */
lc_rc lc_bus_release_queue(lc_bus_t *bus, const char *queue, lc_err_t *err);

/* Publish one persistent message and wait for the broker's confirm. message_id may be NULL.
 * LC_OK only once the broker confirmed (ack); a nack or lost connection is UNAVAILABLE and the
 * caller may retry (the message may then arrive twice: consumers dedup on message id). */
lc_rc lc_bus_publish(lc_bus_t *bus, const char *exchange, const char *routing_key,
		     const char *body, size_t len, const char *message_id, lc_err_t *err);

/* A batch: publish n messages, then wait for all confirms (faster than n round trips).
 * LC_OK only when every one was confirmed. */
typedef struct lc_bus_msg {
	const char *exchange;
	const char *routing_key;
	const char *body;
	size_t len;
	const char *message_id;
	/* Delivery mode 1 instead of persistent: the broker keeps it in memory only (a broker
	 * restart loses it) and confirms it once routed, without waiting for its disk. For what
	 * means nothing a moment later (an agent's typing). */
	bool transient;
} lc_bus_msg_t;
lc_rc lc_bus_publish_batch(lc_bus_t *bus, const lc_bus_msg_t *msgs, size_t n, lc_err_t *err);

/* Pipelined: lc_bus_send puts n (> 0) messages on the wire and returns without waiting for
 * their confirms, so that the next batch need not wait for this one's (a persistent message's
 * confirm waits for the broker's disk). *out, freed with lc_bus_sent_free (before or after the
 * bus), learns the confirms as this connection's frames are read. UNAVAILABLE when the
 * connection failed while sending (nothing is tracked then). */
typedef struct lc_bus_sent lc_bus_sent_t;
lc_rc lc_bus_send(lc_bus_t *bus, const lc_bus_msg_t *msgs, size_t n, lc_bus_sent_t **out,
		  lc_err_t *err);
/* Reads the confirms that arrived, waiting once for more (up to wait_ms, or until wake_fd, -1:
 * none, is readable). LC_OK: every message of s confirmed; LC_ERR_TIMEOUT (err untouched): some
 * not yet; UNAVAILABLE (or the code of the broker's channel.close): a message was rejected, the
 * channel or connection closed first, or the confirms took over 10 s (the connection is then
 * torn down). A batch that failed is not retried here: the caller sends it again (and the
 * batches it sent after it too, where their order matters). */
lc_rc lc_bus_sent_check(lc_bus_t *bus, lc_bus_sent_t *s, int wait_ms, int wake_fd,
			lc_err_t *err);
void lc_bus_sent_free(lc_bus_sent_t **s);

/* Start consuming queue with manual acks and the given prefetch (recorded for replay). */
lc_rc lc_bus_consume(lc_bus_t *bus, const char *queue, uint16_t prefetch, lc_err_t *err);
/* Wait up to timeout_ms for one delivery. LC_OK + *out (caller frees with lc_bus_delivery_free),
 * LC_ERR_TIMEOUT when nothing came, LC_ERR_UNAVAILABLE when the connection was lost (the next call
 * reconnects and re-declares; unacked deliveries will be redelivered by the broker). */
lc_rc lc_bus_poll(lc_bus_t *bus, int timeout_ms, lc_bus_delivery_t **out, lc_err_t *err);
/* Wait up to timeout_ms until one of the n buses (at most LC_BUS_WAIT_MAX; NULL entries are
 * skipped) may have a delivery for lc_bus_poll (or a reconnection is due, or its connection
 * failed), or until wake_fd (-1: none) is readable; one thread that consumes on several
 * connections waits on all of them at once instead of on each in turn. True when something may
 * be ready: the caller polls each bus with timeout 0 (and empties wake_fd itself). A delivery
 * that a TLS layer read ahead of the socket is seen at the timeout, not at once. */
#define LC_BUS_WAIT_MAX 4
bool lc_bus_wait(lc_bus_t *const *buses, size_t n, int wake_fd, int timeout_ms);
/* Ack / reject. A delivery from an older generation is silently ignored (LC_OK): the broker
 * already requeued it when that connection closed. */
lc_rc lc_bus_ack(lc_bus_t *bus, const lc_bus_delivery_t *d, lc_err_t *err);
lc_rc lc_bus_nack(lc_bus_t *bus, const lc_bus_delivery_t *d, bool requeue, lc_err_t *err);
/* Ack n deliveries (in any order) with as few frames as possible: one basic.ack with
 * multiple=true covers those that are the lowest unsettled deliveries of the channel (every
 * earlier one already acked or nacked), the others are acked one by one. The deliveries are only
 * read (the caller may pass copies holding just tag and gen); those of an older generation, or
 * settled already, are skipped. UNAVAILABLE when the connection broke (the broker requeues). */
lc_rc lc_bus_ack_batch(lc_bus_t *bus, const lc_bus_delivery_t *const *ds, size_t n,
		       lc_err_t *err);
void lc_bus_delivery_free(lc_bus_delivery_t **d);

#endif
