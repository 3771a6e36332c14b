/* SPDX-License-Identifier: MIT */
/* wsd_writer: the room writer (issue 8; docs/topology.md, "One writer per room"). The node that
 * is the active consumer of the inbound queue is the only one that stores messages: gateway
 * messages and the room commands of other nodes (roomcmd.h) come to its writer thread in the
 * order of the queue. It keeps the rooms it touched in memory (status, agent, the next seq of
 * a block reserved with one write), allocates seqs without a database round trip, and stores
 * what arrived within a few milliseconds with one insertMany (wsd_batch). Nothing is acked,
 * answered or forwarded before its batch is stored; while MongoDB is down the batch is held and
 * tried again, and everything behind it waits, in order. */
#ifndef WSD_WRITER_H
#define WSD_WRITER_H

#include "wsd.h"
#include "lc_bus.h"

#include <string.h>

/* Where the writer puts the outcome of one staged message (owned by the staging item). */
typedef struct wsd_wslot {
	bool staged;            /* in a batch (set by wsd_writer_stage) */
	char room_id[25];       /* the room it was staged for */
	bool done;              /* the batch was stored: rc says how it went for this message */
	lc_rc rc;               /* LC_OK: stored now or before (dup) */
	lc_err_t err;
	json_object *stored;    /* LC_OK: the stored message (the item owns it) */
	bool dup;
	int retakes;            /* times it was staged again because its seq was taken */
	/* Set by the stager: a system text whose answer need not wait for the marks and pieces
	 * (a waiting text; a join expected to carry the history from the writer's memory). Any
	 * other system text (an end, a join whose sender reads the pieces) makes them go out
	 * before the round's answers. */
	bool relaxed;
} wsd_wslot_t;

/* Seqs a room's writer reserves with one write (a block). */
#define WSD_SEQ_BLOCK 1000

/* Rounds of "a new seq, store again" for one message whose seq someone else stored (a
 * failover race: see docs/topology.md); past them it is answered unavailable (sent again). */
#define WSD_SEQ_RETAKES 5

/* err says the message's seq was stored by someone else (lc_store_msg_t.err), not that it was
 * refused: a new seq above every one handed out stores it. */
static inline bool wsd_seq_taken(lc_rc rc, const lc_err_t *err)
{
	return rc == LC_ERR_CONFLICT && strcmp(err->field, "seq") == 0;
}

/* The steps the writer runs for a gateway message (in: what the gateway layer made of the
 * delivery), registered by the layer above at start (main.c: gateway.c's), so that the writer
 * names nothing above it: prepare it (stage its messages; false: it cannot be yet, it and
 * everything behind it wait), stored (its batch is stored: answer it), drop (not stored: the
 * broker redelivers it), seq_taken (one of its staged messages met a seq taken: taken(ctx,
 * slot) stages it again; true when one did). */
typedef struct wsd_writer_ops {
	bool (*prepare)(wsd_t *w, void *in);
	void (*stored)(wsd_t *w, void *in);
	void (*drop)(wsd_t *w, void *in);
	bool (*seq_taken)(wsd_t *w, void *in, bool (*taken)(void *ctx, wsd_wslot_t *slot),
			  void *ctx);
	/* Its customer's key (wsd_workers_customer_key; a new string): the messages of one
	 * customer keep their order when one of them waits for a worker's open. */
	char *(*customer_key)(void *in);
	/* The room a worker opened or found for it (wsd_writer_open_room, wsd_writer_find_open;
	 * room taken; NULL: the customer has none open): prepared again, it goes on from there. */
	void (*opened)(void *in, json_object *room, bool created);
} wsd_writer_ops_t;

wsd_writer_t *wsd_writer_new(wsd_t *w, const wsd_writer_ops_t *ops);
void wsd_writer_start(wsd_writer_t *wr);
/* Stops the thread after its round; what it holds is not acked (the broker redelivers it).
 * Submits may still come (the consumer thread stops later): they wait, unacked, for free. */
void wsd_writer_stop(wsd_writer_t *wr);
void wsd_writer_free(wsd_writer_t **wr);

