/* SPDX-License-Identifier: MIT */
/* lc_bus_priv: what the lc_bus*.c files share and nobody else sees: the bus struct, the replay
 * record (lc_bus_record.c), the connection and its errors (lc_bus_conn.c), the frames that arrive
 * while waiting for something else (lc_bus_frames.c). The public calls are in lc_bus.c. */
#ifndef LC_BUS_PRIV_H
#define LC_BUS_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/time.h>

#include <amqp.h>
#include <amqp_framing.h>

#include "lc_bus.h"
#include "lc_time.h"

#define LC_BUS_MAGIC 0x6c627573u      /* "lbus" */
#define LC_BUS_CHANNEL 1
/* The leases' own channel: a refused claim closes it, never the channel of the consumers. */
#define LC_BUS_LEASE_CHANNEL 2
#define LC_BUS_HEARTBEAT_S 10
#define LC_BUS_FRAME_MAX 131072
#define LC_BUS_CONNECT_TIMEOUT_MS 5000  /* TCP connect, and again for the AMQP handshake */
#define LC_BUS_RPC_TIMEOUT_MS 5000      /* every synchronous method (declare, qos, close ...) */
#define LC_BUS_CONFIRM_TIMEOUT_MS 10000 /* all confirms of one publish or batch */
#define LC_BUS_BACKOFF_MIN_MS 100
#define LC_BUS_BACKOFF_MAX_MS 2000      /* a broker back is found within ~2 s (issue 11, item 16) */
#define LC_BUS_NAME_MAX 255             /* AMQP short string */
#define LC_BUS_DRAIN_EVERY 128          /* batch publishing reads pending confirms this often */

typedef enum lc_bus_decl_kind {
	LC_BUS_DECL_EXCHANGE, LC_BUS_DECL_QUEUE, LC_BUS_DECL_BIND, LC_BUS_DECL_CONSUME,
	LC_BUS_DECL_KIND_COUNT_
} lc_bus_decl_kind;

/* One recorded declaration. exchange: a=name b=type; queue: a=name (+ args); bind: a=queue
 * b=exchange c=key; consume: a=queue. */
/* A queue or exchange name some declaration uses: one copy per bus, kept until it is freed
 * (a node binds one key per customer, all on the same queue and exchange). */
typedef struct lc_bus_name {
	struct lc_bus_name *next;
	char s[];
} lc_bus_name_t;

/* One record per declaration, in one allocation with its routing key (the per-customer part:
 * a node keeps one per connected customer, so its size is per connection). */
typedef struct lc_bus_decl {
	lc_bus_decl_kind kind;
	bool durable, exclusive, auto_delete;
	uint16_t prefetch;
	const char *a, *b;      /* bus->names */
	const char *c;          /* key[] or NULL */
	lc_bus_arg_t *args;     /* queue only: deep copies (keys and strings owned) */
	size_t nargs;
	char *consumer_tag;     /* consume only: set while active on the current channel */
	TAILQ_ENTRY(lc_bus_decl) link;  /* bus->decls, in declaration order */
	struct lc_bus_decl *hnext;      /* bus->index: the next in this one's bucket */
	uint32_t hash;                  /* of what identifies it (lc_bus_record.c) */
	char key[];
} lc_bus_decl_t;
TAILQ_HEAD(lc_bus_decl_list, lc_bus_decl);

typedef struct lc_bus_pending {
	lc_bus_delivery_t *d;
	struct lc_bus_pending *next;
} lc_bus_pending_t;

TAILQ_HEAD(lc_bus_sent_list, lc_bus_sent);