/* Consumer thread: a gateway message validated by gateway.c (in: its inbound_t), or a room
 * command (cmd: the parsed body, taken; d taken). gen: the inbound connection's generation
 * (a new one means another node may have written meanwhile: the room states are read again). */
void wsd_writer_submit_gateway(wsd_writer_t *wr, void *in, uint64_t gen);
void wsd_writer_submit_command(wsd_writer_t *wr, lc_bus_delivery_t *d, json_object *cmd);
/* Consumer thread, after each poll of the inbound queue: the generation of its connection now
 * (0: not connected). A generation other than the one the last deliveries came on means this
 * node is no longer the active consumer: local commands go through the broker again until a
 * delivery of the new connection shows it is active again. */
void wsd_writer_inbound_gen(wsd_writer_t *wr, uint64_t gen);
/* Any thread: this node's own room command (cmd: its body, taken when true) handed to the
 * writer in process, when this node is the active consumer of the inbound queue: no publish, no
 * answer through the broker. The writer serialises it with the inbound deliveries in the order
 * they reach it, answers it with wsd_roomcmd_local_answer, or, if the node stopped being the
 * active consumer before it was staged, hands it back with wsd_roomcmd_reroute. false: not
 * known to be the active consumer (cmd not taken: send it through the broker). */
bool wsd_writer_submit_local(wsd_writer_t *wr, json_object *cmd);
/* Any thread: how many room commands the writer took in process and from the broker. */
void wsd_writer_stats(wsd_writer_t *wr, uint64_t *local, uint64_t *broker);
/* Any thread: how many returning customers' opens, unknown customers' finds and recent heads
 * the writer left to workers (in that order). */
void wsd_writer_worker_reads(wsd_writer_t *wr, uint64_t reads[3]);

/* Writer thread (the steps gateway.c runs for its messages). The rooms come back as new
 * objects the caller owns. */
/* The customer's open room, or a new one (*created). A customer seen before (their open reads
 * their pointer and previous room: on FerretDB 1.24 scans that grow with the customers
 * stored) is opened on a worker instead, so that the other customers' messages do not wait
 * for it: then UNAVAILABLE and wsd_writer_parking says so; the item waits, with the later
 * messages of that customer, and is prepared again once the room is open (ops->opened). */
lc_rc wsd_writer_open_room(wsd_writer_t *wr, const char *channel, const char *customer_id,
			   const char *customer_name, json_object **room, bool *created,
			   lc_err_t *err);
/* The item being prepared waits for a worker's open (wsd_writer_open_room): not an error. */
bool wsd_writer_parking(const wsd_writer_t *wr);
/* The first customer message of a waiting room (a reference, or NULL), stored is the message
 * just stored in it: known without a read for a room this writer opened, read once otherwise
 * (lc_store_message_first_customer: a scan on FerretDB), then kept with the room. */
json_object *wsd_writer_first_message(wsd_writer_t *wr, const char *room_id, json_object *stored);
/* The customer's open room: from what the writer knows (NOT_FOUND when it knows their last
 * room closed); a customer it does not know is looked for on a worker, as a returning
 * customer's open is (then wsd_writer_parking; ops->opened gives the room, NULL: none). */
lc_rc wsd_writer_find_open(wsd_writer_t *wr, const char *channel, const char *customer_id,
			   json_object **room, lc_err_t *err);
lc_rc wsd_writer_close_room(wsd_writer_t *wr, const char *room_id, const char *reason,
			    json_object **room, lc_err_t *err);
/* Give the message the room's next seq and put it in the batch; slot gets the outcome once the
 * batch is stored. A slot already staged is left as it is (a retried item). Fails only when
 * the seq block cannot be reserved (MongoDB down) or the room is unknown. */
lc_rc wsd_writer_stage(wsd_writer_t *wr, const char *room_id, const char *msg_id,
		       const char *sender, const char *author, const char *text, int64_t ts_ms,
		       wsd_wslot_t *slot, lc_err_t *err);
void wsd_wslot_clear(wsd_wslot_t *slot);

#endif