struct lc_bus {
	unsigned magic;
	char *url;                      /* the copy amqp_parse_url cut up; info points into it */
	struct amqp_connection_info info;
	char *tls_ca, *tls_cert, *tls_key;   /* amqps:// only; NULL: none (lc_bus_tls.c) */
	amqp_connection_state_t conn;   /* NULL when disconnected */
	bool chan_open;
	bool lease_open;                /* LC_BUS_LEASE_CHANNEL (lc_bus_claim_queue) */
	uint64_t gen;
	uint64_t next_seq;              /* publish sequence number of the next message */
	int backoff_min, backoff_max, backoff_cur;
	int64_t next_attempt_ms;
	struct lc_bus_decl_list decls;  /* in declaration order (replayed in that order) */
	lc_bus_decl_t **index;          /* decls by identity: index_cap buckets (lc_bus_record.c) */
	size_t index_cap, ndecls;
	lc_bus_name_t *names;           /* the names decls use (lc_bus_decl_name) */
	lc_bus_pending_t *pend_head, *pend_tail;
	/* Delivery tags of the current channel not acked or nacked yet, ascending: a batch of acks
	 * uses one basic.ack with multiple=true where it covers the lowest of them (lc_bus_ack_batch). */
	uint64_t *unsettled;
	size_t nunsettled, capunsettled;
	struct lc_bus_sent_list sent;   /* batches sent whose owner still waits for confirms */
};

/* ---- small helpers (lc_bus_conn.c) */
struct timeval lc_bus_ms_tv(int64_t ms);
char *lc_bus_bytes_dup(amqp_bytes_t b);

/* ---- the replay record (lc_bus_record.c): a list in declaration order with an index by
 * identity, so finding, replacing and removing a declaration costs the same however many the
 * bus holds (a node holds one binding per connected widget customer). */
void lc_bus_decl_free(lc_bus_decl_t *d);
/* An empty record (lc_bus_new). */
void lc_bus_decl_init(lc_bus_t *bus);
/* Free every record, the index and the names (lc_bus_free). */
void lc_bus_decl_clear(lc_bus_t *bus);
/* The bus's copy of a queue or exchange name (made on first use); NULL for NULL. */
const char *lc_bus_decl_name(lc_bus_t *bus, const char *name);
/* The record of kind with the same identity (exchange, queue, consume: a; bind: a, b, c). */
lc_bus_decl_t *lc_bus_decl_find(lc_bus_t *bus, lc_bus_decl_kind kind, const char *a,
				const char *b, const char *c);
void lc_bus_decl_append(lc_bus_t *bus, lc_bus_decl_t *rec);
/* Remove every record of kind whose field (0=a, 1=b) equals name; with b given, only the
 * record whose b and c match too. A binding given whole (field 0, b given) and any other kind
 * by a alone are found through the index; the rest (a queue's or an exchange's bindings, on a
 * delete) walk the record. */
void lc_bus_decl_remove(lc_bus_t *bus, lc_bus_decl_kind kind, int field, const char *name,
			const char *b, const char *c);
/* Remove the consumer whose tag the broker cancelled. */
void lc_bus_decl_remove_consumer(lc_bus_t *bus, amqp_bytes_t tag);
/* Consumer tags belong to a channel: forget them when it is gone. */
void lc_bus_decl_forget_tags(lc_bus_t *bus);
/* Copy n queue arguments into rec (validated: LC_ERR_INVALID names the bad one). */
lc_rc lc_bus_decl_set_args(lc_bus_decl_t *rec, const lc_bus_arg_t *args, size_t n,
			   lc_err_t *err);
/* Perform one declaration on the current channel. */
lc_rc lc_bus_decl_apply(lc_bus_t *bus, lc_bus_decl_t *d, lc_err_t *err);
/* Replay the record in dependency order (consumers only: after a channel re-open). */
lc_rc lc_bus_replay(lc_bus_t *bus, bool consumers_only, lc_err_t *err);

/* ---- the socket (lc_bus_tls.c) */
/* Copy the TLS file names into bus (tls may be NULL): LC_ERR_INVALID naming the key when a
 * file cannot be read or a certificate comes without its key. Free them with lc_bus_tls_clear. */
lc_rc lc_bus_tls_copy(lc_bus_t *bus, const lc_bus_tls_t *tls, lc_err_t *err);
void lc_bus_tls_clear(lc_bus_t *bus);
/* Give bus->conn a TCP or TLS socket (as the URL says) connected within timeout. */
lc_rc lc_bus_socket_open(lc_bus_t *bus, const struct timeval *timeout, lc_err_t *err);
/* A TLS status (AMQP_STATUS_SSL_*) on an amqps:// bus: replace err by a reason that says where
 * to look ("bus: <doing> host:port: TLS: ..."); any other status leaves err as it is. */
void lc_bus_tls_explain(lc_bus_t *bus, int status, const char *doing, lc_err_t *err);

/* ---- the connection (lc_bus_conn.c) */
/* Drop the connection without a goodbye (buffered deliveries go with it). */
void lc_bus_teardown(lc_bus_t *bus, const char *why);
/* Turn an RPC reply into an lc_rc, cleaning up after a closed channel or connection. */
lc_rc lc_bus_rpc_check(lc_bus_t *bus, amqp_rpc_reply_t r, const char *what, lc_err_t *err);
/* The reply of an RPC on LC_BUS_LEASE_CHANNEL: a channel.close closes that channel only. */
lc_rc lc_bus_lease_rpc(lc_bus_t *bus, const char *what, lc_err_t *err);
lc_rc lc_bus_last_rpc(lc_bus_t *bus, const char *what, lc_err_t *err);
/* The broker closed the channel / the connection: answer close-ok and map the code. */
lc_rc lc_bus_on_channel_close(lc_bus_t *bus, const amqp_channel_close_t *m, const char *what,
			      lc_err_t *err);
lc_rc lc_bus_on_connection_close(lc_bus_t *bus, const amqp_connection_close_t *m,
				 const char *what, lc_err_t *err);
/* Connected with an open channel, or an error; waits up to max_wait_ms for the backoff window. */
lc_rc lc_bus_ensure_ready(lc_bus_t *bus, int64_t max_wait_ms, lc_err_t *err);
/* Before any operation: notice what the broker said meanwhile, then (re)connect if needed. */
lc_rc lc_bus_prepare(lc_bus_t *bus, int64_t max_wait_ms, lc_err_t *err);

/* ---- settling (lc_bus.c) */
/* A delivery of the current channel came: its tag is unsettled until acked or nacked. */
void lc_bus_unsettled_add(lc_bus_t *bus, uint64_t tag);

/* ---- frames and deliveries (lc_bus_frames.c) */
lc_bus_delivery_t *lc_bus_pending_pop(lc_bus_t *bus);
void lc_bus_pending_clear(lc_bus_t *bus);
lc_bus_delivery_t *lc_bus_delivery_new(lc_bus_t *bus, uint64_t tag, bool redelivered,
				       amqp_bytes_t exchange, amqp_bytes_t routing_key,
				       const amqp_message_t *msg);
/* One asynchronous frame from the broker (a confirm reaches the batches sent, lc_bus_confirm). */
lc_rc lc_bus_handle_frame(lc_bus_t *bus, const amqp_frame_t *f, lc_err_t *err);
/* Read and handle frames for up to tv (zero: only what already arrived). LC_ERR_TIMEOUT when
 * none came; a socket error tears the connection down (UNAVAILABLE, "what: ..."). */
lc_rc lc_bus_read_frame(lc_bus_t *bus, struct timeval *tv, const char *what, lc_err_t *err);
/* Handle every frame that already arrived, without waiting. */
lc_rc lc_bus_drain_input(lc_bus_t *bus, const char *what, lc_err_t *err);

/* ---- publishing (lc_bus_publish.c) */
/* A name's checks (empty, length): LC_ERR_INVALID naming field. */
lc_rc lc_bus_check_name(const char *name, const char *field, bool allow_empty, lc_err_t *err);
/* The broker confirmed (nack: rejected) tag, or every tag up to it (multiple), on the channel
 * of the bus's current generation: marks the batches sent that hold them. */
void lc_bus_confirm(lc_bus_t *bus, uint64_t tag, bool multiple, bool nack);
/* The bus is freed: the batches sent forget it (their owner still frees them). */
void lc_bus_sent_detach_all(lc_bus_t *bus);

#endif
